"""Run accessready inside the lab's client host and get its JSON result back.

``run_accessready(lab, args, profile_text)`` writes the profile into the lab's folder, runs
``python -m accessready run PROFILE --json OUT [args...]`` with this interpreter
(``sys.executable``) inside the client's network namespace — with the lab's resolv.conf, so
the system resolver is the lab's external DNS — and returns the parsed result and the exit
code (0 ready, 1 warnings, 2 not ready, 3 unknown). The accessready package must be
importable by that interpreter (``pip install -e .``).
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import Lab

_counter = itertools.count(1)


def accessready_importable() -> bool:
    """True if ``python -m accessready`` can work with this interpreter."""
    try:
        return importlib.util.find_spec("accessready.agent.cli.main") is not None
    except ModuleNotFoundError:
        return False


def run_accessready(
    lab: Lab,
    args: Sequence[str] = (),
    profile_text: str = "",
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 180.0,
    host: str = "client",
    command: str = "run",
) -> dict[str, Any]:
    """Run ``accessready run PROFILE --json OUT *args`` in lab host ``host``.

    Returns ``{"exit_code", "result" (parsed JSON or None), "stdout", "stderr", "profile",
    "json", "argv"}``. ``env`` adds environment variables (e.g. ``ACCESSREADY_PASSWORD``).
    """
    run_dir = lab.workdir / "runs" / f"{next(_counter):03d}"
    run_dir.mkdir(parents=True, exist_ok=True)
    profile = run_dir / "profile.toml"
    profile.write_text(profile_text)
    out = run_dir / "result.json"
    argv = [sys.executable, "-m", "accessready", command, str(profile)]
    if command == "run":
        argv += ["--json", str(out)]
    argv += list(args)
    # The run folder as working directory: the source tree's own accessready/ folder must
    # not shadow the installed package.
    proc = lab.exec(host, argv, env=env, timeout=timeout, cwd=run_dir)
    result: Any = None
    if out.is_file() and out.stat().st_size:
        try:
            result = json.loads(out.read_text())
        except ValueError:
            result = None
    return {
        "exit_code": proc.returncode,
        "result": result,
        "stdout": proc.stdout,
        "stderr": proc.stderr,
        "profile": str(profile),
        "json": str(out),
        "argv": argv,
    }


def run_check(
    lab: Lab, check_id: str, profile_text: str, **kwargs: Any
) -> dict[str, Any]:
    """``run_accessready`` limited to one check (``--only CHECK_ID``)."""
    return run_accessready(lab, ["--only", check_id], profile_text, **kwargs)
