"""The lab's runtime directory and state files, and the removal of leftovers from crashed runs.

Every lab gets a random prefix ``ar<6 hex>`` and a folder ``<runtime>/<prefix>/`` holding its
configs, keys, logs and ``state.json``. The state file is written *before* the first namespace
is created, so a namespace that carries our prefix but no live owner is always a leftover.
A lab started with ``up --keep`` is left alone until ``down`` names it (or ``down`` runs
without a prefix).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .proc import (
    kill_netns_processes,
    kill_pid,
    list_netns,
    netns_exists,
    pid_matches,
    proc_start_time,
    run,
)

RUNTIME_DIR = Path(os.environ.get("ACCESSREADY_LAB_RUNTIME", "/tmp/accessready-lab"))
PREFIX_RE = re.compile(r"^ar[0-9a-f]{6}$")
NS_RE = re.compile(r"^(ar[0-9a-f]{6})-[a-z0-9-]+$")


@dataclass
class LabState:
    """What a later run needs to remove this lab: namespaces, processes, folder, owner."""

    prefix: str
    workdir: str
    namespaces: list[str]
    owner_pid: int
    owner_start: int | None
    keep: bool = False
    created: float = field(default_factory=time.time)
    # name -> [pid, start time]
    pids: dict[str, list[int | None]] = field(default_factory=dict)
    info: dict[str, Any] | None = None

    @property
    def path(self) -> Path:
        """Where this state is stored."""
        return Path(self.workdir) / "state.json"

    def save(self) -> None:
        """Write atomically (a crash mid-write leaves the old file, never half a file)."""
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1, sort_keys=True))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> LabState:
        """Read a state file."""
        data = json.loads(path.read_text())
        return cls(**data)

    def owner_alive(self) -> bool:
        """True if the process that created this lab still runs."""
        return pid_matches(self.owner_pid, self.owner_start)


def new_state(namespaces: list[str], prefix: str, *, keep: bool = False) -> LabState:
    """A state owned by this process."""
    pid = os.getpid()
    return LabState(
        prefix=prefix,
        workdir=str(RUNTIME_DIR / prefix),
        namespaces=namespaces,
        owner_pid=pid,
        owner_start=proc_start_time(pid),
        keep=keep,
    )


def new_prefix() -> str:
    """A prefix no other lab on this machine uses (bounded number of tries)."""
    taken = {m.group(1) for ns in list_netns() if (m := NS_RE.match(ns))}
    for _ in range(64):
        prefix = "ar" + secrets.token_hex(3)
        if prefix not in taken and not (RUNTIME_DIR / prefix).exists():
            return prefix
    raise RuntimeError("could not find a free lab prefix")


def ensure_runtime_dir() -> Path:
    """Create the runtime folder (world-traversable: the lab's support user reads its home)."""
    RUNTIME_DIR.mkdir(parents=True, exist_ok=True)
    RUNTIME_DIR.chmod(0o755)
    return RUNTIME_DIR


def list_states() -> list[LabState]:
    """Every readable lab state under the runtime folder."""
    states: list[LabState] = []
    if not RUNTIME_DIR.is_dir():
        return states
    for child in sorted(RUNTIME_DIR.iterdir()):
        path = child / "state.json"
        if PREFIX_RE.match(child.name) and path.is_file():
            try:
                states.append(LabState.load(path))
            except (OSError, ValueError, TypeError):
                continue
    return states


def destroy_namespaces(namespaces: list[str]) -> list[str]:
    """Kill every process in each namespace (by PID), then delete it; return problems."""
    problems: list[str] = []
    for ns in namespaces:
        if not netns_exists(ns):
            continue
        survivors = kill_netns_processes(ns)
        if survivors:
            problems.append(f"{ns}: processes {survivors} survived SIGKILL")
        proc = run(["ip", "netns", "delete", ns], check=False, timeout=10)
        if proc.returncode != 0 and netns_exists(ns):
            problems.append(f"{ns}: ip netns delete failed: {proc.stderr.strip()}")
    return problems


def destroy_state(state: LabState, *, remove_files: bool = True) -> list[str]:
    """Remove everything a (dead or kept) lab left: processes, namespaces, folder."""
    # Daemons first, by recorded PID and start time: the namespace sweep below would get
    # them too, but this also catches a process whose namespace file is already gone.
    for pid, start in state.pids.values():
        if pid is not None:
            kill_pid(int(pid), start, grace=1.0)
    namespaces = sorted(
        set(state.namespaces) | {ns for ns in list_netns() if ns.startswith(state.prefix + "-")}
    )
    problems = destroy_namespaces(namespaces)
    if remove_files and not problems:
        shutil.rmtree(state.workdir, ignore_errors=True)
    return problems


def cleanup_leftovers(*, include_kept: bool = False, exclude: tuple[str, ...] = ()) -> list[str]:
    """Remove labs whose owner died (and, with ``include_kept``, kept labs too), plus any
    namespace that carries our prefix pattern but has no state file. Returns the prefixes
    removed. Labs whose owner still runs are never touched."""
    removed: list[str] = []
    known: set[str] = set()
    for state in list_states():
        known.add(state.prefix)
        if state.prefix in exclude:
            continue
        if state.keep:
            if not include_kept:
                continue
        elif state.owner_alive():
            continue
        destroy_state(state)
        removed.append(state.prefix)
    orphans: dict[str, list[str]] = {}
    for ns in list_netns():
        m = NS_RE.match(ns)
        if m and m.group(1) not in known and m.group(1) not in exclude:
            orphans.setdefault(m.group(1), []).append(ns)
    for prefix, namespaces in orphans.items():
        destroy_namespaces(namespaces)
        removed.append(prefix)
    return removed
