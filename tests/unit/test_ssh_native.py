"""The probe's own SSH key exchange (agent/io/transports/ssh_native.py) against real peers on
127.0.0.1: paramiko's server mode (every host key type and kex method we implement, and one
we do not), OpenSSH's sshd, and hand-made servers that hang up, stay silent, disconnect,
reset, flood or forge the host key's signature.

The host key, banner and cipher found are compared with what paramiko's own client gets
from the same server: the native exchange must be a drop-in for the probe.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accessready.agent.demo.simulators.ssh import SshSimulator
from accessready.agent.io.transports.base import TransportError
from accessready.agent.io.transports.ssh_native import Native, Unsupported, exchange
from accessready.checks.protocols import sshkex

BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"
ALL_KEY_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                 "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256"]
EVIDENCE = {"host": "127.0.0.1", "first_bytes": "SSH-2.0-"}


def _ed25519_key(folder: Path) -> paramiko.PKey:
    # paramiko cannot generate Ed25519 keys; it reads the OpenSSH format cryptography writes
    path = folder / "ed25519"
    path.write_bytes(ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption()))
    return paramiko.Ed25519Key(filename=str(path))


def _connect(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=5)
    sock.recv(8, socket.MSG_PEEK)  # as the probe does before it hands the socket over
    return sock


def native(host: str, port: int, timeout: float = 5.0,
           key_types: list[str] | None = None) -> Native:
    """One native exchange on a new connection, as the probe runs it."""
    with _connect(host, port) as sock:
        return exchange(sock, host, port, time.monotonic() + timeout,
                        key_types or list(ALL_KEY_TYPES), evidence=EVIDENCE, timeout=timeout)


def failure(host: str, port: int, timeout: float = 5.0,
            key_types: list[str] | None = None) -> TransportError:
    with pytest.raises(TransportError) as info:
        native(host, port, timeout, key_types)
    return info.value


def paramiko_view(host: str, port: int, key_types: list[str] | None = None) -> tuple[
        bytes, str, str]:
    """Host key blob, remote version and remote cipher as paramiko's client sees them."""
    transport = paramiko.Transport(socket.create_connection((host, port), timeout=5))
    try:
        if key_types:
            transport.get_security_options().key_types = key_types
        transport.start_client(timeout=5)
        return (transport.get_remote_server_key().asbytes(), transport.remote_version,
                transport.remote_cipher)
    finally:
        transport.close()


@contextlib.contextmanager
def paramiko_server(keys: list[paramiko.PKey], kex: tuple[str, ...] | None = None,
                    ciphers: tuple[str, ...] | None = None) -> Iterator[tuple[str, int]]:
    """A paramiko server that runs the key exchange with every client, its algorithms
    optionally restricted (SshSimulator does not expose them)."""
    listener = socket.create_server(("127.0.0.1", 0))
    transports: list[paramiko.Transport] = []

    def session(conn: socket.socket) -> None:
        transport = paramiko.Transport(conn)
        transports.append(transport)
        for key in keys:
            transport.add_server_key(key)
        options = transport.get_security_options()
        if kex:
            options.kex = kex
        if ciphers:
            options.ciphers = ciphers
        with contextlib.suppress(Exception):  # clients leave after the kex: normal
            transport.start_server(server=paramiko.ServerInterface())

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=session, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[:2]
    finally:
        _stop(listener)
        for transport in transports:
            transport.close()
        thread.join(5)


