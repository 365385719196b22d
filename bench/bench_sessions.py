"""Silent servers read over their sessions (issue 13, point 2): prints numbers; asserts
nothing.

    python bench/bench_sessions.py [--profiles 100 400] [--timeout 5]

Each customer profile has two servers that never answer a SYN: adfs01 (WinRM) and sync01
(SSH), each with a service to watch. Two audits over the same profiles, the real CLI in a
subprocess with ``--profiles-at-once 64 --concurrency 320``:

* the *session* audit: the checks that read a server over its session (``account.login``,
  ``account.status``, ``account.privileges``, ``service.running``): eight jobs a profile,
  every one of them waiting on a silent server;
* the *reference*: the same servers under ``remote.winrm`` and ``remote.ssh``, whose first
  connection the runner opens ahead (so they wait on the connector's one selector).

Printed: wall and CPU of each, and the session audit's wall as a ratio of the reference's.
A check that held a worker thread for its whole wait would make that ratio about
``jobs × timeout / (concurrency × timeout)``; waiting without a thread it is about 1.
"Wrong" counts session results that are not a failure to connect (status error or fail,
kind timeout): a silent server is never reported as anything else.

The silent servers are loopback listeners whose accept queue is full (one connection fills
a backlog of 0), so SYNs get no answer; nothing leaves 127.0.0.0/8 and no root is needed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import sys
import tempfile
import textwrap
from pathlib import Path

from bench_scale import run_child  # the same folder: wall, CPU and RSS from wait4
from bytecode import compile_package

SESSION_CHECKS = ["account.login", "account.status", "account.privileges", "service.running"]
PROBE_CHECKS = ["remote.winrm", "remote.ssh"]
ENV = "AR_BENCH_PASSWORD"


def silent_listener() -> tuple[socket.socket, socket.socket, int]:
    """A loopback port that never answers a SYN: (listener, the connection that fills its
    queue, port)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    return server, socket.create_connection(("127.0.0.1", port), timeout=2), port


def write_profiles(folder: Path, ports: list[tuple[int, int]], timeout: float,
                   only: list[str], known_hosts: Path) -> None:
    """One profile per (WinRM port, SSH port)."""
    folder.mkdir()
    for n, (winrm_port, ssh_port) in enumerate(ports):
        (folder / f"kund{n:04d}.toml").write_text(textwrap.dedent(f"""\
            [customer]
            name = "Kund {n:04d}"
            agreement = "SA-{n}"
            agreement_valid_until = 2099-12-31
            dpa_signed = 2025-01-01
            [access]
            methods = ["teamviewer"]
            [checks]
            timeout = {timeout}
            only = {json.dumps(only)}
            [account]
            username = 'EXEMPEL\\\\support'
            password = {{ env = "{ENV}" }}
            known_hosts = "{known_hosts}"
            [[servers]]
            name = "adfs01"
            address = "127.0.0.1"
            roles = ["adfs"]
            remote = ["winrm"]
            services = ["adfssrv"]
            [servers.winrm]
            transport = "ntlm"
            https = false
            port = {winrm_port}
            allow_insecure_credentials = true
            [[servers]]
            name = "sync01"
            address = "127.0.0.1"
            roles = ["sync"]
            remote = ["ssh"]
            services = ["eventful-sync"]
            ssh = {{ port = {ssh_port} }}
            """), encoding="utf-8")


def wrong(report: Path) -> tuple[int, int]:
    """(results, those that are not "could not connect: timeout") in one audit's
    per-customer JSON results."""
    seen = bad = 0
    for path in report.glob("*.json"):
        for result in json.loads(path.read_text(encoding="utf-8"))["results"]:
            if result["status"] == "skip":
                continue
            seen += 1
            if result["status"] not in ("error", "fail") or \
                    "timeout" not in json.dumps(result["details"]):
                bad += 1
    return seen, bad


def audit(work: Path, name: str, ports: list[tuple[int, int]], timeout: float,
          only: list[str]) -> dict[str, float]:
    folder = work / f"profiles-{name}-{len(ports)}"
    write_profiles(folder, ports, timeout, only, work / "known_hosts")
    reports = work / f"reports-{name}-{len(ports)}"
    wall, cpu, rss, code, text = run_child([
        sys.executable, "-m", "accessready", "audit", str(folder), "--reports-dir",
        str(reports), "--json", str(work / f"audit-{name}-{len(ports)}.json"), "--quiet",
        "--profiles-at-once", "64", "--concurrency", "320"])
    if not reports.exists():
        raise SystemExit(f"the {name} audit wrote no reports (exit {code}): {text[-500:]}")
    seen, bad = wrong(reports)
    return {"wall": wall, "cpu": cpu, "rss": rss, "results": seen, "wrong": bad}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, nargs="+", default=[100, 400])
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # two listeners a profile
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    os.environ[ENV] = "bench-Pw-1!"  # never sent: no server ever answers
    print(compile_package())
    print("| profiles | session results | session audit wall | CPU | reference results | "
          "reference wall | CPU | wall ratio | wrong (session + reference) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    with tempfile.TemporaryDirectory(prefix="accessready-sessions-") as tmp:
        work = Path(tmp)
        (work / "known_hosts").write_text("")
        for count in args.profiles:
            made = [(silent_listener(), silent_listener()) for _ in range(count)]
            try:
                ports = [(w[2], s[2]) for w, s in made]
                reference = audit(work, "reference", ports, args.timeout, PROBE_CHECKS)
                sessions = audit(work, "sessions", ports, args.timeout, SESSION_CHECKS)
            finally:
                for pair in made:
                    for server, filler, _ in pair:
                        filler.close()
                        server.close()
            print(f"| {count} | {sessions['results']} | {sessions['wall']:.1f} s | "
                  f"{sessions['cpu']:.1f} s | {reference['results']} | "
                  f"{reference['wall']:.1f} s | {reference['cpu']:.1f} s | "
                  f"{sessions['wall'] / reference['wall']:.2f} | "
                  f"{sessions['wrong']} + {reference['wrong']} |", flush=True)


if __name__ == "__main__":
    main()
