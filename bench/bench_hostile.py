"""Hostile inputs (issue 16 item 3): each case of a corpus of hostile servers on loopback
and crafted files runs in a child process — the real ``accessready`` command, or for the
CLIXML case the WinRM transport's cleaner itself; prints the child's peak RSS and wall
time against the case's limits.

    python bench/bench_hostile.py [--only NAME] [--keep]

Limits for every case: peak RSS under 300 MB; wall under the case's deadline + 2 s. The
deadline is the check timeout of its profile where the network is waited on, the
rendering budget of ``bench_report.py`` (a second per 5,000 results) for large result
files, else 0. Exit status 1 when a limit is missed.

Cases: WinRM over HTTPS answering a 1 GiB gzip bomb, a 200 MB chunked body, a body or a
header that drips a byte at a time (the header drip is ended by the runner's deadline:
the transport cannot cut http.client's header read), an unclosed CLIXML megabyte; a
300 MB known_hosts; a 200 MB CA bundle; profiles with a never-closing ``[`` line, a
400 KB inline word, 200,000-part dotted keys; result files of 5 million empty lists, one
15 MB wide string, the most results allowed; 10,000 check ids that share one anchor.

``tests/integration/test_hostile_corpus.py`` runs the same cases and
asserts what each must produce and the memory bound (never the time: that is measured
here). Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from accessready.agent.demo.simulators import pki
from accessready.agent.demo.simulators.ssh import SshSimulator, SshUser
from accessready.agent.demo.simulators.stream import StreamServer, read_http_request

RSS_LIMIT_MB = 300
SLACK_S = 2.0
CHECK_TIMEOUT_S = 5.0
CPU_GUARD_S = 120  # a child past this much CPU is killed: the regression being caught
PASSWORD_VAR = "AR_HOSTILE_PW"


@dataclass
class Measured:
    """What one child run did."""

    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float
    wall_s: float


def measure(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
            cpu_seconds: int = CPU_GUARD_S, timeout: float = 300) -> Measured:
    """Run ``argv`` as a child (CPU time capped at ``cpu_seconds``), returning its exit
    code, output, peak RSS (its own, from ``wait4``) and wall time."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ACCESSREADY_")}
    full_env.update(env or {})
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                            env=full_env, preexec_fn=limit)
    out: dict[str, bytes] = {}

    def read(name: str, stream: object) -> None:
        out[name] = stream.read()  # type: ignore[attr-defined]

    readers = [threading.Thread(target=read, args=(n, s), daemon=True)
               for n, s in (("out", proc.stdout), ("err", proc.stderr))]
    for reader in readers:
        reader.start()
    status, usage = 0, None
    while usage is None:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            usage = rusage
        elif time.monotonic() - started > timeout:
            proc.kill()
        else:
            time.sleep(0.02)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join(10)
    return Measured(proc.returncode, out.get("out", b"").decode("utf-8", "replace"),
                    out.get("err", b"").decode("utf-8", "replace"),
                    usage.ru_maxrss / 1024, wall)  # ru_maxrss: KiB on Linux


def accessready(*args: str) -> list[str]:
    """argv of the real command in this interpreter."""
    return [sys.executable, "-m", "accessready", *args]


# -- hostile WinRM (HTTPS) servers -------------------------------------------------------

GZIP_BOMB_GB = 1


def gzip_bomb() -> bytes:
    """1 GiB of zeros as ~1 MiB of gzip: 1,024 members of one MiB each (HTTP's gzip
    coding may hold several members; one member compressed once keeps this fast)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    member = packer.compress(b"\0" * (1 << 20)) + packer.flush()
    return member * (1024 * GZIP_BOMB_GB)


def _answer_bomb(conn: socket.socket, bomb: bytes) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n"
                 b"Content-Encoding: gzip\r\n"
                 + f"Content-Length: {len(bomb)}\r\n\r\n".encode() + bomb)


def _answer_endless(conn: socket.socket) -> None:
    """200 MB as a chunked body, as long as the client reads."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"10000\r\n" + b"<a/>" * 16384 + b"\r\n"
    for _ in range(200 * 16):
        conn.sendall(chunk)
    conn.sendall(b"0\r\n\r\n")