@contextlib.contextmanager
def scripted(script: Callable[[socket.socket], None]) -> Iterator[tuple[str, int]]:
    """A server that runs ``script`` on each connection (bounded: 10 s per connection)."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                with contextlib.suppress(OSError):
                    script(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[:2]
    finally:
        _stop(listener)
        thread.join(15)


def _stop(listener: socket.socket) -> None:
    """Close a listening socket; shutdown first, or a thread blocked in accept() stays."""
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)
    listener.close()


# --- real paramiko servers: every host key type, every kex method --------------------------

@pytest.fixture(scope="module")
def host_keys(tmp_path_factory) -> dict[str, paramiko.PKey]:
    folder = tmp_path_factory.mktemp("keys")
    return {"ssh-ed25519": _ed25519_key(folder),
            "ecdsa-sha2-nistp256": paramiko.ECDSAKey.generate(bits=256),
            "ecdsa-sha2-nistp384": paramiko.ECDSAKey.generate(bits=384),
            "ecdsa-sha2-nistp521": paramiko.ECDSAKey.generate(bits=521),
            "ssh-rsa": paramiko.RSAKey.generate(2048)}


@pytest.mark.parametrize("key_type", ["ssh-ed25519", "ecdsa-sha2-nistp256",
                                      "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"])
def test_the_host_key_banner_and_cipher_are_the_ones_paramiko_gets(host_keys,
                                                                   key_type: str) -> None:
    key = host_keys[key_type]
    sim = SshSimulator({}, host_key=key).start()
    try:
        found = native(sim.host, sim.port)
        blob, version, cipher = paramiko_view(sim.host, sim.port, list(ALL_KEY_TYPES))
    finally:
        sim.stop()
    assert found.host_key.get_name() == key.get_name() == key_type
    assert found.host_key.asbytes() == blob == key.asbytes()
    assert found.host_key.get_base64() == key.get_base64()
    assert found.banner == version == "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"
    assert found.cipher == cipher == "aes128-ctr"


def test_the_callers_host_key_order_decides_which_key_is_proved(host_keys) -> None:
    """known_hosts puts known key types first: the key proved is the one it will check."""
    sim = SshSimulator({}, host_key=host_keys["ssh-ed25519"],
                       extra_host_keys=(host_keys["ssh-rsa"],
                                        host_keys["ecdsa-sha2-nistp384"])).start()
    try:
        for order in (["rsa-sha2-256", "ssh-ed25519"], ["ecdsa-sha2-nistp384", "rsa-sha2-256"],
                      ["ssh-ed25519", "rsa-sha2-512"]):
            found = native(sim.host, sim.port, key_types=order)
            blob = paramiko_view(sim.host, sim.port, order)[0]
            assert found.host_key.asbytes() == blob
            assert found.host_key.get_name() == sshkex.HOST_KEY_TYPES[order[0]]
    finally:
        sim.stop()


@pytest.mark.parametrize("kex", ["curve25519-sha256@libssh.org", "ecdh-sha2-nistp256",
                                 "ecdh-sha2-nistp384", "ecdh-sha2-nistp521"])
def test_every_kex_method_paramiko_serves(host_keys, kex: str) -> None:
    with paramiko_server([host_keys["ssh-ed25519"]], kex=(kex,)) as (host, port):
        found = native(host, port)
    assert found.kex == kex
    assert found.host_key.asbytes() == host_keys["ssh-ed25519"].asbytes()


def test_the_cipher_is_negotiated_as_paramiko_does(host_keys) -> None:
    ciphers = ("aes256-gcm@openssh.com", "aes256-cbc", "aes192-ctr")
    with paramiko_server([host_keys["ssh-rsa"]], ciphers=ciphers) as (host, port):
        found = native(host, port)
        assert found.cipher == paramiko_view(host, port)[2] == "aes192-ctr"


def test_a_kex_we_do_not_implement_is_unsupported(host_keys) -> None:
    with paramiko_server([host_keys["ssh-ed25519"]], kex=("diffie-hellman-group14-sha256",)) \
            as (host, port), pytest.raises(Unsupported):
        native(host, port)


def _offering(**lists: tuple[str, ...]) -> Callable[[socket.socket], None]:
    """A server whose KEXINIT offers ``lists`` (KexInit field names) and says no more."""
    fields = {"kex": ("curve25519-sha256",), "host_key": ("ssh-ed25519",),
              "cipher_c2s": ("aes128-ctr",), "cipher_s2c": ("aes128-ctr",),
              "mac_c2s": ("hmac-sha2-256",), "mac_s2c": ("hmac-sha2-256",),
              "compression_c2s": ("none",), "compression_s2c": ("none",), **lists}

    def script(conn: socket.socket) -> None:
        conn.sendall(BANNER + sshkex.frame(sshkex.KexInit(bytes(16), **fields).build()))
        conn.recv(4096)
        conn.settimeout(2)
        with contextlib.suppress(OSError):  # until the client leaves (or a bound)
            while conn.recv(4096):
                pass
    return script


def test_a_host_key_algorithm_we_cannot_verify_is_unsupported() -> None:
    """The caller allows a type only paramiko verifies (here ssh-dss): fall back."""
    with scripted(_offering(host_key=("ssh-dss", "ssh-ed448"))) as (host, port), \
            pytest.raises(Unsupported, match="ssh-dss, ssh-ed448"):
        native(host, port, key_types=["ssh-ed25519", "ssh-dss"])


@pytest.mark.parametrize("lists", [{"mac_s2c": ("hmac-md5",)},
                                   {"kex": ("sntrup761x25519-sha512@openssh.com",)}])
def test_what_paramiko_may_know_and_we_do_not_is_unsupported(lists: dict) -> None:
    with scripted(_offering(**lists)) as (host, port), pytest.raises(Unsupported):
        native(host, port)


@pytest.mark.parametrize(("lists", "what"), [
    ({"cipher_s2c": ("chacha20-poly1305@openssh.com",)}, "ciphers"),
    ({"compression_c2s": ("zlib",)}, "compression")])
def test_what_paramiko_cannot_do_either_shares_no_algorithms(lists: dict, what: str) -> None:
    """Our cipher and compression lists are paramiko's: falling back would not help."""
    with scripted(_offering(**lists)) as (host, port):
        error = failure(host, port)
    assert error.kind == "protocol"
    assert str(error) == (f"{host}:{port} and this client share no SSH algorithms: no "
                          f"{what} in common (the server offers {lists.popitem()[1][0]})")


