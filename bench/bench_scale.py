"""Audit at scale against a stdlib asyncio floor (issue 13): prints numbers; asserts nothing.

    sudo python bench/bench_scale.py [--targets 1000 5000] [--load] [--timeout 5] [--explain]
                                     [--no-reports] [--processes N|auto]

The workload (5 servers per customer profile): 60 % SSH servers that send a banner and close
at key exchange (``remote.ssh``), 30 % TLS servers with a certificate from a private CA that
answer HTTP (``remote.winrm`` over HTTPS: an Identify, then the unauthenticated POST that
lists the auth schemes), 10 % addresses that never answer a SYN. Every run happens inside a
network namespace this script creates with ``unshare -n`` (so it needs root): the SSH and TLS
servers listen on its loopback, in a process of their own, and the silent addresses are
198.51.100.x behind a veth pair with permanent neighbour entries, so SYNs leave and nothing
answers. Nothing reaches the machine's own network; the namespace dies with the script.

For each size it runs, in the same namespace and the same minute:

* ``accessready audit --profiles-at-once 64 --concurrency 320 --reports-dir`` (the real CLI,
  a subprocess; its wall, CPU and peak RSS from ``wait4``);
* a stdlib asyncio reference doing the same probes with every target at once: read the SSH
  banner; a verified TLS handshake, the certificate's expiry and one HTTP exchange; the same
  timeout (also a subprocess, measured the same way).

"Wrong" counts results whose status differs from what the target is (SSH: ``fail``, the key
exchange never completes; TLS: ``pass``; silent: ``fail`` with kind ``timeout``) and customers
whose verdict differs from the one those statuses give. ``--load`` also runs everything while
another process keeps one core busy. ``--no-reports`` runs the audit without
``--reports-dir`` (the issue's command line as written): no customer's report is rendered
or written, and wrong results are counted from the overview's findings, by status only
(the failure kind of a silent target is in its report, not in the overview).
``--processes`` is passed to the audit (default ``auto``, as the CLI's: one process per
400 profiles up to the CPUs); ``--explain`` times one process, so it audits in one unless
told otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from bytecode import compile_package  # the same folder

SILENT_NET = "198.51.100"
SSH_BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"
PROFILES_AT_ONCE, CONCURRENCY = 64, 320


# --- the servers (run in their own process: their CPU is not the audit's) -----------------

def handlers(folder: Path, keep_alive: bool = False) -> tuple[Any, Any, ssl.SSLContext]:
    """The servers' connection handlers (an SSH banner that closes at key exchange; a
    WS-Management HTTPS listener: 200 to an Identify, 401 Negotiate to anything else) and
    the TLS context with the bench CA's server certificate. bench_probes uses them too.
    ``keep_alive``: the WS-Man responder keeps the connection for the next request (up to
    4), as Windows' http.sys does; otherwise it answers once and closes."""
    from accessready.agent.demo.simulators.wsman_soap import IDENTIFY_TEMPLATE

    identify = IDENTIFY_TEMPLATE.format(version="OS: 10.0.17763 SP: 0.0 Stack: 3.0").encode()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "server.crt", folder / "server.key")

    async def ssh(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(SSH_BANNER)
            await writer.drain()
            await asyncio.wait_for(reader.read(4096), 10)  # the client's banner/kexinit
        except (OSError, TimeoutError):
            pass
        writer.close()

    closing = b"" if keep_alive else b"Connection: close\r\n"

    async def https(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for _ in range(4 if keep_alive else 1):
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip() or 0)
                if length:
                    await asyncio.wait_for(reader.readexactly(length), 10)
                if b"wsmanidentify" in head.lower():
                    reply = (b"HTTP/1.1 200 \r\nContent-Type: application/soap+xml;"
                             b"charset=UTF-8\r\nContent-Length: " + str(len(identify)).encode()
                             + b"\r\n" + closing + b"\r\n" + identify)
                else:
                    reply = (b"HTTP/1.1 401 \r\nWWW-Authenticate: Negotiate\r\n"
                             b"Content-Length: 0\r\n" + closing + b"\r\n")
                writer.write(reply)
                await writer.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError):
            pass
        writer.close()

    return ssh, https, context


