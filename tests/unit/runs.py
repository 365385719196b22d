"""Building small :class:`Run` objects for merge, change and history tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from accessready.agent.core.model import Requirement, Result, Run, Status, Verdict, t
from accessready.agent.core.profile import parse_profile
from accessready.agent.core.verdict import decide

PROFILE_TOML = """
[customer]
name = "Exempel kommun"
[access]
methods = ["anyconnect"]
[access.anyconnect]
gateway = "vpn.exempel.se"
[[servers]]
name = "adfs01"
address = "adfs01.exempel.local"
roles = ["adfs"]
remote = ["rdp"]
[[servers]]
name = "sync01"
address = "sync01.exempel.local"
roles = ["sync"]
remote = ["ssh"]
"""
PROFILE = parse_profile(PROFILE_TOML, "exempel.toml")
BASIS = {"methods": ["anyconnect"], "gating_servers": ["adfs01"]}

_REQ = {"admin": Requirement.ADMIN, "workstation": Requirement.WORKSTATION,
        "anyconnect": Requirement.ACCESS, "account": Requirement.ACCOUNT,
        "remote": Requirement.REMOTE, "adfs": Requirement.ADFS, "service": Requirement.SERVERS}


def result(check: str, target: str, status: str, details: dict[str, Any] | None = None,
           summary: str | None = None) -> Result:
    """A result of ``check`` (its requirement and method follow from the id's family)."""
    family = check.split(".")[0]
    return Result(check_id=check, target=target, status=Status(status),
                  summary=t(summary or f"{check} {status}", f"{check} {status} (sv)"),
                  details=details or {}, requirement=_REQ[family],
                  method="anyconnect" if family == "anyconnect" else None)


def make_run(results: Iterable[Result], *, customer: str = "Exempel kommun",
             vantage: str = "engineer", self_check: bool = False,
             finished_at: str = "2026-05-01T02:00:00+00:00",
             basis: dict[str, list[str]] | None = None, decide_with: Any = PROFILE) -> Run:
    """A finished run whose verdict is decided like a real one."""
    res = tuple(results)
    verdict, outcomes = decide(res, decide_with) if res else (Verdict.UNKNOWN, ())
    return Run(customer=customer, profile_path="exempel.toml", started_at=finished_at,
               finished_at=finished_at, duration_s=1.0, results=res, verdict=verdict,
               requirements=outcomes, host={"hostname": f"{vantage}-pc", "user": vantage},
               tool_version="test",
               catalogue={"anyconnect.gateway": {"id": "anyconnect.gateway",
                                                 "title": {"en": "AnyConnect gateway",
                                                           "sv": "AnyConnect-gateway"},
                                                 "requirement": "access"}},
               vantage=vantage, self_check=self_check,
               basis=dict(BASIS) if basis is None else basis)


def damaged_history(path: Any, customer: str = "Kund A", first_page: int = 2) -> None:
    """Write a real history at ``path`` (60 runs of ``customer``), then overwrite every
    page from ``first_page`` on (0 is the header) with garbage, as a failing disk would."""
    import sqlite3

    from accessready.agent.app.history import History

    with History(path) as history:
        for i in range(60):
            history.record(make_run([result("admin.agreement", "x", "pass",
                                            details={"pad": f"{i}" * 3000})],
                                    customer=customer,
                                    finished_at=f"2026-05-{1 + i % 28:02d}T02:00:00+00:00"))
    with sqlite3.connect(path) as con:  # everything in the main file, none in the WAL
        page = con.execute("PRAGMA page_size").fetchone()[0]
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = bytearray(open(path, "rb").read())  # noqa: SIM115 - read whole, write back
    for start in range(first_page * page, len(data), page):
        data[start:start + page] = (b"\xa5\x5a\x00\xff" * page)[:page]
    with open(path, "wb") as out:
        out.write(data)