def test_an_aead_cipher_needs_no_mac_in_common() -> None:
    """AES-GCM carries its own integrity: a server without our MACs is fine then (the
    exchange goes on to wait for the ECDH reply this server never sends)."""
    with scripted(_offering(cipher_c2s=("aes256-gcm@openssh.com",),
                            cipher_s2c=("aes256-gcm@openssh.com",),
                            mac_c2s=("umac-128@openssh.com",),
                            mac_s2c=("umac-128@openssh.com",))) as (host, port):
        error = failure(host, port, timeout=0.3)
    assert error.kind == "silent"


def test_a_servers_long_algorithm_list_is_bounded_in_the_message() -> None:
    names = tuple(f"x{i:04d}-cipher@example.org" for i in range(500))
    with scripted(_offering(cipher_c2s=names)) as (host, port):
        error = failure(host, port)
    assert len(str(error)) < 450 and str(error).endswith("…)")


def test_no_host_key_algorithm_in_common_is_for_the_library_to_meet(host_keys) -> None:
    # The caller's list is its SSH library's: the library negotiates (and words) that case
    # itself, on both paths alike; an algorithm we do not verify is the library's too.
    with paramiko_server([host_keys["ssh-rsa"]]) as (host, port), pytest.raises(Unsupported):
        native(host, port, key_types=["ssh-ed25519"])
    with scripted(_offering(host_key=("ssh-rsa", "ssh-ed25519"))) as (host, port), \
            pytest.raises(Unsupported):
        native(host, port, key_types=["ssh-dss", "ssh-rsa", "ssh-ed25519"])


# --- hand-made peers -----------------------------------------------------------------------

def _banner_then_close(conn: socket.socket) -> None:
    """As bench_scale's SSH servers: the banner, then it hangs up at the key exchange."""
    conn.sendall(BANNER)
    conn.recv(4096)


def test_a_server_that_hangs_up_at_the_key_exchange_closed_the_connection() -> None:
    with scripted(_banner_then_close) as (host, port):
        error = failure(host, port)
    assert error.kind == "protocol"
    assert str(error) == f"{host}:{port} closed the connection during the key exchange"
    assert error.details == {**EVIDENCE, "stage": "kex", "exception": "EOFError"}


def _reset_after_banner(conn: socket.socket) -> None:
    conn.sendall(BANNER)
    conn.recv(4096)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_a_reset_is_a_closed_connection() -> None:
    with scripted(_reset_after_banner) as (host, port):
        error = failure(host, port)
    assert (error.kind, error.details["exception"]) == ("protocol", "EOFError")