def write_pki(folder: Path, ca_name: str) -> None:
    """A private CA (``folder/ca_name``) and the servers' certificate from it, for
    127.0.0.1 and localhost (``server.crt`` with the chain, ``server.key``)."""
    from accessready.agent.demo.simulators import pki

    ca = pki.make_ca("Bench Kund CA")
    cert, key = pki.issue(ca, ["127.0.0.1", "localhost"])
    (folder / "server.crt").write_bytes(cert + ca.cert_pem)
    (folder / "server.key").write_bytes(key)
    ca.write(folder / ca_name)


def serve(folder: Path, keep_alive: bool = False) -> None:
    """SSH banner servers and an HTTPS WS-Man responder on loopback until killed."""
    ssh, https, context = handlers(folder, keep_alive)

    async def main() -> None:
        ssh_server = await asyncio.start_server(ssh, "127.0.0.1", 2222, backlog=4096)
        tls_server = await asyncio.start_server(https, "127.0.0.1", 5986, backlog=4096,
                                                ssl=context)
        (folder / "ready").write_text("ok")
        async with ssh_server, tls_server:
            await asyncio.Event().wait()

    asyncio.run(main())


# --- the workload -------------------------------------------------------------------------

def kind_of(index: int) -> str:
    """60 % ssh, 30 % tls, 10 % silent, spread evenly over the targets."""
    slot = index % 10
    return "ssh" if slot < 6 else "tls" if slot < 9 else "silent"


def silent_address(index: int) -> str:
    """One of 200 addresses, the silent targets spread evenly over them (every tenth
    target is silent: ``index % 200`` would put them on only 20, and the connector opens
    at most 8 at a time per destination, as it must for a real server)."""
    return f"{SILENT_NET}.{2 + index // 10 % 200}"


