"""Unmodified pywinrm against the WS-Management simulator: the WinRM transport end to end.

Pins: HTTP Basic, HTTPS Basic verified with a test CA, NTLM over HTTP (messages sealed,
NTLMv2 verified server-side) and over HTTPS; one shell per session with code page 65001;
operation-timeout faults are retried while time remains and a command that never finishes
stops at the transport's own deadline, leaving the session usable; failures map to kinds.
"""

from __future__ import annotations

import time

import pytest
import winrm

from accessready.agent.core.powershell import PRELUDE
from accessready.agent.demo.simulators import ntlm, pki
from accessready.agent.demo.simulators.replay import decode_powershell, script_params
from accessready.agent.demo.simulators.wsman import SimUser, WsmanSimulator
from accessready.agent.io.secrets import Secret
from accessready.agent.io.transports.base import TransportError, powershell_json
from accessready.agent.io.transports.winrm import (
    WinrmEndpoint,
    classify_auth_text,
    clean_clixml,
    encode_powershell,
    open_winrm,
)

from .hostile import HostileServer
from .recordings import load_recordings
from .simhelpers import PASSWORD, USER, closed_port

USERS = {USER: SimUser(PASSWORD), "EXEMPEL\\locked": SimUser("L0cked#pw", state="locked"),
         "EXEMPEL\\noaccess": SimUser("N0access#pw", state="no_access")}


@pytest.fixture(scope="module")
def recordings():
    return load_recordings("win2019-adfs", "tests")


@pytest.fixture(scope="module")
def http_sim(recordings):
    sim = WsmanSimulator(USERS, recordings).start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    ca = pki.make_ca("WinRM test CA")
    cert, key = pki.issue(ca, ["adfs01.exempel.local", "127.0.0.1"])
    return pki.write_tls_files(tmp_path_factory.mktemp("tls"), "winrm", ca, cert, key)


@pytest.fixture(scope="module")
def https_sim(recordings, tls_files):
    sim = WsmanSimulator(USERS, recordings,
                         tls=(str(tls_files.cert_file), str(tls_files.key_file))).start()
    yield sim
    sim.stop()


def endpoint(sim, auth: str = "ntlm", user: str = USER, **kw) -> WinrmEndpoint:
    # These tests pin the protocol paths (Basic over HTTP among them); the fail-closed
    # policy for such endpoints has its own tests below, with the opt-in off.
    kw.setdefault("allow_insecure", True)
    return WinrmEndpoint(sim.host, sim.port, sim.https, auth, user, **kw)


def connect(sim, auth="ntlm", password=PASSWORD, timeout=5.0, **kw):
    return open_winrm(endpoint(sim, auth, **kw), Secret(password), timeout)


def ops(sim, since: int = 0) -> list[str]:
    return [entry["op"] for entry in sim.log[since:]]


# --- NTLM primitives ---------------------------------------------------------------------

def test_md4_and_rc4_known_answers() -> None:
    assert ntlm.md4(b"").hex() == "31d6cfe0d16ae931b73c59d7e0c089c0"
    assert ntlm.md4(b"abc").hex() == "a448017aaf21d8525fc10ae87aa6729d"
    assert ntlm.Rc4(b"Key").update(b"Plaintext").hex() == "bbf316e8d940af0ad3"


def test_ntowfv2_matches_ms_nlmp_example() -> None:
    # [MS-NLMP] 4.2.4.1.1: user "User", domain "Domain", password "Password".
    assert ntlm.ntowfv2("Password", "User", "Domain").hex() == \
        "0c868a403bfd7a93a3001ef22ef02e3f"


# --- authentication and encryption -------------------------------------------------------

def test_basic_over_http(http_sim) -> None:
    transport = connect(http_sim, "basic")
    try:
        data = powershell_json(transport, "# accessready:account.identity\n", 5)
    finally:
        transport.close()
    assert data["User"] == "EXEMPEL\\eventful-support"
    assert endpoint(http_sim, "basic").to_json()["warning"].startswith("Basic over HTTP")