def _server_kexinit() -> bytes:
    return sshkex.frame(sshkex.KexInit(
        bytes(16), ("curve25519-sha256",), ("ssh-ed25519",), ("aes128-ctr",),
        ("aes128-ctr",), ("hmac-sha2-256",), ("hmac-sha2-256",), ("none",),
        ("none",)).build())


def _silent_after(first: bytes) -> Callable[[socket.socket], None]:
    def script(conn: socket.socket) -> None:
        conn.sendall(first)
        conn.settimeout(5)
        while conn.recv(4096):  # read all, answer nothing, until the client leaves
            pass
    return script


@pytest.mark.parametrize("first", [BANNER, BANNER + _server_kexinit(), b"SSH-2.0-Open"],
                         ids=["after-banner", "after-kexinit", "mid-banner"])
def test_a_server_silent_mid_exchange_is_silent_at_the_deadline(first: bytes) -> None:
    with scripted(_silent_after(first)) as (host, port):
        error = failure(host, port, timeout=0.4)
    assert error.kind == "silent"
    assert str(error) == f"the key exchange with {host}:{port} did not finish within 0.4 s"
    assert error.details == {**EVIDENCE, "stage": "kex"}


def _disconnect_instead_of_kexinit(conn: socket.socket) -> None:
    conn.sendall(BANNER + sshkex.frame(sshkex.Disconnect(2, "Too many sessions").build()))
    conn.recv(4096)


def test_a_disconnect_is_a_closed_connection_with_its_reason() -> None:
    with scripted(_disconnect_instead_of_kexinit) as (host, port):
        error = failure(host, port)
    assert error.kind == "protocol"
    assert str(error) == f"{host}:{port} closed the connection during the key exchange"
    assert error.details["disconnect_reason"] == 2
    assert error.details["disconnect_description"] == "Too many sessions"


def _greeting_then(payload: bytes) -> Callable[[socket.socket], None]:
    def script(conn: socket.socket) -> None:
        conn.sendall(payload)
        conn.recv(4096)
    return script


@pytest.mark.parametrize(("sent", "said"), [
    (BANNER + struct.pack(">IB", 1_000_000_000, 4), "announced a packet of 1000000000"),
    (BANNER + sshkex.frame(sshkex.ecdh_init(b"x")), "expected KEXINIT"),
    (BANNER + sshkex.frame(b"\x02" + sshkex.string(b"")) * 70, "IGNORE/DEBUG"),
    (b"SSH-1.5-Old\r\n", "protocol 1.5"),
    (b"SSH-2.0-" + b"A" * 400, "longer than 255"),
])
def test_malformed_answers_are_protocol_failures(sent: bytes, said: str) -> None:
    with scripted(_greeting_then(sent)) as (host, port):
        error = failure(host, port)
    assert error.kind == "protocol"
    assert str(error).startswith(f"the SSH key exchange with {host}:{port} failed: ")
    assert said in str(error)
    assert error.details == {**EVIDENCE, "stage": "kex"}


def test_ignore_and_debug_before_kexinit_are_skipped(host_keys) -> None:
    """A relay that adds IGNORE and DEBUG messages before the server's KEXINIT."""
    chatter = [b"\x02" + sshkex.string(b"pad"),
               b"\x04\x00" + sshkex.string(b"hello") + sshkex.string(b"")]
    with paramiko_server([host_keys["ssh-ed25519"]]) as (host, port), \
            _relay(host, port, lambda payload: [*chatter, payload]
                   if payload[0] == sshkex.MSG_KEXINIT else [payload]) as (rhost, rport):
        found = native(rhost, rport)
    assert found.host_key.asbytes() == host_keys["ssh-ed25519"].asbytes()


