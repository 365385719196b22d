"""``python -m tests.lab up|down|status|shell``: the lab for humans (run as root, from the
repository root).

up [--keep] [--hosts a,b] [--vpn split|full] [--hold S]
    start a lab, print its hosts, addresses and ports as JSON and how to enter the client.
    Without --keep it stays up until Ctrl-C/SIGTERM (or --hold seconds), then tears down;
    with --keep it is left running for ``down``.
down [PREFIX ...]
    remove the named labs, or (no prefix) every kept lab and every leftover of a crashed run.
    Labs whose owner process still runs are only removed when named.
status
    list the labs on this machine as JSON: owner, namespaces, daemons alive.
shell [--prefix P] [HOST] [-- CMD ...]
    run CMD (default: bash) in a lab host, with the lab's resolv.conf and a private /run
    (the host's folder) in place.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from .core import Lab
from .proc import LabError, list_netns, ns_command, pid_matches
from .state import NS_RE, RUNTIME_DIR, LabState, cleanup_leftovers, destroy_state, list_states


def _require_root() -> None:
    if os.geteuid() != 0:
        sys.exit("the lab needs root (network namespaces, bind mounts)")


def cmd_up(args: argparse.Namespace) -> int:
    """Start a lab and print what it offers."""
    _require_root()
    hosts = args.hosts.split(",") if args.hosts else None
    lab = Lab(hosts, keep=args.keep)
    try:
        lab.start()
        if args.vpn:
            if lab.vpn is None:
                raise LabError("--vpn needs the client and ocserv hosts")
            lab.vpn.connect(args.vpn)
    except LabError as exc:
        print(f"lab failed to start: {exc}", file=sys.stderr)
        return 1
    info = lab.info()
    if lab.vpn is not None and lab.vpn.session is not None:
        info["vpn"] = lab.vpn.session.to_dict()
    print(json.dumps(info, indent=2))
    print(f"enter the client: {info['enter_client']}")
    print(f"lab up in {lab.start_seconds} s; stop with: python -m tests.lab down {lab.prefix}",
          file=sys.stderr)
    if args.keep:
        lab.detach()
        return 0
    print("holding the lab; Ctrl-C or SIGTERM tears it down", file=sys.stderr)
    try:
        deadline = time.monotonic() + args.hold
        for _ in range(int(args.hold) + 1):
            if time.monotonic() > deadline:
                break
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        lab.stop()
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    """Remove named labs, or every kept and stale one."""
    _require_root()
    if not args.prefixes:
        removed = cleanup_leftovers(include_kept=True)
        print(json.dumps({"removed": removed}))
        return 0
    states = {s.prefix: s for s in list_states()}
    failed = False
    removed: list[str] = []
    for prefix in args.prefixes:
        state = states.get(prefix)
        if state is None:
            namespaces = [ns for ns in list_netns() if ns.startswith(prefix + "-")]
            if not namespaces:
                print(f"no lab {prefix}", file=sys.stderr)
                failed = True
                continue
            state = LabState(prefix, str(RUNTIME_DIR / prefix), namespaces, 0, None)
        problems = destroy_state(state)
        if problems:
            print(f"{prefix}: " + "; ".join(problems), file=sys.stderr)
            failed = True
        else:
            removed.append(prefix)
    print(json.dumps({"removed": removed}))
    return 1 if failed else 0


def _status_entry(state: LabState) -> dict[str, Any]:
    present = [ns for ns in state.namespaces if ns in set(list_netns())]
    alive = {
        name: bool(pid) and pid_matches(int(pid), start)  # type: ignore[arg-type]
        for name, (pid, start) in state.pids.items()
    }
    return {
        "prefix": state.prefix,
        "workdir": state.workdir,
        "owner_pid": state.owner_pid,
        "owner_alive": state.owner_alive(),
        "keep": state.keep,
        "namespaces": len(state.namespaces),
        "namespaces_present": len(present),
        "daemons_alive": alive,
        "enter_client": (state.info or {}).get("enter_client"),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(state.created)),
    }


def cmd_status(args: argparse.Namespace) -> int:
    """List labs."""
    labs = [_status_entry(s) for s in list_states()]
    known = {entry["prefix"] for entry in labs}
    stray = sorted(
        ns for ns in list_netns() if (m := NS_RE.match(ns)) and m.group(1) not in known
    )
    print(json.dumps({"runtime_dir": str(RUNTIME_DIR), "labs": labs, "stray_namespaces": stray},
                     indent=2))
    return 0


def cmd_shell(args: argparse.Namespace) -> int:
    """exec a command in a lab host."""
    _require_root()
    states = list_states()
    if args.prefix:
        states = [s for s in states if s.prefix == args.prefix]
    if len(states) != 1:
        names = ", ".join(s.prefix for s in states) or "none"
        sys.exit(f"name one lab with --prefix (labs: {names})")
    state = states[0]
    ns = f"{state.prefix}-{args.host}"
    if ns not in list_netns():
        sys.exit(f"lab {state.prefix} has no host {args.host}")
    host_dir = Path(state.workdir) / "hosts" / args.host
    run_dir = host_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    # The lab's resolv.conf, and a private /run: whatever is run by hand (openconnect's
    # vpnc-script writes /var/run/vpnc) stays in the lab's folder.
    binds = [(host_dir / "resolv.conf", "/etc/resolv.conf"), (run_dir, "/run")]
    argv = ns_command(ns, command or ["bash"], binds)
    os.execvp(argv[0], argv)
    return 0  # not reached


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and dispatch."""
    parser = argparse.ArgumentParser(prog="python -m tests.lab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start a lab")
    up.add_argument("--keep", action="store_true", help="leave it running after exit")
    up.add_argument("--hosts", help="comma-separated subset of hosts (default: all)")
    up.add_argument("--vpn", choices=["split", "full"], help="connect the client's VPN")
    up.add_argument("--hold", type=float, default=8 * 3600,
                    help="without --keep: tear down after this many seconds (default 8 h)")
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="remove labs")
    down.add_argument("prefixes", nargs="*", help="lab prefixes (ar + 6 hex)")
    down.set_defaults(func=cmd_down)
    status = sub.add_parser("status", help="list labs")
    status.set_defaults(func=cmd_status)
    shell = sub.add_parser("shell", help="run a command in a lab host")
    shell.add_argument("--prefix")
    shell.add_argument("host", nargs="?", default="client")
    shell.add_argument("command", nargs=argparse.REMAINDER)
    shell.set_defaults(func=cmd_shell)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