def test_ntlm_over_http_seals_every_message(http_sim) -> None:
    start = len(http_sim.log)
    transport = connect(http_sim, "ntlm")
    try:
        assert transport.run(["whoami"], 5).stdout == "exempel\\eventful-support\r\n"
    finally:
        transport.close()
    auth = [e for e in http_sim.log[start:] if e["op"] == "auth"]
    assert auth and auth[0]["scheme"] == "ntlm"
    assert auth[0]["flags"] & ntlm.NEGOTIATE_SEAL
    assert "decrypt-failed" not in ops(http_sim, start)
    session = transport  # the transport asked pywinrm for message encryption over HTTP
    assert session.endpoint.url.startswith("http://")


def test_ntlm_and_basic_over_https_with_test_ca(https_sim, tls_files) -> None:
    for auth in ("ntlm", "basic"):
        transport = connect(https_sim, auth, ca_file=str(tls_files.ca_file))
        try:
            assert powershell_json(transport, "# accessready:test.unicode\n", 5)["Ort"] == "Växjö"
        finally:
            transport.close()


def test_https_without_the_ca_is_a_tls_failure(https_sim) -> None:
    with pytest.raises(TransportError) as info:
        connect(https_sim, "ntlm")
    assert info.value.kind == "tls"
    assert "ca_file" in str(info.value)


def test_https_with_verification_off(https_sim) -> None:
    transport = connect(https_sim, "basic", verify=False)
    transport.close()


@pytest.mark.parametrize("sim_name,auth,kw,risk", [
    ("https_sim", "ntlm", {"verify": False}, "unverified_tls"),
    ("https_sim", "basic", {"verify": False}, "unverified_tls"),
    ("http_sim", "basic", {}, "cleartext"),
    ("http_sim", "credssp", {}, "credssp_unverified"),
])
def test_unprotected_credentials_are_never_sent_without_the_opt_in(request, sim_name, auth,
                                                                   kw, risk) -> None:
    """Fail closed: with verify = false, Basic over HTTP or CredSSP over HTTP the server
    never sees a request (so no credential) unless the profile opts in."""
    sim = request.getfixturevalue(sim_name)
    start = len(sim.log)
    with pytest.raises(TransportError) as info:
        connect(sim, auth, allow_insecure=False, **kw)
    assert info.value.kind == "insecure"
    assert info.value.details["credential_risk"] == risk
    assert "allow_insecure_credentials" in str(info.value)
    assert sim.log[start:] == []


def test_ntlm_over_http_and_verified_https_need_no_opt_in(http_sim, https_sim,
                                                          tls_files) -> None:
    for sim, kw in ((http_sim, {}), (https_sim, {"ca_file": str(tls_files.ca_file)})):
        assert endpoint(sim, "ntlm", allow_insecure=False, **kw).credential_risk is None
        connect(sim, "ntlm", allow_insecure=False, **kw).close()
    cert = WinrmEndpoint("h", 5986, True, "certificate", "", verify=False)
    assert cert.credential_risk is None  # a client certificate sends no password


@pytest.mark.parametrize("auth", ["ntlm", "basic"])
@pytest.mark.parametrize("user,password", [(USER, "Wr0ng-Pass#1"),
                                           ("EXEMPEL\\nobody", "Nob0dy#pass"),
                                           ("EXEMPEL\\locked", "L0cked#pw")])
def test_wrong_password_unknown_user_and_locked_look_alike(http_sim, auth, user,
                                                           password) -> None:
    with pytest.raises(TransportError) as info:
        connect(http_sim, auth, password=password, user=user)
    assert info.value.kind == "auth_failed"
    assert "same 401" in str(info.value)
    assert password not in str(info.value) + repr(info.value.details)


def test_authenticated_but_not_allowed(http_sim) -> None:
    with pytest.raises(TransportError) as info:
        connect(http_sim, "ntlm", password="N0access#pw", user="EXEMPEL\\noaccess")
    assert info.value.kind == "access_denied"
    assert info.value.details["wsman_fault_code"] == 5


def test_ntstatus_and_kdc_texts_are_distinguished() -> None:
    assert classify_auth_text("SEC_E_... 0xC0000234")[0] == "account_locked"
    assert classify_auth_text("STATUS_PASSWORD_EXPIRED")[0] == "password_expired"
    assert classify_auth_text("NTSTATUS c0000072")[0] == "account_disabled"
    assert classify_auth_text("Client not found in Kerberos database")[0] == "unknown_user"
    assert classify_auth_text("nothing to see") is None


