"""CPU per SSH probe: the native key exchange (ssh_native) against paramiko's. Prints numbers;
asserts nothing.

    python bench/bench_sshkex.py [--n 200] [--rounds 5] [--only kex/native ...]

The servers are bench_probes.py's, in a process of their own (their CPU is not counted): a
banner server that hangs up at the key exchange (``banner``, as in bench_scale) and a
paramiko server with an Ed25519 host key that completes the key exchange (``kex``).

``paramiko`` = :func:`~accessready.agent.io.transports.ssh.handshake` (paramiko's Transport);
``native`` = the same steps with :func:`~accessready.agent.io.transports.ssh_native.exchange`
in place of paramiko's Transport: connect, peek at the first bytes, exchange, check the host
key against known_hosts, close. CPU is ``time.process_time`` (every thread of this process).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import bench_probes  # the same servers, warm-up and measurement (same folder)


def _probes(folder: Path, ports: dict[str, int]) -> dict[str, Callable[[], object]]:
    from accessready.agent.io.net import connect
    from accessready.agent.io.transports.base import TransportError
    from accessready.agent.io.transports.ssh import KnownHosts, handshake
    from accessready.agent.io.transports.ssh_native import exchange

    host = "127.0.0.1"
    known = KnownHosts(folder / "known_hosts", system_path=None)
    key_types = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                 "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256"]

    def native(port: int) -> object:
        deadline = time.monotonic() + 5.0
        sock, _, _ = connect(host, port, 5.0)
        try:
            sock.settimeout(deadline - time.monotonic())
            first = sock.recv(256, socket.MSG_PEEK)
            assert first.startswith(b"SSH-"), first
            found = exchange(sock, host, port, deadline,
                             known.preferred_algorithms(host, port, key_types), timeout=5.0)
            return known.check(host, port, found.host_key)
        finally:
            sock.close()

    def failing(run: Callable[[int], object], port: int) -> Callable[[], object]:
        def call() -> object:
            try:
                run(port)
            except TransportError as exc:
                return exc
            raise AssertionError("the banner server never finishes a key exchange")
        return call

    def verified(run: Callable[[int], object], port: int) -> Callable[[], object]:
        def call() -> object:
            out = run(port)
            verdict = getattr(out, "host_key", out)
            assert verdict.status == "known", verdict
            return out
        return call

    def paramiko_probe(port: int) -> object:
        # handshake() is paramiko's whatever probe() uses: the comparison stays one
        transport, info = handshake(host, port, known, 5.0, key_check=False)
        transport.close()
        return info

    return {"banner/paramiko": failing(paramiko_probe, ports["ssh-banner"]),
            "banner/native": failing(native, ports["ssh-banner"]),
            "kex/paramiko": verified(paramiko_probe, ports["ssh-kex"]),
            "kex/native": verified(native, ports["ssh-kex"])}


def main() -> None:
    """bench_probes' main (its servers, warm-up and measurement) with these probes."""
    bench_probes._probes = _probes
    bench_probes.main()


if __name__ == "__main__":
    main()