@contextlib.contextmanager
def _relay(host: str, port: int, rewrite: Callable[[bytes], list[bytes]]) -> Iterator[
        tuple[str, int]]:
    """A man in the middle: client bytes go through unchanged; the server's unencrypted
    packets are parsed and each replaced by the payloads ``rewrite`` returns. One
    connection."""
    listener = socket.create_server(("127.0.0.1", 0))

    def pump_up(client: socket.socket, server: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(4096):
                server.sendall(data)

    def run() -> None:
        with contextlib.suppress(OSError):
            client, _ = listener.accept()
            with client, socket.create_connection((host, port), timeout=10) as server:
                client.settimeout(10)
                threading.Thread(target=pump_up, args=(client, server), daemon=True).start()
                buffer = bytearray()
                while (ident := sshkex.identification(bytes(buffer))) is None:
                    buffer += server.recv(4096)
                client.sendall(bytes(buffer[:ident.consumed]))
                del buffer[:ident.consumed]
                for _ in range(10):  # KEXINIT, ECDH_REPLY, NEWKEYS and a little more
                    while (found := sshkex.unframe(buffer)) is None:
                        chunk = server.recv(4096)
                        if not chunk:
                            return
                        buffer += chunk
                    payload, used = found
                    del buffer[:used]
                    client.sendall(b"".join(map(sshkex.frame, rewrite(payload))))
                    if payload[0] == sshkex.MSG_NEWKEYS:
                        return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[:2]
    finally:
        _stop(listener)
        thread.join(15)


def _flip_signature(payload: bytes) -> list[bytes]:
    if payload[0] != sshkex.MSG_KEX_ECDH_REPLY:
        return [payload]
    reply = sshkex.parse_ecdh_reply(payload)
    signature = bytearray(reply.signature)
    signature[-1] ^= 0x01
    return [sshkex.EcdhReply(reply.host_key, reply.q_s, bytes(signature)).build()]


@pytest.mark.parametrize("key_type", ["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"])
def test_a_forged_signature_is_a_protocol_failure(host_keys, key_type: str) -> None:
    with paramiko_server([host_keys[key_type]]) as (host, port), \
            _relay(host, port, _flip_signature) as (rhost, rport):
        error = failure(rhost, rport)
    assert error.kind == "protocol"
    assert str(error).startswith(f"the SSH key exchange with {rhost}:{rport} failed: ")
    assert "does not verify" in str(error)


def test_a_relay_that_changes_nothing_passes() -> None:
    """The forged-signature test's relay is faithful when it rewrites nothing."""
    key = paramiko.ECDSAKey.generate(bits=256)
    with paramiko_server([key]) as (host, port), \
            _relay(host, port, lambda payload: [payload]) as (rhost, rport):
        assert native(rhost, rport).host_key.asbytes() == key.asbytes()


# --- every I/O takes its timeout from the deadline at that moment --------------------------

class _Recording:
    """A socket that records when each timeout was set, and to what."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.timeouts: list[tuple[float, float, float]] = []
        self._last = time.monotonic()

    def settimeout(self, value: float) -> None:
        now = time.monotonic()
        self.timeouts.append((self._last, value, now))
        self._sock.settimeout(value)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._sock, name)
        if callable(attribute):
            def call(*args: Any, **kwargs: Any) -> Any:
                try:
                    return attribute(*args, **kwargs)
                finally:
                    self._last = time.monotonic()
            return call
        return attribute


def test_each_io_waits_only_for_what_is_left_of_the_deadline(host_keys) -> None:
    with paramiko_server([host_keys["ssh-ed25519"]]) as (host, port), \
            _connect(host, port) as sock:
        recording = _Recording(sock)
        deadline = time.monotonic() + 5.0
        exchange(recording, host, port, deadline, ALL_KEY_TYPES)  # type: ignore[arg-type]
    assert len(recording.timeouts) >= 4  # banner, send, KEXINIT, ECDH reply, goodbye
    for previous_io_ended, value, set_at in recording.timeouts:
        # computed after the previous I/O ended and before it was set: deadline - then
        assert previous_io_ended <= deadline - value <= set_at


# --- OpenSSH's sshd ------------------------------------------------------------------------

SSHD = Path("/usr/sbin/sshd")
_SSHD_KEYS: dict[str, tuple[bytes, bytes]] = {}


@contextlib.contextmanager
def sshd(kex: str | None = None) -> Iterator[tuple[str, int, Path]]:
    """sshd on a free loopback port with its own config and host keys in a folder of its
    own. As root it runs as nobody: without root it needs no privilege separation
    directory (/run/sshd), so nothing outside the folder is touched."""
    with tempfile.TemporaryDirectory(prefix="accessready-sshd-") as tmp, \
            _sshd(Path(tmp), kex) as (host, port):
        yield host, port, Path(tmp)


@contextlib.contextmanager
def _sshd(folder: Path, kex: str | None) -> Iterator[tuple[str, int]]:
    for kind in ("ed25519", "rsa", "ecdsa"):
        if kind not in _SSHD_KEYS:  # made once per test session: RSA takes a while
            with tempfile.TemporaryDirectory() as tmp:
                subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f",
                                f"{tmp}/key"], check=True, timeout=60)
                _SSHD_KEYS[kind] = (Path(tmp, "key").read_bytes(),
                                    Path(tmp, "key.pub").read_bytes())
        private, public = _SSHD_KEYS[kind]
        (folder / kind).write_bytes(private)
        (folder / kind).chmod(0o600)
        (folder / f"{kind}.pub").write_bytes(public)
    config = folder / "sshd_config"
    config.write_text("ListenAddress 127.0.0.1\nStrictModes no\nUsePAM no\nPidFile none\n"
                      "LogLevel VERBOSE\n" + (f"KexAlgorithms {kex}\n" if kex else ""))
    with socket.create_server(("127.0.0.1", 0)) as probe_port:
        port = probe_port.getsockname()[1]
    user: dict[str, Any] = {}
    if os.geteuid() == 0:
        user = {"user": "nobody"}
        shutil.chown(folder, "nobody")
        for path in folder.iterdir():
            shutil.chown(path, "nobody")
    log = open(folder / "sshd.log", "wb")  # noqa: SIM115 (closed below, after the process)
    process = subprocess.Popen(
        [str(SSHD), "-f", str(config), "-D", "-e", "-p", str(port),
         "-h", str(folder / "ed25519"), "-h", str(folder / "rsa"), "-h", str(folder / "ecdsa")],
        stdout=log, stderr=subprocess.STDOUT, **user)
    try:
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert process.poll() is None, (folder / "sshd.log").read_text()
            time.sleep(0.05)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def _public_blob(folder: Path, kind: str) -> bytes:
    import base64

    return base64.b64decode((folder / f"{kind}.pub").read_text().split()[1])


def test_sshd_is_installed() -> None:
    """CI installs openssh-server (scripts/test-all); without it the tests below fail."""
    assert SSHD.exists(), "install openssh-server: the native exchange is tested against sshd"


@pytest.mark.parametrize("kex", ["curve25519-sha256", "curve25519-sha256@libssh.org",
                                 "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
                                 "ecdh-sha2-nistp521"])
def test_against_openssh_every_kex(kex: str) -> None:
    with sshd(kex) as (host, port, folder):
        found = native(host, port)
        assert found.kex == kex
        assert found.banner.startswith("SSH-2.0-OpenSSH_")
        assert found.host_key.asbytes() == _public_blob(folder, "ed25519")
        for _ in range(100):  # sshd logs our goodbye once it has read it
            if "Received disconnect" in (folder / "sshd.log").read_text():
                break
            time.sleep(0.05)
        assert "Received disconnect" in (folder / "sshd.log").read_text()
        assert "probe finished" in (folder / "sshd.log").read_text()


def test_against_openssh_every_host_key_as_paramiko_sees_it() -> None:
    with sshd() as (host, port, folder):
        for order, kind in ((["rsa-sha2-512"], "rsa"), (["rsa-sha2-256"], "rsa"),
                            (["ecdsa-sha2-nistp256", "ssh-ed25519"], "ecdsa"),
                            (["ssh-ed25519"], "ed25519")):
            found = native(host, port, key_types=order)
            blob, version, cipher = paramiko_view(host, port, order)
            assert found.host_key.asbytes() == blob == _public_blob(folder, kind)
            assert (found.banner, found.cipher) == (version, cipher)


def test_against_openssh_a_dh_only_server_is_unsupported() -> None:
    with sshd("diffie-hellman-group14-sha256") as (host, port, _), \
            pytest.raises(Unsupported):
        native(host, port)


def test_a_library_without_the_negotiated_curve_falls_back(host_keys, monkeypatch) -> None:
    def missing(kex: str) -> None:
        raise sshkex.NotAvailable(f"{kex}: not supported by this OpenSSL")

    monkeypatch.setattr(sshkex.Agreement, "__init__", lambda self, kex: missing(kex))
    with paramiko_server([host_keys["ssh-ed25519"]]) as (host, port), \
            pytest.raises(Unsupported, match="curve25519"):
        native(host, port)


def _trickle(conn: socket.socket) -> None:
    for byte in b"greeting\r\n" + BANNER:
        conn.sendall(bytes([byte]))
    conn.recv(4096)


def test_a_banner_sent_byte_by_byte_is_read(host_keys) -> None:
    with scripted(_trickle) as (host, port):
        error = failure(host, port)
    assert (error.kind, error.details["exception"]) == ("protocol", "EOFError")


# --- a server of our own making: what paramiko and sshd never send -------------------------

def _read_packets(conn: socket.socket, buffer: bytearray, count: int) -> list[bytes]:
    found: list[bytes] = []
    while len(found) < count:
        while (packet := sshkex.unframe(buffer)) is None:
            chunk = conn.recv(4096)
            if not chunk:
                raise OSError("client left")
            buffer += chunk
        found.append(packet[0])
        del buffer[:packet[1]]
    return found


def _signing_server(key: ed25519.Ed25519PrivateKey, *, guess: bytes | None = None,
                    blob: bytes | None = None) -> Callable[[socket.socket], None]:
    """An Ed25519 server that completes curve25519-sha256 itself. With ``guess`` it
    claims first_kex_packet_follows, guesses wrong (nistp256 first) and sends ``guess``;
    ``blob`` replaces the host key it presents."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    k_s = blob or sshkex.string(b"ssh-ed25519") + sshkex.string(raw)

    def script(conn: socket.socket) -> None:
        from cryptography.hazmat.primitives.asymmetric import x25519

        kex = ("ecdh-sha2-nistp256", "curve25519-sha256") if guess else ("curve25519-sha256",)
        i_s = sshkex.KexInit(os.urandom(16), kex, ("ssh-ed25519",), ("aes128-ctr",),
                             ("aes128-ctr",), ("hmac-sha2-256",), ("hmac-sha2-256",),
                             ("none",), ("none",), first_kex_follows=bool(guess)).build()
        conn.sendall(BANNER + sshkex.frame(i_s) + (sshkex.frame(guess) if guess else b""))
        reader = sshkex.IdentificationReader()
        while (client := reader.feed(conn.recv(4096))) is None:
            pass
        i_c, init = _read_packets(conn, reader.buffer, 2)
        q_c = sshkex.Reader(init[1:], "init").string()
        ours = x25519.X25519PrivateKey.generate()
        q_s = ours.public_key().public_bytes(serialization.Encoding.Raw,
                                             serialization.PublicFormat.Raw)
        k = int.from_bytes(ours.exchange(x25519.X25519PublicKey.from_public_bytes(q_c)), "big")
        h = sshkex.exchange_hash("curve25519-sha256", client.line, BANNER.rstrip(), i_c, i_s,
                                 k_s, q_c, q_s, k)
        signature = sshkex.string(b"ssh-ed25519") + sshkex.string(key.sign(h))
        conn.sendall(sshkex.frame(sshkex.EcdhReply(k_s, q_s, signature).build()))
        _read_packets(conn, reader.buffer, 1)  # the client's DISCONNECT
    return script


def test_a_server_of_our_own_making_completes() -> None:
    """The server below is faithful: without tricks the exchange completes."""
    key = ed25519.Ed25519PrivateKey.generate()
    with scripted(_signing_server(key)) as (host, port):
        found = native(host, port)
    assert found.kex == "curve25519-sha256"
    assert found.host_key.asbytes()[-32:] == key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_a_wrongly_guessed_kex_packet_is_ignored() -> None:
    """RFC 4253 §7: first_kex_packet_follows with a wrong guess: the next packet is
    dropped, here one that would not parse as the ECDH reply."""
    with scripted(_signing_server(ed25519.Ed25519PrivateKey.generate(),
                                  guess=b"\x1f" + b"junk")) as (host, port):
        assert native(host, port).kex == "curve25519-sha256"


def test_a_host_key_of_another_type_than_negotiated_is_refused() -> None:
    rsa_blob = paramiko.RSAKey.generate(2048).asbytes()
    with scripted(_signing_server(ed25519.Ed25519PrivateKey.generate(), blob=rsa_blob)) \
            as (host, port):
        error = failure(host, port)
    assert error.kind == "protocol" and "not a key for 'ssh-ed25519'" in str(error)


# --- any bytes from the server: a TransportError or Unsupported, never anything else ------

_PACKETS = st.one_of(
    st.binary(max_size=300),
    st.binary(min_size=1, max_size=300).map(sshkex.frame),
    st.builds(lambda kexinit, tail: sshkex.frame(kexinit) + tail,
              st.just(sshkex.KexInit(bytes(16), ("curve25519-sha256",), ("ssh-ed25519",),
                                     ("aes128-ctr",), ("aes128-ctr",), ("hmac-sha2-256",),
                                     ("hmac-sha2-256",), ("none",), ("none",)).build()),
              st.binary(min_size=1, max_size=300).map(sshkex.frame)))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(after_banner=_PACKETS)
def test_whatever_the_server_sends_the_outcome_is_classified(after_banner: bytes) -> None:
    def script(conn: socket.socket) -> None:
        conn.sendall(BANNER + after_banner)
        conn.recv(4096)
        conn.recv(4096)  # an ECDH_INIT may come; then hang up

    # a short deadline: a half-sent packet ends as "silent"
    with scripted(script) as (host, port), contextlib.suppress(TransportError, Unsupported):
        native(host, port, timeout=0.2)


# --- probe(): the native exchange, and paramiko's behind it ---------------------------------

def test_probe_falls_back_to_paramiko_and_says_so(tmp_path) -> None:
    # A server offering only a host key algorithm the native exchange does not verify
    # (SHA-1 ssh-rsa, which paramiko 5 does not speak either): the probe's words are
    # paramiko's, and its evidence tells of the second connection.
    from accessready.agent.io.transports.ssh import KnownHosts, probe

    known = KnownHosts(tmp_path / "known_hosts", system_path=None)
    with scripted(_offering(host_key=("ssh-rsa",))) as (host, port), \
            pytest.raises(TransportError) as caught:
        probe(host, port, known, 3.0)
    error = caught.value
    assert error.kind == "protocol" and "share no SSH algorithms" in str(error)
    assert "second connection" in error.details["note"]
    assert "ssh-rsa" in error.details["note"]


def test_the_fallback_keeps_the_probes_deadline_and_timeout(tmp_path) -> None:
    # The second connection gets what is left of the one deadline, not a new one, and
    # its silence is told in the probe's timeout (2.0 s), not in the time that was left.
    from accessready.agent.io.transports.ssh import KnownHosts, probe

    connections: list[int] = []
    unsupported = _offering(host_key=("ssh-rsa",))

    def script(conn: socket.socket) -> None:
        connections.append(1)
        if len(connections) == 1:
            unsupported(conn)
            return
        conn.sendall(BANNER)  # then silence, until the client gives up
        conn.settimeout(5)
        with contextlib.suppress(OSError):
            while conn.recv(4096):
                pass

    known = KnownHosts(tmp_path / "known_hosts", system_path=None)
    with scripted(script) as (host, port), pytest.raises(TransportError) as caught:
        probe(host, port, known, 2.0)
    error = caught.value
    assert len(connections) == 2
    assert error.kind == "silent", str(error)
    assert str(error).endswith("did not finish within 2.0 s")
    assert "second connection" in error.details["note"]


def test_probe_with_known_hosts_holding_only_a_type_we_do_not_verify(tmp_path,
                                                                    host_keys) -> None:
    # known_hosts knows the host by a key type the native exchange cannot prove: the
    # library's preference decides, as on its own path (paramiko 5 offers no ssh-dss, so
    # it proves the ed25519 key, which known_hosts does not hold: never "known").
    from accessready.agent.io.transports.ssh import KnownHosts, probe

    with paramiko_server([host_keys["ssh-ed25519"]]) as (host, port):
        path = tmp_path / "known_hosts"
        path.write_text(f"[{host}]:{port} ssh-dss AAAAB3NzaC1kc3MAAACBAP8=\n")
        info = probe(host, port, KnownHosts(path, system_path=None), 5.0)
    assert info.host_key is not None and info.host_key.status == "unknown"
    assert list(info.host_key.other_types_known) == ["ssh-dss"]