# --- shells, code page, deadlines ----------------------------------------------------------

def test_one_shell_with_utf8_code_page_is_reused_and_deleted(http_sim) -> None:
    start = len(http_sim.log)
    transport = connect(http_sim, "ntlm")
    for _ in range(3):
        powershell_json(transport, "# accessready:test.unicode\n", 5)
    transport.close()
    log = http_sim.log[start:]
    creates = [e for e in log if e["op"] == "create"]
    assert len(creates) == 1 and creates[0]["codepage"] == 65001
    assert ops(http_sim, start).count("command") == 3
    assert ops(http_sim, start)[-1] == "delete"
    commands = [e for e in log if e["op"] == "command"]
    assert all(e["skip_cmd_shell"] == "TRUE" for e in commands)


def test_unicode_survives(http_sim) -> None:
    transport = connect(http_sim, "basic")
    try:
        data = powershell_json(transport, "# accessready:test.unicode\n", 5)
    finally:
        transport.close()
    assert data == {"Name": "Åsa Öberg", "Ort": "Växjö", "Ärende": "lösenord"}


def test_parameters_are_data_not_code(http_sim) -> None:
    encoded = encode_powershell("# accessready:test.params\n", {"Name": "O'Brien; rm -r"})
    script, _ = decode_powershell("powershell.exe -EncodedCommand " + encoded)
    assert script.startswith(PRELUDE) and "\n$Name = 'O''Brien; rm -r'\n" in script
    assert script_params(script)["Name"] == "O'Brien; rm -r"
    transport = connect(http_sim, "basic")
    try:
        data = powershell_json(transport, "# accessready:test.params\n", 5, {"Name": "O'Brien"})
    finally:
        transport.close()
    assert data == {"Matched": "quote"}
    with pytest.raises(ValueError):
        encode_powershell("x", {"bad name": "v"})


def test_powershell_errors_are_plain_text(http_sim) -> None:
    transport = connect(http_sim, "basic")
    try:
        result = transport.run_powershell("# accessready:test.fail\n", 5)
        with pytest.raises(TransportError) as info:
            powershell_json(transport, "# accessready:test.fail\n", 5)
    finally:
        transport.close()
    assert result.exit_code == 1
    assert result.stderr.startswith("Get-Thing : Cannot find a thing named 'x'.")
    assert info.value.kind == "error"
    assert clean_clixml("plain") == "plain"


def test_operation_timeout_faults_are_retried_within_the_deadline(http_sim) -> None:
    start = len(http_sim.log)
    transport = connect(http_sim, "ntlm")
    try:
        # 3.2 s left: Receive asks the server to wait 1 s, the command needs 1.5 s
        data = powershell_json(transport, "# accessready:test.slow\n", 3.2)
    finally:
        transport.close()
    assert data == {"Done": True}
    assert "receive-timeout" in ops(http_sim, start)


# 2.2 s: one Receive (the simulator holds it 1 s), then less than RECEIVE_MIN_S left. The
# Receive's read timeout is the time left: 1.6 s allowed ~0.5 s of delay on our side before
# a socket timeout dropped the session (a second create)
@pytest.mark.parametrize("deadline", [2.2, 3.0])
def test_command_that_never_finishes_stops_at_the_deadline(http_sim, deadline) -> None:
    start = len(http_sim.log)
    transport = connect(http_sim, "ntlm")
    try:
        began = time.monotonic()
        with pytest.raises(TransportError) as info:
            transport.run_powershell("# accessready:test.hang\n", deadline)
        elapsed = time.monotonic() - began
        assert info.value.kind == "timeout"
        assert elapsed <= deadline + 0.5
        # the same session still works, and the abandoned command gets its Signal
        assert powershell_json(transport, "# accessready:test.unicode\n", 5)["Ort"] == "Växjö"
    finally:
        transport.close()
    log = ops(http_sim, start)
    assert log.count("create") == 1
    assert log.count("signal") == 2