def _answer_drip(conn: socket.socket) -> None:
    """A body announced as 100 KB that arrives a byte at a time, 5 a second."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n"
                 b"Content-Length: 100000\r\n\r\n")
    for _ in range(300):  # 60 s at most
        conn.sendall(b"<")
        time.sleep(0.2)


def _answer_header_drip(conn: socket.socket) -> None:
    """A status line, then one header that never ends, a byte at a time, 5 a second."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    for _ in range(300):  # 60 s at most
        conn.sendall(b"a")
        time.sleep(0.2)


@contextlib.contextmanager
def hostile_winrm(mode: str, tls: pki.TlsFiles) -> Iterator[StreamServer]:
    """An HTTPS server answering every request in the hostile way ``mode`` names."""
    bomb = gzip_bomb() if mode == "gzip_bomb" else b""

    def handle(conn: socket.socket) -> None:
        if read_http_request(conn) is None:
            return
        with contextlib.suppress(OSError):
            if mode == "gzip_bomb":
                _answer_bomb(conn, bomb)
            elif mode == "endless":
                _answer_endless(conn)
            elif mode == "header_drip":
                _answer_header_drip(conn)
            else:
                _answer_drip(conn)

    server = StreamServer(handle, tls=pki.server_context(tls), conn_timeout=70,
                          name=f"winrm-{mode}")
    with server:
        yield server


# -- the corpus -------------------------------------------------------------------------

@dataclass
class Case:
    """One hostile input: how to run it, and what the run must have produced.

    ``run(folder, tls)`` returns the measured child run and the result JSON (or None);
    ``expect(measured, result)`` returns "" when correct, else what is wrong.
    """

    name: str
    deadline_s: float
    run: Callable[[Path, pki.TlsFiles], tuple[Measured, dict | None]]
    expect: Callable[[Measured, dict | None], str]


def _profile(folder: Path, body: str) -> Path:
    path = folder / "hostile.toml"
    path.write_text(f"""[customer]
name = "Fientlig kund"
[access]
methods = ["teamviewer"]
[account]
username = 'EXEMPEL\\support'
password = {{ env = "{PASSWORD_VAR}" }}
{body}
[checks]
timeout = {CHECK_TIMEOUT_S}
""", encoding="utf-8")
    return path


def _run_profile(profile: Path, *only: str) -> tuple[Measured, dict | None]:
    result = profile.parent / "result.json"
    result.unlink(missing_ok=True)
    measured = measure(accessready("run", str(profile), "--json", str(result), "-q",
                                   *(a for c in only for a in ("--only", c))),
                       env={PASSWORD_VAR: "Hostile-pw-1!"})
    data = json.loads(result.read_text("utf-8")) if result.exists() else None
    return measured, data


def _result(data: dict | None, check: str) -> dict:
    for entry in (data or {}).get("results", []):
        if entry.get("check") == check:
            return entry
    return {}


def _winrm_case(mode: str, kind: str | None) -> Case:
    """account.login against the hostile server ``mode``: an error of failure ``kind``
    (None: the runner's deadline ended it, the transport could not)."""
    def run(folder: Path, tls: pki.TlsFiles) -> tuple[Measured, dict | None]:
        with hostile_winrm(mode, tls) as server:
            profile = _profile(folder, f"""[[servers]]
name = "win01"
address = "127.0.0.1"
roles = ["sync"]
remote = ["winrm"]
winrm = {{ https = true, port = {server.port}, ca_file = "{tls.ca_file}" }}
""")
            return _run_profile(profile, "account.login")

    def expect(measured: Measured, data: dict | None) -> str:
        login = _result(data, "account.login")
        found = (login.get("details") or {}).get("failure")
        if login.get("status") != "error" or found != kind:
            return f"account.login should be error/{kind}, was {login.get('status')}/{found}"
        return ""

    return Case(f"winrm_{mode}", CHECK_TIMEOUT_S, run, expect)


