"""Small fake checks for runner and verdict tests."""

from __future__ import annotations

import threading
import time

from accessready.agent.core.model import Requirement, Status, t
from accessready.agent.plugin.checkapi import Check, Target


def make_check(check_id: str, requirement: Requirement = Requirement.ADMIN,
               status: Status = Status.PASS, sleep: float = 0.0, method: str | None = None,
               targets: tuple[str, ...] = ("t",), block: threading.Event | None = None,
               boom: bool = False) -> Check:
    """A check class instance that returns ``status`` after ``sleep`` (or blocks/raises)."""

    class Fake(Check):
        id = check_id
        title = t(f"Fake {check_id}", f"Fejk {check_id}")
        remediation = {"default": t("Fix it.", "Fixa det.")}

        def targets(self, profile):  # type: ignore[no-untyped-def]
            return [Target(n) for n in targets]

        def run(self, ctx, target):  # type: ignore[no-untyped-def]
            if block is not None:
                block.wait(30)
            if sleep:
                time.sleep(sleep)
            if boom:
                raise ValueError("kaboom")
            return self.result(target, status, t(f"{status} {target.name}", "sv"))

    Fake.requirement = requirement
    Fake.method = method
    return Fake()
