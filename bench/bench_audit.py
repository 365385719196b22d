"""Audit scale benchmark (issue 9): prints numbers; asserts nothing.

    python bench/bench_audit.py [--profiles 200] [--servers 5] [--deadline 2] [--days 365]

1. ``accessready audit`` (the real CLI, in a subprocess) over 200 profiles × 5 servers, each
   server probed by the real ``remote.rdp`` check against RDP listeners on loopback; every
   10th profile's servers are *silent* (they accept the TCP connection and never answer), so
   10 % of the hosts cost a full check deadline. Reported: wall time against
   (waves × deadline) — waves = ceil(silent profiles / profiles at once), since each
   profile's five checks fit in its share of ``--concurrency`` — and against the sum of the
   silent deadlines, for two ``--profiles-at-once`` settings; peak RSS of the audit process
   (``wait4``'s rusage of that one child, goal < 200 MB).
2. The history after 365 daily runs of that audit: the first real audit's runs are copied
   into the 364 days before it directly in SQL (for speed; same rows, shifted times), then
   a customer's history, trend and previous run are timed (goal < 100 ms), and one more real
   audit is run against the year-old database.

Traffic stays on 127.0.0.0/8. (The namespace lab of tests/lab could host the listeners
instead; it needs root and adds nothing to what is measured here.)
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import socket
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bytecode import compile_package  # the same folder

from accessready.agent.app.history import History
from accessready.agent.demo.simulators.rdp import confirm, requested_protocols


class RdpListener:
    """An RDP X.224 responder on loopback: one thread per connection, a deep backlog (the
    audit keeps hundreds of probes in flight)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_server((host, 0), backlog=1024)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    @staticmethod
    def _one(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(5)
            head = conn.recv(4)
            if len(head) < 4:
                return
            length = struct.unpack(">H", head[2:4])[0]
            body = b""
            while len(head) + len(body) < length:
                chunk = conn.recv(length - 4 - len(body))
                if not chunk:
                    return
                body += chunk
            conn.sendall(confirm(requested_protocols(head + body), "nla_required"))

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def write_profiles(folder: Path, count: int, servers: int, deadline: float, port: int,
                   silent_port: int) -> int:
    """``count`` profiles; every 10th has only silent servers. Returns the silent count."""
    silent = 0
    for n in range(count):
        quiet = n % 10 == 0
        silent += quiet
        host, rdp_port = ("127.0.0.2", silent_port) if quiet else ("127.0.0.1", port)
        blocks = "".join(f"""
[[servers]]
name = "srv{s}"
address = "{host}"
roles = ["{'adfs' if s == 0 else 'wap' if s == 1 else 'sync'}"]
remote = ["rdp"]
rdp = {{ port = {rdp_port} }}
""" for s in range(servers))
        (folder / f"kund{n:03d}.toml").write_text(f"""
[customer]
name = "Kund {n:03d}"
agreement = "SA-{n}"
agreement_valid_until = 2099-12-31
dpa_signed = 2025-01-01
[access]
methods = ["teamviewer"]
{blocks}
[checks]
timeout = {deadline}
only = ["remote.rdp", "admin.agreement", "admin.dpa"]
""", encoding="utf-8")
    return silent


def run_audit_cli(folder: Path, db: Path, at_once: int, concurrency: int,
                  out: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB of the audit process, exit code)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "accessready", "audit", str(folder),
                             "--history", str(db), "--json", str(out), "--quiet",
                             "--profiles-at-once", str(at_once),
                             "--concurrency", str(concurrency)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.stderr is not None:
        err = proc.stderr.read().decode(errors="replace").strip()
        if err:
            print(f"  (stderr: {err[:300]})")
    rss_mib = usage.ru_maxrss / 1024 if sys.platform != "darwin" else usage.ru_maxrss / 2**20
    return wall, rss_mib, proc.returncode


def bench_audit(args: argparse.Namespace, work: Path) -> Path:
    listener, silent = RdpListener(), socket.create_server(("127.0.0.2", 0), backlog=4096)
    folder = work / "profiles"
    folder.mkdir()
    quiet = write_profiles(folder, args.profiles, args.servers, args.deadline, listener.port,
                           silent.getsockname()[1])
    total_servers = args.profiles * args.servers
    print(f"audit: {args.profiles} profiles x {args.servers} servers = {total_servers} "
          f"remote.rdp probes on loopback, {quiet * args.servers} silent hosts "
          f"({quiet} profiles), deadline {args.deadline:g} s")
    year_db = work / "year.db"
    try:
        for at_once, concurrency in ((8, 128), (32, 256)):
            db = year_db if at_once == 32 else work / f"audit-{at_once}.db"
            wall, rss, code = run_audit_cli(folder, db, at_once, concurrency,
                                            work / "audit.json")
            waves = math.ceil(quiet / at_once)
            print(f"audit: --profiles-at-once {at_once} --concurrency {concurrency}: "
                  f"{wall:.2f} s wall; waves x deadline = {waves} x {args.deadline:g} s = "
                  f"{waves * args.deadline:g} s; sum of silent deadlines "
                  f"{quiet * args.servers * args.deadline:g} s; peak RSS {rss:.0f} MiB "
                  f"(goal < 200); exit {code}")
    finally:
        listener.close()
        silent.close()
    return year_db


def synthesize_year(db_path: Path, days: int) -> None:
    """Copy the one real audit into the ``days - 1`` days before it, in SQL."""
    started = time.perf_counter()
    con = sqlite3.connect(db_path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")  # bulk load; the audits themselves use FULL
    template = [r[0] for r in con.execute("SELECT id FROM runs ORDER BY id")]
    stride = 10 ** len(str(max(template)))
    con.execute("BEGIN")
    for day in range(1, days):
        shift = f"-{day} days"
        # some verdict variety so trends are not flat: a deterministic mix per day
        con.execute(
            "INSERT INTO runs (id, audit_id, customer, customer_key, profile, vantage, "
            "started_at, finished_at, duration_s, verdict, exit_code, n_pass, n_warn, n_fail, "
            "n_error, n_skip, error, changes, catalogue_id, result) "
            "SELECT id + ?1 * ?2, audit_id, customer, customer_key, profile, vantage, "
            "strftime('%Y-%m-%dT%H:%M:%S+00:00', started_at, ?3), "
            "strftime('%Y-%m-%dT%H:%M:%S+00:00', finished_at, ?3), duration_s, "
            "CASE (id + ?1) % 11 WHEN 0 THEN 'not_ready' WHEN 1 THEN 'ready_with_warnings' "
            "ELSE verdict END, exit_code, n_pass, n_warn, n_fail, n_error, n_skip, error, "
            "changes, catalogue_id, result FROM runs WHERE id <= ?4",
            (day, stride, shift, max(template)))
        con.execute("INSERT INTO results (run_id, seq, check_id, target, status) "
                    "SELECT run_id + ?1 * ?2, seq, check_id, target, status FROM results "
                    "WHERE run_id <= ?3", (day, stride, max(template)))
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    runs, results = (con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                     for t in ("runs", "results"))
    con.close()
    size = db_path.stat().st_size / 2**20
    print(f"history: {days} daily audits = {runs:,} runs, {results:,} results, "
          f"{size:.0f} MiB on disk (synthesized in {time.perf_counter() - started:.1f} s)")


def _ms(fn, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), max(samples)


def bench_queries(db_path: Path, profiles: int) -> None:
    rng = random.Random(9)
    names = [f"Kund {rng.randrange(profiles):03d}" for _ in range(50)]
    with History(db_path, create=False) as db:
        it = iter(names * 10)
        med, worst = _ms(lambda: db.runs(next(it)), 50)
        print(f"history: a customer's whole history ({len(db.runs(names[0]))} runs): median "
              f"{med:.2f} ms, max {worst:.2f} ms over 50 customers (goal < 100 ms)")
        med, worst = _ms(lambda: db.trend(next(it), 14), 50)
        print(f"history: a customer's 14-run trend: median {med:.2f} ms, max {worst:.2f} ms")
        med, worst = _ms(lambda: db.previous(next(it)), 50)
        print(f"history: previous full run (decompressed, for changes): median {med:.2f} ms, "
              f"max {worst:.2f} ms")
        med, worst = _ms(db.customers, 5)
        print(f"history: every customer's latest verdict: median {med:.0f} ms, "
              f"max {worst:.0f} ms")
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "accessready", "history", names[0],
                          "--history", str(db_path), "--limit", "365"],
                         capture_output=True, text=True, check=False)
    print(f"history: `accessready history '{names[0]}' --limit 365` (whole CLI, incl. "
          f"Python start): {(time.perf_counter() - started) * 1000:.0f} ms, "
          f"{len(out.stdout.splitlines())} lines, exit {out.returncode}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=200)
    parser.add_argument("--servers", type=int, default=5)
    parser.add_argument("--deadline", type=float, default=2.0)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    print(compile_package())
    with tempfile.TemporaryDirectory(prefix="accessready-bench-") as tmp:
        work = Path(tmp)
        year_db = bench_audit(args, work)
        synthesize_year(year_db, args.days)
        bench_queries(year_db, args.profiles)
        # one more real audit against a year of history: inserts + change detection
        listener, silent = RdpListener(), socket.create_server(("127.0.0.2", 0), backlog=4096)
        try:
            folder = work / "profiles2"
            folder.mkdir()
            write_profiles(folder, args.profiles, args.servers, args.deadline, listener.port,
                           silent.getsockname()[1])
            wall, rss, code = run_audit_cli(folder, year_db, 32, 256, work / "audit2.json")
            print(f"audit: the same audit on top of {args.days} days of history: "
                  f"{wall:.2f} s wall, peak RSS {rss:.0f} MiB, exit {code}")
        finally:
            listener.close()
            silent.close()


if __name__ == "__main__":
    main()
