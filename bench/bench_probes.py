"""CPU per network probe of ``remote.winrm`` and ``remote.ssh``: prints numbers; asserts nothing.

    python bench/bench_probes.py [--n 200] [--rounds 5]

Servers on loopback, in a process of their own (their CPU is not the probes'):

* an asyncio TLS server with a certificate from a private CA (:mod:`~accessready.agent.demo.
  simulators.pki`) answering the WS-Man Identify with 200 and any other POST with 401, as
  ``bench/bench_scale.py`` serves it;
* an SSH server that sends a banner and closes at the key exchange (as ``bench_scale``);
* a paramiko SSH server that completes the key exchange (then the client disconnects), so
  the host key check runs too.

For each probe kind it runs ``--n`` probes ``--rounds`` times in this process and prints the
median CPU (``time.process_time``: every thread of the process, paramiko's included) and wall
time per probe, in ms; ``--threads 1 4 16 64`` makes them from that many threads at once,
as an audit's worker threads do, which shows what contending for the GIL costs a probe.
The probes are the ones the checks make: ``https`` = one
:func:`~accessready.agent.io.http.http_request` over verified TLS (the Identify);
``winrm`` = the two requests of ``remote.winrm`` (the second resuming the first's TLS
session, as the check does); ``ssh-banner`` and ``ssh-kex`` =
:func:`~accessready.agent.io.transports.ssh.probe`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench_scale import handlers, write_pki  # the same servers as the scale bench (same folder)

# --- the servers (their own process) -------------------------------------------------------

def _paramiko_server(listener: socket.socket, host_key_file: Path) -> None:
    """Complete the key exchange with every client (no authentication is offered)."""
    import logging

    import paramiko

    logger = logging.getLogger("paramiko")  # clients hang up after the kex: normal
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    key = paramiko.Ed25519Key.from_private_key_file(str(host_key_file))

    def serve_one(conn: socket.socket) -> None:
        transport = paramiko.Transport(conn)
        transport.add_server_key(key)
        try:
            transport.start_server(server=paramiko.ServerInterface())
            transport.join(10)
        except Exception:  # a client that leaves after the kex is normal here
            pass
        finally:
            transport.close()

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve_one, args=(conn,), daemon=True).start()


def serve(folder: Path) -> None:
    """The three servers on 127.0.0.1 until killed; their ports go to ``folder/ready``."""
    ssh, https, context = handlers(folder)

    listener = socket.create_server(("127.0.0.1", 0), backlog=256)
    threading.Thread(target=_paramiko_server, args=(listener, folder / "host_key"),
                     daemon=True).start()

    async def main() -> None:
        ssh_server = await asyncio.start_server(ssh, "127.0.0.1", 0, backlog=1024)
        tls_server = await asyncio.start_server(https, "127.0.0.1", 0, backlog=1024,
                                                ssl=context)
        ports = {"ssh-banner": ssh_server.sockets[0].getsockname()[1],
                 "https": tls_server.sockets[0].getsockname()[1],
                 "ssh-kex": listener.getsockname()[1]}
        (folder / "ready").write_text(json.dumps(ports))
        async with ssh_server, tls_server:
            await asyncio.Event().wait()

    asyncio.run(main())


# --- the probes ----------------------------------------------------------------------------

def _probes(folder: Path, ports: dict[str, int]) -> dict[str, Callable[[], object]]:
    from accessready.agent.core.profile_types import TlsOptions
    from accessready.agent.io.http import http_request
    from accessready.agent.io.tls import TlsSessions
    from accessready.agent.io.transports.base import TransportError
    from accessready.agent.io.transports.ssh import KnownHosts, probe
    from accessready.checks.protocols import wsman

    host = "127.0.0.1"
    tls = TlsOptions(ca_file=str(folder / "ca.pem"))
    host_header = f"{host}:{ports['https']}"
    headers, body = wsman.build_identify_request(host_header)
    headers = [h for h in headers if h[0].lower() != "host"]

    def identify(sessions: TlsSessions | None = None) -> object:
        out = http_request(host, ports["https"], "POST", wsman.WSMAN_PATH, headers=headers,
                           body=body, tls=tls, host_header=host_header, timeout=5.0,
                           max_body=wsman.MAX_XML_BYTES, sessions=sessions)
        assert out.ok and out.answer.status == 200, out.to_json()
        return out

    def schemes(sessions: TlsSessions) -> object:
        out = http_request(host, ports["https"], "POST", wsman.WSMAN_PATH,
                           headers=[("Content-Type", "application/soap+xml;charset=UTF-8")],
                           tls=tls, host_header=host_header, timeout=2.0, max_body=64 * 1024,
                           sessions=sessions)
        assert out.ok and out.answer.status == 401, out.to_json()
        return out

    def winrm() -> object:
        sessions = TlsSessions()  # as the check: the second request resumes the first
        return identify(sessions), schemes(sessions)

    known = KnownHosts(folder / "known_hosts", system_path=None)

    def ssh_banner() -> object:
        try:
            probe(host, ports["ssh-banner"], known, 5.0)
        except TransportError as exc:
            return exc
        raise AssertionError("the banner server never finishes a key exchange")

    def ssh_kex() -> object:
        info = probe(host, ports["ssh-kex"], known, 5.0)
        assert info.host_key is not None and info.host_key.status == "known", info.to_json()
        return info

    return {"https": identify, "winrm": winrm, "ssh-banner": ssh_banner, "ssh-kex": ssh_kex}


def _measure(run: Callable[[], object], n: int, rounds: int, threads: int = 1
             ) -> tuple[float, float]:
    """Median CPU and wall ms per call over ``rounds`` rounds of ``n`` calls, made by
    ``threads`` threads at once (each makes its share)."""
    cpu, wall = [], []

    def share(calls: int) -> None:
        for _ in range(calls):
            run()

    for _ in range(rounds):
        c0, w0 = time.process_time(), time.perf_counter()
        workers = [threading.Thread(target=share, args=(n // threads,))
                   for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        done = n // threads * threads
        cpu.append((time.process_time() - c0) * 1000 / done)
        wall.append((time.perf_counter() - w0) * 1000 / done)
    return statistics.median(cpu), statistics.median(wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="probes per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", nargs="*", help="probe kinds to run (default: all)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1], metavar="N",
                        help="also from N threads at once, as an audit's workers make them "
                        "(what contending for the GIL costs each probe)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve))
        return
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_pki(folder, "ca.pem")
        host_key = ed25519.Ed25519PrivateKey.generate()
        (folder / "host_key").write_bytes(host_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption()))
        (folder / "host_key.pub").write_bytes(host_key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH))
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(folder)])
        try:
            for _ in range(200):
                if (folder / "ready").exists():
                    break
                time.sleep(0.05)
            ports = json.loads((folder / "ready").read_text())
            public = (folder / "host_key.pub").read_text().split()
            (folder / "known_hosts").write_text(
                f"[127.0.0.1]:{ports['ssh-kex']} {public[0]} {public[1]}\n")
            probes = _probes(folder, ports)
            print(f"{'probe':<11} {'threads':>7} {'cpu ms':>8} {'wall ms':>8}   (median of "
                  f"{args.rounds} rounds of {args.n}; wall per probe is the rate at which "
                  "they complete)")
            for name, run in probes.items():
                if args.only and name not in args.only:
                    continue
                for _ in range(5):  # warm: imports, the shared TLS context
                    run()
                for threads in args.threads:
                    cpu, wall = _measure(run, args.n, args.rounds, threads)
                    print(f"{name:<11} {threads:7} {cpu:8.3f} {wall:8.3f}", flush=True)
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