def test_small_deadlines_still_work(http_sim) -> None:
    transport = connect(http_sim, "basic", timeout=1.0)
    try:
        # still below 2 s; a Receive needs RECEIVE_MIN_S (1.25 s) left, so 1.9 s gives
        # the command request 0.65 s on a busy machine (1.5 s gave it 0.25 s)
        assert transport.run(["whoami"], 1.9).exit_code == 0
    finally:
        transport.close()


def test_unknown_command_and_script(http_sim) -> None:
    transport = connect(http_sim, "basic")
    try:
        assert transport.run(["nosuch"], 5).exit_code == 1
        assert transport.run_powershell("# accessready:nosuch\n", 5).exit_code == 1
    finally:
        transport.close()


def test_refused_and_silent_ports() -> None:
    with pytest.raises(TransportError) as info:
        open_winrm(WinrmEndpoint("127.0.0.1", closed_port(), False, "ntlm", USER),
                   Secret(PASSWORD), 2)
    assert info.value.kind == "refused"
    silent = HostileServer("silent").start()
    try:
        began = time.monotonic()
        with pytest.raises(TransportError) as info:
            open_winrm(WinrmEndpoint("127.0.0.1", silent.port, False, "ntlm", USER),
                       Secret(PASSWORD), 1.5)
        # the silent peer would hold us for ever; the 2.5 s past the deadline is for load
        assert time.monotonic() - began < 4.0
    finally:
        silent.stop()
    assert info.value.kind == "timeout"


def test_plain_pywinrm_session_works_too(http_sim) -> None:
    session = winrm.Session(f"http://{http_sim.host}:{http_sim.port}/wsman",
                            auth=(USER, PASSWORD), transport="ntlm", ca_trust_path=None,
                            proxy=None)
    result = session.run_cmd("whoami")
    assert result.status_code == 0 and result.std_out == b"exempel\\eventful-support\r\n"


def test_identify_without_credentials(http_sim) -> None:
    import requests

    body = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            b'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">'
            b"<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>")
    reply = requests.post(f"http://{http_sim.host}:{http_sim.port}/wsman", data=body,
                          headers={"WSMANIDENTIFY": "unauthenticated",
                                   "Content-Type": "application/soap+xml;charset=UTF-8"},
                          timeout=5)
    assert reply.status_code == 200
    assert b"<wsmid:ProductVendor>Microsoft Corporation</wsmid:ProductVendor>" in reply.content
    challenge = requests.post(f"http://{http_sim.host}:{http_sim.port}/wsman", data=b"",
                              timeout=5)
    assert challenge.status_code == 401
    assert challenge.headers["WWW-Authenticate"] == 'Negotiate, Basic realm="WSMAN"'


@pytest.mark.parametrize("auth", ["credssp", "kerberos"])
def test_missing_optional_auth_libraries_are_named(http_sim, auth) -> None:
    from winrm import transport as winrm_transport

    available = {"credssp": winrm_transport.HAVE_CREDSSP,
                 "kerberos": winrm_transport.HAVE_KERBEROS}[auth]
    with pytest.raises(TransportError) as info:
        connect(http_sim, auth, timeout=3)
    # without the library: a clear "install this"; with it: the simulator offers neither
    expected = {"auth_failed", "protocol", "error"} if available else {"missing_dependency"}
    assert info.value.kind in expected, str(info.value)


def test_winrm_host_names_resolve_within_the_deadline(tmp_path, monkeypatch) -> None:
    """requests would resolve with no timeout: the transport looks the name up first."""
    from accessready.agent.io.transports.base import TransportError
    from accessready.agent.io.transports.winrm import WinrmEndpoint, open_winrm

    from .dnsfakes import dead_system_dns, system_dns

    endpoint = WinrmEndpoint(host="gone.test", port=5985, https=False, auth="basic",
                             username="support", allow_insecure=True)
    records = {("other.test.", "A"): ["127.0.0.1"]}
    with system_dns(records, tmp_path, monkeypatch), pytest.raises(TransportError) as missing:
        open_winrm(endpoint, None, 2.0)
    assert missing.value.kind == "dns"
    with dead_system_dns(tmp_path, monkeypatch), pytest.raises(TransportError) as dead:
        open_winrm(endpoint, None, 0.5)
    assert dead.value.kind == "resolver"