def write_profiles(folder: Path, targets: int, timeout: float, ca_file: Path,
                   known_hosts: Path) -> dict[str, dict[str, str]]:
    """Profiles of 5 servers; returns customer -> server name -> kind."""
    kinds: dict[str, dict[str, str]] = {}
    for p in range(targets // 5):
        customer = f"Kund {p:05d}"
        kinds[customer] = {}
        blocks = []
        for s in range(5):
            index = p * 5 + s
            kind = kind_of(index)
            name = f"srv{s}"
            kinds[customer][name] = kind
            if kind == "ssh":
                # sync servers: the remote rule covers AD FS/WAP, so a closing SSH server
                # warns, while a silent AD FS server blocks
                blocks.append(f'[[servers]]\nname = "{name}"\naddress = "127.0.0.1"\n'
                              f'roles = ["sync"]\nremote = ["ssh"]\nssh = {{ port = 2222 }}\n'
                              f'known_hosts = "{known_hosts}"\n')
            else:
                address = "127.0.0.1" if kind == "tls" else silent_address(index)
                blocks.append(f'[[servers]]\nname = "{name}"\naddress = "{address}"\n'
                              f'roles = ["adfs"]\nremote = ["winrm"]\n'
                              f'winrm = {{ transport = "ntlm", https = true, port = 5986, '
                              f'ca_file = "{ca_file}" }}\n')
        (folder / f"kund{p:05d}.toml").write_text(textwrap.dedent(f"""\
            [customer]
            name = "{customer}"
            agreement = "SA-{p}"
            agreement_valid_until = 2099-12-31
            dpa_signed = 2025-01-01
            [access]
            methods = ["teamviewer"]
            [checks]
            timeout = {timeout}
            only = ["remote.ssh", "remote.winrm"]
            """) + "\n".join(blocks), encoding="utf-8")
    return kinds


EXPECTED = {"ssh": "fail", "tls": "pass", "silent": "fail"}


def expected_verdict(servers: dict[str, str]) -> str:
    if "silent" in servers.values():
        return "not_ready"
    return "ready_with_warnings" if "ssh" in servers.values() else "ready"


def count_wrong(kinds: dict[str, dict[str, str]], reports: Path | None, audit_json: Path
                ) -> tuple[int, int, dict[str, int]]:
    """(wrong results, wrong verdicts, a histogram of what the wrong results were); from
    the overview's findings when there are no ``reports``."""
    wrong_results, wrong_verdicts, seen = 0, 0, {}
    overview = json.loads(audit_json.read_text(encoding="utf-8"))
    verdicts = {c["customer"]: c["verdict"] for c in overview["customers"]}
    for customer, servers in kinds.items():
        if verdicts.get(customer) != expected_verdict(servers):
            wrong_verdicts += 1
    if reports is None:
        wrong_results, seen = _wrong_in_findings(kinds, overview)
        return wrong_results, wrong_verdicts, seen
    for path in reports.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        servers = kinds.get(data["customer"], {})
        for r in data["results"]:
            if r["check"] not in ("remote.ssh", "remote.winrm") or r["status"] == "skip":
                continue
            kind = servers.get(r["target"])
            want = EXPECTED.get(kind or "")
            # families still put the probe's failure in two places (issue 12)
            failure = (r["details"].get("probe") or {}).get("failure") or \
                r["details"].get("failure")
            ok = r["status"] == want and (kind != "silent" or failure == "timeout")
            if not ok:
                wrong_results += 1
                key = f"{kind}:{r['status']}:{r['details'].get('reason') or failure}"
                seen[key] = seen.get(key, 0) + 1
    return wrong_results, wrong_verdicts, seen


def _wrong_in_findings(kinds: dict[str, dict[str, str]], overview: dict[str, Any]
                       ) -> tuple[int, dict[str, int]]:
    """Wrong statuses as the overview's findings show them (every warn, fail and error
    result; a target without one passed)."""
    wrong, seen = 0, {}
    for customer in overview["customers"]:
        found = {f["target"]: f["status"] for f in customer["findings"]
                 if f["check"] in ("remote.ssh", "remote.winrm")}
        for name, kind in kinds.get(customer["customer"], {}).items():
            status = found.get(name, "pass")
            if status != EXPECTED[kind]:
                wrong += 1
                seen[f"{kind}:{status}"] = seen.get(f"{kind}:{status}", 0) + 1
    return wrong, seen


# --- the asyncio reference ----------------------------------------------------------------

def reference(folder: Path, targets: int, timeout: float) -> None:
    """Every target at once with asyncio; prints one JSON line: wrong results."""
    context = ssl.create_default_context(cafile=str(folder / "ca.crt"))
    request = (b"POST /wsman HTTP/1.1\r\nHost: 127.0.0.1:5986\r\nWSMANIDENTIFY: unauthenticated"
               b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    why: dict[str, int] = {}

    def wrong(kind: str, what: str) -> bool:
        why[f"{kind}:{what}"] = why.get(f"{kind}:{what}", 0) + 1
        return False

    async def probe(index: int) -> bool:
        kind = kind_of(index)
        try:
            async with asyncio.timeout(timeout):
                if kind == "ssh":
                    reader, writer = await asyncio.open_connection("127.0.0.1", 2222)
                    ok = (await reader.readline()).startswith(b"SSH-")
                    writer.close()
                    return ok or wrong(kind, "banner")  # the check then fails at kex
                host = "127.0.0.1" if kind == "tls" else silent_address(index)
                reader, writer = await asyncio.open_connection(
                    host, 5986, ssl=context, server_hostname="127.0.0.1")
                cert = writer.get_extra_info("peercert")
                ssl.cert_time_to_seconds(cert["notAfter"])
                writer.write(request)
                body = await reader.read(65536)
                writer.close()
                return (kind == "tls" and body.startswith(b"HTTP/1.1 200")) or \
                    wrong(kind, "answer")
        except TimeoutError:
            return kind == "silent" or wrong(kind, "timeout")
        except (OSError, ssl.SSLError) as exc:
            return wrong(kind, type(exc).__name__)

    async def main() -> int:
        oks = await asyncio.gather(*(probe(i) for i in range(targets)))
        return sum(1 for ok in oks if not ok)

    print(json.dumps({"wrong": asyncio.run(main()), "why": why}))


# --- measuring ------------------------------------------------------------------------------

def _tree_rss(pid: int) -> int:
    """KiB resident in ``pid`` and its descendants now (0 once it is gone)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status", encoding="ascii") as status:
                total += next((int(line.split()[1]) for line in status
                               if line.startswith("VmRSS:")), 0)
            with open(f"/proc/{current}/task/{current}/children", encoding="ascii") as kids:
                todo.extend(int(k) for k in kids.read().split())
        except (OSError, ValueError):
            continue
    return total


def run_child(argv: list[str]) -> tuple[float, float, float, int, str]:
    """(wall s, CPU s, peak RSS MiB, exit code, output tail). CPU through ``wait4`` (it
    counts the child's own children); peak RSS is the largest *sum* over the process and
    its children, sampled every 20 ms (``wait4`` gives only the largest single one)."""
    started = time.perf_counter()
    peak = [0]
    done = threading.Event()

    def sample(pid: int) -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _tree_rss(pid))

    with tempfile.TemporaryFile() as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
        sampler = threading.Thread(target=sample, args=(proc.pid,), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        sampler.join()
        ended = time.perf_counter()
        wall = ended - started
        sink.seek(0)
        text = sink.read().decode(errors="replace")
    rss = max(usage.ru_maxrss, peak[0]) / 1024
    CLOCKS[:] = [started, ended]
    return (wall, usage.ru_utime + usage.ru_stime, rss, os.waitstatus_to_exitcode(status),
            text)


CLOCKS: list[float] = []  # the last child's start and end (perf_counter: one clock)


SERVERS: list[int] = []  # the servers' pid, once started (their CPU is shown by --explain)


def servers_cpu() -> float:
    """CPU seconds the servers' process has used so far (0 when unknown)."""
    if not SERVERS:
        return 0.0
    try:
        fields = Path(f"/proc/{SERVERS[0]}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def one_size(work: Path, targets: int, timeout: float, night: int = 0,
             explain: bool = False, reports_too: bool = True, processes: str = "auto"
             ) -> dict[str, Any]:
    """One audit and one reference run. ``night`` > 0: the audits share a history file
    (``--history``), as nightly audits do, and this is the night-th of them. ``explain``:
    the audit runs under ``scale_explain.py`` (the same CLI, timed from inside).
    ``reports_too``: with ``--reports-dir``. ``processes``: the audit's ``--processes``."""
    folder = work / f"profiles-{targets}"
    if not folder.exists():
        folder.mkdir()
    kinds = write_profiles(folder, targets, timeout, work.parent / "ca.crt",
                           work.parent / "known_hosts")
    suffix = f"-{night}" if night else ""
    reports = work / f"reports-{targets}{suffix}"
    audit_json = work / f"audit-{targets}{suffix}.json"
    history = ["--history", str(work / f"history-{targets}.db")] if night else []
    how = [str(Path(__file__).with_name("scale_explain.py"))] if explain else \
        ["-m", "accessready"]
    served = servers_cpu()
    wall, cpu, rss, code, text = run_child([
        sys.executable, *how, "audit", str(folder), "--json", str(audit_json),
        *(["--reports-dir", str(reports)] if reports_too else []), "--quiet",
        "--profiles-at-once", str(PROFILES_AT_ONCE), "--concurrency", str(CONCURRENCY),
        "--processes", processes, *history])
    clocks = list(CLOCKS)
    if not audit_json.exists():
        raise SystemExit(f"the audit wrote no overview (exit {code}): {text[-500:]}")
    served = servers_cpu() - served
    wrong_results, wrong_verdicts, seen = count_wrong(kinds, reports if reports_too else None,
                                                      audit_json)
    r_served = servers_cpu()
    r_wall, r_cpu, r_rss, _, r_text = run_child([
        sys.executable, __file__, "--reference", str(work.parent), str(targets), str(timeout)])
    try:
        r_served = servers_cpu() - r_served
        r_out = json.loads(r_text.strip().splitlines()[-1])
        r_wrong = r_out["wrong"]
        if r_out["why"]:
            print(f"|   reference wrong: {r_out['why']} |", flush=True)
    except (ValueError, IndexError, KeyError):
        raise SystemExit(f"the asyncio reference failed: {r_text[-800:]}") from None
    explained = next((json.loads(line[len("EXPLAIN "):]) for line in text.splitlines()
                      if line.startswith("EXPLAIN ")), None)
    if explained is not None:  # one clock on both sides: the interpreter's own time
        explained["startup_s"] = explained.pop("clock_started") - clocks[0]
        explained["teardown_s"] = clocks[1] - explained.pop("clock_exit")
    return {"targets": targets, "night": night, "wall": wall, "cpu": cpu, "rss": rss,
            "explained": explained, "served": served, "r_served": r_served,
            "wrong": wrong_results,
            "wrong_verdicts": wrong_verdicts, "seen": seen, "r_wall": r_wall, "r_cpu": r_cpu,
            "r_rss": r_rss, "r_wrong": r_wrong}


def print_row(row: dict, load: bool) -> None:
    label = ("yes" if load else "no") + (f", night {row['night']}" if row["night"] else "")
    print(f"| {row['targets']:,} | {label} | {row['wall']:.1f} s | "
          f"{row['cpu']:.1f} s | {row['rss']:.0f} MiB | {row['wrong']} ({row['wrong_verdicts']} "
          f"verdicts) | {row['r_wall']:.1f} s | {row['r_cpu']:.1f} s | {row['r_rss']:.0f} MiB | "
          f"{row['r_wrong']} | {row['wall'] / row['r_wall']:.2f} | "
          f"{row['cpu'] / max(row['r_cpu'], 0.01):.1f} |", flush=True)
    if row["seen"]:
        print(f"|   wrong results: {row['seen']} |", flush=True)
    if row.get("explained"):
        print_explained(row["explained"], row["cpu"])
        print(f"|   the servers' process used {row['served']:.1f} s of CPU during the audit, "
              f"{row['r_served']:.1f} s during the reference |", flush=True)
    wall, cpu = row["wall"] / row["r_wall"], row["cpu"] / max(row["r_cpu"], 0.01)
    rss_goal = 150 if row["targets"] <= 1000 else 300
    goals = [("wall <= 1.2x", wall <= 1.2), ("CPU <= 5x", cpu <= 5),
             (f"peak RSS <= {rss_goal} MB", row["rss"] * 1.048576 <= rss_goal),
             ("0 wrong", row["wrong"] == 0 and row["wrong_verdicts"] == 0)]
    print("|   goals: " + ", ".join(f"{name} {'met' if ok else 'NOT met'}"
                                    for name, ok in goals) + " |", flush=True)


def print_explained(facts: dict[str, Any], total_cpu: float) -> None:
    """Where the audit's wall time went (``--explain``): seconds from its start."""
    switches = facts.get("switches", [0, 0])
    print(f"|   explain: audit process CPU {facts['cpu_s']:.1f} s (user "
          f"{facts.get('user_s', 0):.1f} s, system {facts.get('sys_s', 0):.1f} s; "
          f"{switches[0]:,} voluntary and {switches[1]:,} involuntary context switches), "
          f"report process (the "
          f"rest) {max(0.0, total_cpu - facts['cpu_s']):.1f} s; audit started at "
          f"{facts.get('audit_started', 0):.1f} s, every profile planned and started at "
          f"{facts.get('profiles_started', 0):.1f} s, checks and runs done at "
          f"{facts.get('checks_and_runs_done', 0):.1f} s with "
          f"{facts.get('reports_queued_at_end', 0)} customers' reports still queued, waited "
          f"for the report process from "
          f"{facts.get('reports_wait_started', 0):.2f} to {facts.get('reports_written', 0):.2f} s,"
          f" exit at {facts['exit_s']:.1f} s; the interpreter's start before our first "
          f"line {facts.get('startup_s', 0):.2f} s, its end after our last "
          f"{facts.get('teardown_s', 0):.2f} s; planning a profile (load, plan, start its "
          f"checks) took {facts.get('planning_cpu_ms', 0):.2f} ms of its thread's CPU |")
    for kind, seen in facts["kinds"].items():
        print(f"|     {kind} (n={seen['n']}): started at {seen['start']} s, ended at "
              f"{seen['end']} s (min, p10, p50, p90, max); {seen.get('cpu_ms', 0):.2f} ms "
              "of its thread's CPU each |", flush=True)
    threads = facts.get("threads", {})
    if threads:
        print("|     CPU by thread (name: threads, seconds): " + "; ".join(
            f"{name}: {n}, {cpu:.2f} s" for name, (n, cpu) in threads.items()) + " |")


def inside(args: argparse.Namespace) -> None:
    """Runs inside the private namespace: network, PKI, servers, then each size."""
    import resource


    # thousands of sockets at once (the reference, the servers): the soft limit is often 1024
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))

    for cmd in (["ip", "link", "set", "lo", "up"],
                ["ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"],
                ["ip", "addr", "add", f"{SILENT_NET}.1/24", "dev", "v0"],
                ["ip", "link", "set", "v0", "up"], ["ip", "link", "set", "v1", "up"]):
        subprocess.run(cmd, check=True)
    for n in range(2, 202):
        subprocess.run(["ip", "neigh", "add", f"{SILENT_NET}.{n}", "lladdr",
                        "02:00:00:00:00:02", "dev", "v0", "nud", "permanent"], check=True)
    with tempfile.TemporaryDirectory(prefix="accessready-scale-") as tmp:
        work = Path(tmp)
        write_pki(work, "ca.crt")
        (work / "known_hosts").write_text("")
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(work),
                                   *(["keep-alive"] if args.keep_alive else [])])
        SERVERS.append(server.pid)
        load: subprocess.Popen[bytes] | None = None
        try:
            for _ in range(200):
                if (work / "ready").exists():
                    break
                time.sleep(0.05)
            print(compile_package())
            if args.no_reports:
                print("audit without --reports-dir: no customer's report rendered or "
                      "written; wrong results by status, from the overview's findings")
            print(f"accessready audit --processes {args.processes}")
            print("| targets | extra load | accessready wall | CPU | peak RSS | wrong | "
                  "asyncio wall | CPU | peak RSS | wrong | wall ratio | CPU ratio |")
            print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
            for loaded in ([False, True] if args.load else [False]):
                if loaded:
                    load = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                where = work / ("loaded" if loaded else "quiet")
                where.mkdir()
                for targets in args.targets:
                    for night in range(1, args.nights + 1) if args.nights > 1 else [0]:
                        print_row(one_size(where, targets, args.timeout, night,
                                           args.explain, not args.no_reports,
                                           args.processes), loaded)
                if load is not None:
                    load.kill()
                    load.wait()
                    load = None
        finally:
            if load is not None:
                load.kill()
            server.kill()
            server.wait()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(Path(sys.argv[2]), sys.argv[3:4] == ["keep-alive"])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--reference":
        reference(Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--nights", type=int, default=1, metavar="N",
                        help="N audits sharing a history file, as nightly audits do (the "
                        "second starts the slowest profiles first)")
    parser.add_argument("--load", action="store_true",
                        help="also run while another process keeps one core busy")
    parser.add_argument("--explain", action="store_true",
                        help="run the audit under scale_explain.py and show when its checks "
                        "started and ended, by kind (where the wall time goes)")
    parser.add_argument("--keep-alive", action="store_true",
                        help="the WS-Man servers keep the connection for another request, "
                        "as http.sys does (the issue's workload answers once and closes)")
    parser.add_argument("--no-reports", action="store_true",
                        help="the audit without --reports-dir (the issue's command line as "
                        "written); wrong results counted from the overview, by status only")
    parser.add_argument("--processes", default=None, metavar="N|auto",
                        help="the audit's --processes (default auto; 1 with --explain)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.processes is None:
        args.processes = "1" if args.explain else "auto"
    elif args.explain and args.processes != "1":
        parser.error("--explain times one audit process: only with --processes 1")
    if args.inside:
        inside(args)
        return
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        raise SystemExit("bench_scale needs root and unshare (it makes its own network "
                         "namespace)")
    os.execvp("unshare", ["unshare", "-n", sys.executable, __file__, "--inside",
                          *sys.argv[1:]])


if __name__ == "__main__":
    main()