def _sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def _known_hosts_case() -> Case:
    def run(folder: Path, tls: pki.TlsFiles) -> tuple[Measured, dict | None]:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519

        public = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
        known = folder / "known_hosts"
        with open(known, "w", encoding="ascii") as handle:  # 300 MB of valid lines
            block = "".join(f"h{i:07d}.exempel.local {public}\n" for i in range(10_000))
            for _ in range(300 * 1024 * 1024 // len(block) + 1):
                handle.write(block)
        sim = SshSimulator({"support": SshUser(password="x")}).start()
        try:
            profile = _profile(folder, f"""known_hosts = "{known}"
[[servers]]
name = "lin01"
address = "127.0.0.1"
roles = ["sync"]
remote = ["ssh"]
ssh = {{ port = {sim.port} }}
""")
            return _run_profile(profile, "remote.ssh")
        finally:
            sim.stop()

    def expect(measured: Measured, data: dict | None) -> str:
        ssh = _result(data, "remote.ssh")  # our file, not the server: error, not fail
        if ssh.get("status") != "error" or "more than such a file ever is" not in json.dumps(ssh):
            return f"remote.ssh: {json.dumps(ssh)[:300]}"
        return ""

    return Case("known_hosts_300mb", CHECK_TIMEOUT_S, run, expect)


def _ca_file_case() -> Case:
    def run(folder: Path, tls: pki.TlsFiles) -> tuple[Measured, dict | None]:
        bundle = folder / "ca.pem"
        with open(bundle, "w", encoding="ascii") as handle:  # never-ending PEM blocks
            block = ("-----BEGIN CERTIFICATE-----\n" + "QUFB" * 16 + "\n") * 20_000
            for _ in range(200 * 1024 * 1024 // len(block) + 1):
                handle.write(block)
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            port = free.getsockname()[1]
        profile = _profile(folder, f"""[[servers]]
name = "win01"
address = "127.0.0.1"
roles = ["sync"]
remote = ["winrm"]
winrm = {{ https = true, port = {port}, ca_file = "{bundle}" }}
""")
        return _run_profile(profile, "account.login")

    def expect(measured: Measured, data: dict | None) -> str:
        login = json.dumps(_result(data, "account.login"))
        return "" if "more than such a file ever is" in login else f"login: {login[:300]}"

    return Case("ca_file_200mb", CHECK_TIMEOUT_S, run, expect)


def _validate_case(name: str, lines: list[str], error: str = "",
                   multiline: bool = False) -> Case:
    """``accessready validate`` of a profile with ``lines`` inside a multi-line string
    (``multiline``, or without ``error``) or as they are: valid, or the one-line ``error``."""
    def run(folder: Path, tls: pki.TlsFiles) -> tuple[Measured, dict | None]:
        profile = folder / "big.toml"
        body = "\n".join(lines)
        text = ("[customer]\nname = \"Kund\"\n" +
                (body if error and not multiline else f'agreement = """\n{body}\n"""') +
                "\n[access]\nmethods = [\"teamviewer\"]\n")
        profile.write_text(text, encoding="utf-8")
        return measure(accessready("validate", str(profile)), cpu_seconds=30), None

    def expect(measured: Measured, data: dict | None) -> str:
        if error:
            lines = measured.stderr.splitlines()
            if measured.returncode != 3 or len(lines) != 1 or error not in lines[0]:
                return f"validate: exit {measured.returncode}: {measured.stderr[-300:]}"
        elif measured.returncode != 0 or "valid" not in measured.stdout:
            return f"validate: exit {measured.returncode}: {measured.stderr[-300:]}"
        return ""

    return Case(name, 0.0, run, expect)


ANCHOR_RESULTS = 10_000


def _anchor_case() -> Case:
    def run(folder: Path, tls: pki.TlsFiles) -> tuple[Measured, dict | None]:
        from accessready.agent.core.model import Requirement, Result, Run, Status, Verdict, t
        from accessready.reports.json_report import render

        results = tuple(
            Result(check_id="sample." + "z" * 60 + f"{i}", target="h", status=Status.WARN,
                   summary=t("w", "v"), details={}, requirement=Requirement.SERVERS)
            for i in range(ANCHOR_RESULTS))
        run_ = Run(customer="Kund", profile_path="p.toml",
                   started_at="2026-05-01T02:00:00+00:00",
                   finished_at="2026-05-01T02:00:01+00:00", duration_s=1.0, results=results,
                   verdict=Verdict.READY_WITH_WARNINGS, requirements=(), host={},
                   tool_version="bench")
        source = folder / "anchors.json"
        source.write_bytes(render(run_, "en"))
        html = folder / "anchors.html"
        measured = measure(accessready("report", str(source), "--html", str(html)),
                           cpu_seconds=40)
        return measured, {"html_bytes": html.stat().st_size if html.exists() else 0}

    def expect(measured: Measured, data: dict | None) -> str:
        if measured.returncode not in (0, 1, 2, 3) or "internal error" in measured.stderr \
                or not (data or {}).get("html_bytes"):
            return f"report: exit {measured.returncode}: {measured.stderr[-300:]}"
        return ""

    # the rendering budget of bench_report.py: a second per 5,000 results
    return Case(f"html_{ANCHOR_RESULTS}_ids_one_anchor", ANCHOR_RESULTS / 5_000, run, expect)


def _clixml_case() -> Case:
    """A WinRM error stream of a megabyte of openings that never close (the transport keeps
    at most MAX_OUTPUT bytes of it), through the transport's CLIXML cleaner."""
    script = ("from accessready.agent.io.transports.winrm import MAX_OUTPUT, clean_clixml\n"
              "opening = '<S S=\"Error\">'\n"
              "text = '#< CLIXML' + opening * (MAX_OUTPUT // len(opening))\n"
              "print(len(clean_clixml(text)))\n")

    def run(folder: Path, tls: pki.TlsFiles) -> tuple[Measured, dict | None]:
        return measure([sys.executable, "-c", script], cpu_seconds=30), None

    def expect(measured: Measured, data: dict | None) -> str:
        if measured.returncode != 0 or not measured.stdout.strip().isdigit():
            return f"exit {measured.returncode}: {measured.stderr[-300:]}"
        return ""

    return Case("winrm_clixml_unclosed", 0.0, run, expect)


def _sample_result(results: int = 1, details: object = None) -> dict:
    """A valid result file's JSON: ``results`` warnings, each with ``details``."""
    from accessready.agent.core.model import Requirement, Result, Run, Status, Verdict, t
    from accessready.reports.json_report import render

    run = Run(customer="Kund", profile_path="p.toml", started_at="2026-05-01T02:00:00+00:00",
              finished_at="2026-05-01T02:00:01+00:00", duration_s=1.0,
              results=tuple(Result(check_id="sample.check", target=f"h{i}", status=Status.WARN,
                                   summary=t("w", "v"), details={},
                                   requirement=Requirement.SERVERS) for i in range(results)),
              verdict=Verdict.READY_WITH_WARNINGS, requirements=(), host={},
              tool_version="bench")
    data = json.loads(render(run, "en"))
    for entry in data["results"]:
        entry["details"] = details if details is not None else {}
    return data


def _result_file_case(name: str, make: Callable[[], bytes], error: str = "",
                      deadline_s: float = 0.0) -> Case:
    """``accessready report FILE --html --json``: rendered, or refused with ``error``."""
    def run(folder: Path, tls: pki.TlsFiles) -> tuple[Measured, dict | None]:
        source = folder / "in.json"
        source.write_bytes(make())
        return measure(accessready("report", str(source), "--html", str(folder / "o.html"),
                                   "--json", str(folder / "o.json")), cpu_seconds=60), None

    def expect(measured: Measured, data: dict | None) -> str:
        lines = measured.stderr.splitlines()
        if error and (measured.returncode != 3 or len(lines) != 1 or error not in lines[0]):
            return f"report: exit {measured.returncode}: {measured.stderr[-300:]}"
        if not error and measured.returncode not in (0, 1, 2):
            return f"report: exit {measured.returncode}: {measured.stderr[-300:]}"
        return ""

    return Case(name, deadline_s, run, expect)


def _values_bomb() -> bytes:
    """Just under the size cap, nothing but empty lists: once 3 GB of Python objects."""
    text = json.dumps(_sample_result())
    pad = ",".join(["[]"] * (5 * 1024 * 1024))
    return (text[:-1] + f', "junk": [{pad}]}}').encode()


def _wide_string() -> bytes:
    """One 15 MB string whose single emoji makes Python hold it at 4 bytes a character."""
    return json.dumps(_sample_result(details={"banner": "\U0001F600" + "A" * 15_000_000}),
                      ensure_ascii=False).encode()


MOST_RESULTS = 10_000  # json_report.MAX_RESULTS


def _most_results() -> bytes:
    """The most results a file may hold, each with a little evidence."""
    return json.dumps(_sample_result(MOST_RESULTS, {"answers": [{"a": i} for i in range(16)],
                                                    "text": "x" * 100})).encode()


CASES: dict[str, Case] = {c.name: c for c in [
    _result_file_case("result_file_5m_empty_lists", _values_bomb,
                      error="more than 500,000 values"),
    _result_file_case("result_file_15mb_wide_string", _wide_string),
    _result_file_case(f"result_file_{MOST_RESULTS}_results", _most_results,
                      deadline_s=MOST_RESULTS / 5_000),
    _clixml_case(),
    _winrm_case("gzip_bomb", "too_big"),
    _winrm_case("endless", "too_big"),
    _winrm_case("drip", "timeout"),
    _winrm_case("header_drip", None),
    _known_hosts_case(),
    _ca_file_case(),
    # The payload sits in a multi-line string, so the whole file is parsed; the value then
    # holds line breaks, which no profile value may (an escape like "C:\new" makes one).
    _validate_case("profile_unclosed_header", ["[" + " " * 400_000, "[[" + " \t" * 100_000],
                   error="big.toml:3: customer.agreement: holds a control character",
                   multiline=True),
    _validate_case("profile_long_inline_word", ["x = {" + "a" * 400_000, "y = {" + "b " * 100_000],
                   error="big.toml:3: customer.agreement: holds a control character",
                   multiline=True),
    _validate_case("profile_dotted_key_200000_parts", [".".join(["a"] * 200_000) + " = 1"],
                   error="big.toml:3: more than 64 dots outside strings on one line"),
    _validate_case("profile_dotted_table_200000_parts", ["[" + ".".join(['"a"'] * 100_000) + "]"],
                   error="big.toml:3: more than 64 dots outside strings on one line"),
    _anchor_case(),
]}


def tls_files(folder: Path) -> pki.TlsFiles:
    """A test CA and a certificate for 127.0.0.1."""
    ca = pki.make_ca("Hostile bench CA")
    cert, key = pki.issue(ca, ["localhost", "127.0.0.1"])
    return pki.write_tls_files(folder, "winrm", ca, cert, key)


def run_case(case: Case, folder: Path, tls: pki.TlsFiles) -> tuple[Measured, str]:
    """Run one case in ``folder``: (what was measured, "" or what is wrong)."""
    folder.mkdir(parents=True, exist_ok=True)
    measured, data = case.run(folder, tls)
    return measured, case.expect(measured, data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(CASES))
    parser.add_argument("--keep", action="store_true", help="Keep the work folder.")
    args = parser.parse_args()
    from bytecode import compile_package  # the same folder (the tests load this file alone)

    print(compile_package())
    work = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    missed = 0
    try:
        tls = tls_files(work / "tls")
        print(f"{'case':<36} {'exit':>4} {'peak RSS':>10} {'wall':>8} {'limit':>8}  verdict")
        for name in args.only or list(CASES):
            case = CASES[name]
            measured, wrong = run_case(case, work / name, tls)
            limit = case.deadline_s + SLACK_S
            ok = not wrong and measured.peak_rss_mb < RSS_LIMIT_MB and measured.wall_s < limit
            missed += not ok
            print(f"{name:<36} {measured.returncode:>4} {measured.peak_rss_mb:>7.0f} MB "
                  f"{measured.wall_s:>6.2f} s {limit:>6.1f} s  {'ok' if ok else 'MISSED'}"
                  f"{'  ' + wrong if wrong else ''}", flush=True)
            shutil.rmtree(work / name, ignore_errors=True)
    finally:
        if args.keep:
            print(f"work folder: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"limits: peak RSS < {RSS_LIMIT_MB} MB, wall < deadline + {SLACK_S:g} s")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
