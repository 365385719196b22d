"""Every failure named: an exception from inside requests / pyspnego / pywinrm / paramiko
becomes a kind of the one table (``protocol``: "the server answered something
unexpected" when no rule names it), with the library's words sanitised and its class only
in the evidence — never ``StopIteration: `` or ``AttributeError: 'NoneType' object has no
attribute 'wrap'`` in a result.

The WinRM cases are real: unmodified pywinrm against a loopback server answering what no
WinRM listener would (each reply list was seen to raise the named exception inside the
library). The paramiko cases inject the exception, as no well-formed peer provokes one.
"""

from __future__ import annotations

import base64
import socket

import paramiko
import pytest

from accessready.agent.core.model import Status
from accessready.agent.demo.simulators.ssh import SshSimulator, SshUser
from accessready.agent.demo.simulators.stream import StreamServer, read_http_request
from accessready.agent.io.secrets import Secret
from accessready.agent.io.transports.base import SessionPool, TransportError
from accessready.agent.io.transports.ssh import KnownHosts, SshCredentials, login
from accessready.agent.io.transports.winrm import WinrmEndpoint, open_winrm
from accessready.checks import account

from .simhelpers import PASSWORD, USER, profile_from, run_profile

BARE = ("StopIteration", "AttributeError", "KeyError", "UnicodeDecodeError", "NoneType",
        "Traceback")


def reply(status: int, body: bytes = b"", headers: tuple[tuple[str, str], ...] = ()) -> bytes:
    head = [f"HTTP/1.1 {status} X", *(f"{k}: {v}" for k, v in headers),
            f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def scripted(replies: list[bytes]):
    """Answer the requests of one keep-alive connection with ``replies``, in order."""
    def handle(conn: socket.socket) -> None:
        for answer in replies:
            if read_http_request(conn) is None:
                return
            conn.sendall(answer)
    return handle


SOAP = (("Content-Type", "application/soap+xml;charset=UTF-8"),)
NEGOTIATE = (("WWW-Authenticate", "Negotiate"),)
CASES = {
    # pywinrm's open_shell: next() over an Envelope without a ShellId
    "StopIteration": ("basic", [reply(200, b"<a><b/></a>", SOAP)] * 3),
    # NTLM message encryption when the server never asked to authenticate
    "AttributeError": ("ntlm", [reply(200, b"hello", (("Content-Type", "text/plain"),))] * 3),
    # pyspnego on a challenge token that is no NTLM message
    "KeyError": ("ntlm", [reply(401, headers=NEGOTIATE), reply(401, headers=(
        ("WWW-Authenticate", "Negotiate " + base64.b64encode(b"garbage!" * 4).decode()),))]),
    # pywinrm decoding a binary 500 body as UTF-8
    "UnicodeDecodeError": ("ntlm", [reply(500, b"\x00\xff\xfe garbage")] * 3),
}


@pytest.mark.parametrize("exception", list(CASES))
def test_winrm_library_exceptions_become_an_unexpected_answer(exception):
    auth, replies = CASES[exception]
    with StreamServer(scripted(replies), conn_timeout=3) as server:
        endpoint = WinrmEndpoint("127.0.0.1", server.port, False, auth, USER,
                                 allow_insecure=True)
        with pytest.raises(TransportError) as info:
            open_winrm(endpoint, Secret(PASSWORD), 4.0)
    error = info.value
    assert error.kind == "protocol", str(error)
    assert error.details["exception"] == exception  # it was that library exception
    assert "answered something the client library could not use" in str(error)
    assert not any(word in str(error) for word in BARE), str(error)


def test_account_login_names_the_failure_in_both_languages(tmp_path, monkeypatch):
    monkeypatch.setenv("AR_TEST_PW", PASSWORD)
    _, replies = CASES["StopIteration"]
    with StreamServer(scripted(replies), conn_timeout=3) as server:
        profile = profile_from(f"""
[account]
username = 'EXEMPEL\\eventful-support'
password = {{ env = "AR_TEST_PW" }}
[[servers]]
name = "adfs01"
address = "127.0.0.1"
remote = ["winrm"]
[servers.winrm]
transport = "basic"
https = false
port = {server.port}
allow_insecure_credentials = true
""", tmp_path)
        [result] = run_profile(profile, [account.LoginCheck])
    # the login could not be decided: error, not a verdict about the account
    assert result.status is Status.ERROR
    # the one failure table's words for ``protocol``
    assert result.summary.en.startswith("Login over winrm not tried: The server answered "
                                        "something that is not the expected protocol.")
    assert result.summary.sv.startswith("Inloggning över winrm prövades inte: Servern "
                                        "svarade med något som inte är det väntade "
                                        "protokollet.")
    assert not any(word in result.summary.en + result.summary.sv for word in BARE)


@pytest.fixture(scope="module")
def ssh_sim():
    server = SshSimulator({"support": SshUser(PASSWORD)}).start()
    yield server
    server.stop()


@pytest.mark.parametrize("where,exception", [
    ("start_client", StopIteration()),
    ("auth_password", AttributeError("'NoneType' object has no attribute 'wrap'")),
    ("open_session", KeyError(7)),
])
def test_paramiko_exceptions_become_an_unexpected_answer(ssh_sim, tmp_path, monkeypatch,
                                                         where, exception):
    path = tmp_path / "known_hosts"
    path.write_text(ssh_sim.known_hosts_line())

    def broken(*args, **kwargs):
        raise exception

    monkeypatch.setattr(paramiko.Transport, where, broken)
    creds = SshCredentials("support", Secret(PASSWORD))
    with pytest.raises(TransportError) as info:
        session = login(ssh_sim.host, ssh_sim.port, KnownHosts(path), creds, 5)
        try:
            session.run(["id"], 5)
        finally:
            session.close()
    error = info.value
    assert error.kind == "protocol" and error.details["exception"] == type(exception).__name__
    assert not any(word in str(error) for word in BARE), str(error)
    if where == "auth_password":
        assert error.details["stage"] == "auth"  # remembered: no second login attempt


def test_session_pool_names_an_opener_surprise():
    class Server:
        name = "adfs01"

    calls = []

    def opener(server, method, timeout):
        calls.append(method)
        raise StopIteration

    pool = SessionPool(opener)
    for _ in range(2):
        with pytest.raises(TransportError) as info:
            pool.get(Server(), "winrm", 1.0)
        assert info.value.kind == "protocol" and "StopIteration" not in str(info.value)
    assert calls == ["winrm"]  # remembered: one attempt
