"""Tests of the lab itself: every daemon answers from the client host as the lab promises,
the VPN tunnels route as split and full tunnels must, peers' tools see what we see, and
teardown (clean or after a crash) leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import paramiko
import pytest

from tests.lab import Lab
from tests.lab.core import Service
from tests.lab.daemons.openconnect import VpnSession
from tests.lab.fixtures import require_lab
from tests.lab.peers import Peers
from tests.lab.proc import list_netns, netns_pids, pid_matches
from tests.lab.run import accessready_importable, run_accessready
from tests.lab.state import RUNTIME_DIR, cleanup_leftovers

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
ZONE = "kund.example"


# -- helpers: everything below runs *inside* the client namespace -----------------------------


def tcp_outcome(lab: Lab, address: str, port: int, timeout: float = 2.0) -> str:
    """"open", "refused", "timeout" or the errno name, connecting from the client host."""

    def attempt() -> str:
        try:
            with socket.create_connection((address, port), timeout=timeout):
                return "open"
        except ConnectionRefusedError:
            return "refused"
        except TimeoutError:
            return "timeout"
        except OSError as exc:
            return errno.errorcode.get(exc.errno or 0, repr(exc))

    return lab.in_netns("client", attempt)


def tls_connect(
    lab: Lab, address: str, port: int, server_name: str, *, verify: bool = True
) -> dict[str, Any]:
    """TLS handshake from the client trusting the lab CA; returns the peer certificate
    (or the verification error)."""

    def attempt() -> dict[str, Any]:
        ctx = ssl.create_default_context(cafile=str(lab.ca_file))
        if not verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        try:
            with (
                socket.create_connection((address, port), timeout=5) as raw,
                ctx.wrap_socket(raw, server_hostname=server_name) as tls,
            ):
                return {"ok": True, "cert": tls.getpeercert(), "version": tls.version()}
        except ssl.SSLCertVerificationError as exc:
            return {"ok": False, "error": exc.verify_message, "code": exc.verify_code}

    return lab.in_netns("client", attempt)


def read_http_response(sock: socket.socket) -> bytes:
    """Read one HTTP/1.1 response (headers, then Content-Length bytes or until close)."""
    data = b""
    for _ in range(1000):
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = next(
                (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                 if line.lower().startswith(b"content-length:")),
                None,
            )
            if length is not None and len(body) >= length:
                return data
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    return data


def https_get(lab: Lab, address: str, path: str, server_name: str, port: int = 443) -> tuple:
    """GET over TLS (lab CA, SNI) from the client: (status, headers, body)."""

    def attempt() -> tuple:
        ctx = ssl.create_default_context(cafile=str(lab.ca_file))
        request = f"GET {path} HTTP/1.1\r\nHost: {server_name}\r\nConnection: close\r\n\r\n"
        with (
            socket.create_connection((address, port), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname=server_name) as tls,
        ):
            tls.sendall(request.encode())
            data = read_http_response(tls)
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = dict(line.split(": ", 1) for line in lines[1:])
        return status, headers, body

    return lab.in_netns("client", attempt)


def dns_query(lab: Lab, server: str, name: str, rdtype: str = "A") -> dns.message.Message:
    """One UDP DNS query from the client host."""
    query = dns.message.make_query(name, rdtype)
    return lab.in_netns("client", lambda: dns.query.udp(query, server, timeout=2))


def a_records(msg: dns.message.Message) -> list[str]:
    """The A addresses in an answer."""
    return sorted(
        item.address
        for rrset in msg.answer
        if rrset.rdtype == dns.rdatatype.A
        for item in rrset
    )


def ssh_client(lab: Lab, svc: Service, **auth: Any) -> paramiko.SSHClient:
    """A paramiko client connected from the client host, verifying the lab's known_hosts."""
    sock = lab.in_netns("client", lambda: socket.create_connection((svc.address, svc.port), 5))
    client = paramiko.SSHClient()
    client.load_host_keys(svc.extra["known_hosts"])
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        svc.address,
        svc.port,
        username=lab.support.username,
        sock=sock,
        allow_agent=False,
        look_for_keys=False,
        timeout=10,
        banner_timeout=10,
        auth_timeout=10,
        **auth,
    )
    return client


# -- the lab as a whole -----------------------------------------------------------------------


def test_lab_starts_and_every_daemon_runs(lab: Lab) -> None:
    """How fast it starts is bench/bench_lab.py's to print, not this test's to assert."""
    assert lab.start_seconds is not None
    dead = [name for name, d in lab.daemons.items() if not (d.proc and d.proc.alive())]
    assert dead == []
    assert all(ns.startswith(lab.prefix + "-") for ns in lab.topology.namespaces)
    assert set(lab.topology.namespaces) <= set(list_netns())


def test_machine_namespace_is_untouched(lab: Lab) -> None:
    """No lab interface lives in (or is wired to) the machine's own namespace."""
    links = json.loads(subprocess.run(
        ["ip", "-j", "link", "show"], capture_output=True, text=True, check=True
    ).stdout)
    names = {link["ifname"] for link in links}
    assert not names & {"br-inet", "br-dmz", "br-int"}
    assert not any(n.startswith(("client-", "ssh-", "inet-", "vpn-")) for n in names)


# -- VPN: ocserv and the real openconnect client ----------------------------------------------


@pytest.mark.parametrize("mode", ["split", "full"])
def test_ocserv_tls_and_authenticate(lab: Lab, lab_peers: Peers, vpn_down: None, mode: str) -> None:
    svc = lab.service(f"anyconnect_{mode}")
    tls = tls_connect(lab, svc.address, svc.port, svc.dns_name or "")
    assert tls["ok"], tls
    auth = lab_peers.openconnect_authenticate(svc.extra["url"])
    assert auth.ok, auth.log
    assert auth.fingerprint == svc.extra["pin_sha256"]
    wrong = lab_peers.openconnect_authenticate(svc.extra["url"], password="not-the-password")
    assert not wrong.ok
    # a failed login must not get the client banned (max-ban-score = 0)
    assert lab_peers.openconnect_authenticate(svc.extra["url"]).ok


def test_ocserv_answers_the_anyconnect_init_post(lab: Lab, lab_anyconnect_split: Service) -> None:
    svc = lab_anyconnect_split
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<config-auth client="vpn" type="init">'
        f'<version who="vpn">v9.01</version><group-access>{svc.extra["url"]}</group-access>'
        "</config-auth>"
    )

    def post() -> bytes:
        ctx = ssl.create_default_context(cafile=str(lab.ca_file))
        request = (
            f"POST / HTTP/1.1\r\nHost: {svc.dns_name}\r\n"
            "User-Agent: Open AnyConnect VPN Agent v9.01\r\nX-Aggregate-Auth: 1\r\n"
            "X-Transcend-Version: 1\r\nContent-Type: application/xml\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}"
        )
        with (
            socket.create_connection((svc.address, svc.port), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname=svc.dns_name) as tls,
        ):
            tls.sendall(request.encode())
            return read_http_response(tls)

    reply = lab.in_netns("client", post).decode(errors="replace")
    assert reply.startswith("HTTP/1.1 200")
    assert 'type="auth-request"' in reply
    assert f'<option value="{svc.extra["group"]}">' in reply


def test_split_tunnel_routes_only_the_inside(lab: Lab, vpn_split: VpnSession) -> None:
    assert lab.vpn is not None
    tun = vpn_split.interface
    assert vpn_split.split_includes == ["192.0.2.0/24"]
    via_tun = {r["dst"] for r in lab.vpn.routes() if r.get("dev") == tun}
    assert "192.0.2.0/24" in via_tun and "default" not in via_tun
    assert via_tun <= {"192.0.2.0/24", lab.service("anyconnect_split").extra["pool"]}
    assert lab.vpn.route_get("192.0.2.22")["dev"] == tun
    assert lab.vpn.route_get("203.0.113.80")["dev"] == "eth0"
    assert tcp_outcome(lab, "192.0.2.22", 22) == "open"
    assert tcp_outcome(lab, "203.0.113.80", 80) == "open"


def test_full_tunnel_routes_everything(lab: Lab, vpn_full: VpnSession) -> None:
    assert lab.vpn is not None
    tun = vpn_full.interface
    assert vpn_full.split_includes == []
    default = [r for r in lab.vpn.routes() if r["dst"] == "default"]
    assert [r.get("dev") for r in default] == [tun]
    assert lab.vpn.route_get("192.0.2.22")["dev"] == tun
    assert lab.vpn.route_get("203.0.113.80")["dev"] == tun
    # the gateway itself stays reachable outside the tunnel
    assert lab.vpn.route_get(vpn_full.gateway)["dev"] == "eth0"
    assert tcp_outcome(lab, "192.0.2.22", 22) == "open"
    assert tcp_outcome(lab, "203.0.113.80", 80) == "open"  # the internet, through the tunnel


def test_without_tunnel_the_inside_is_unreachable(lab: Lab, vpn_down: None) -> None:
    assert lab.vpn is not None
    assert lab.vpn.route_get("192.0.2.22")["dev"] == "eth0"
    assert tcp_outcome(lab, "192.0.2.22", 22, timeout=2) != "open"
    assert tcp_outcome(lab, "203.0.113.80", 80) == "open"
    assert tcp_outcome(lab, "198.51.100.30", 1723) == "open"


def test_vpn_reconnects_and_switches_modes(lab: Lab) -> None:
    assert lab.vpn is not None
    try:
        assert lab.vpn.connect("split").interface == "vpn-split"
        assert lab.vpn.connect("full").interface == "vpn-full"
        assert lab.vpn.route_get("203.0.113.80")["dev"] == "vpn-full"
    finally:
        lab.vpn.disconnect()
    assert lab.vpn.route_get("203.0.113.80")["dev"] == "eth0"
    assert not any(r.get("dev", "").startswith("vpn-") for r in lab.vpn.routes())


# -- SSH --------------------------------------------------------------------------------------


def test_sshd_banner_and_known_host_key(
    lab: Lab, vpn_split: VpnSession, lab_ssh: Service, lab_peers: Peers
) -> None:
    def banner() -> bytes:
        with socket.create_connection((lab_ssh.address, lab_ssh.port), timeout=5) as s:
            return s.recv(256)

    assert lab.in_netns("client", banner).startswith(b"SSH-2.0-OpenSSH")
    keys = lab_peers.ssh_hostkeys(lab_ssh.address)
    assert [(k["type"], k["fingerprint"]) for k in keys] == [
        ("ssh-ed25519", lab_ssh.extra["host_key_md5"].replace(":", ""))
    ]
    known = Path(lab_ssh.extra["known_hosts"]).read_text()
    assert lab_ssh.address in known and lab_ssh.extra["host_key"].split()[1] in known


def test_support_user_logs_in_with_password_and_key(
    lab: Lab, vpn_split: VpnSession, lab_ssh: Service
) -> None:
    for auth in (
        {"password": lab.support.password},
        {"key_filename": str(lab.support.key.private_key)},
    ):
        client = ssh_client(lab, lab_ssh, **auth)
        try:
            _, out, _ = client.exec_command("id -un; echo $HOME", timeout=10)
            user, home = out.read().decode().split()
        finally:
            client.close()
        assert user == "support"
        assert home == str(lab.support.home)
    with pytest.raises(paramiko.AuthenticationException):
        ssh_client(lab, lab_ssh, password="wrong-password").close()


def test_support_password_expiry_is_adjustable(lab: Lab) -> None:
    """The private shadow file is rewritten in place, so sshd's mount namespace sees it."""
    assert lab.sshd.proc is not None
    pid = str(lab.sshd.proc.pid)

    def chage() -> str:
        proc = subprocess.run(
            ["nsenter", "--target", pid, "--mount", "--", "chage", "-l", "support"],
            capture_output=True, text=True, timeout=10, env={**os.environ, "LC_ALL": "C"},
        )
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("Password expires"))
        return line.split(":", 1)[1].strip()

    assert chage() == "never"
    try:
        lab.sshd.set_password_expiry(5)
        expected = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=5)
        assert chage() == expected.strftime("%b %d, %Y")
    finally:
        lab.sshd.set_password_expiry(None)
    assert chage() == "never"


# -- IKE, PPTP, RDP ---------------------------------------------------------------------------


def test_charon_answers_ike_scan(
    lab_peers: Peers, lab_ikev2: Service, lab_l2tp: Service, vpn_down: None
) -> None:
    v1 = lab_peers.ike_scan(lab_l2tp.address)
    assert v1.kind == "main_mode", v1.raw
    assert v1.sa["Auth"] == "PSK"
    v2 = lab_peers.ike_scan(lab_ikev2.address, ikev2=True)
    assert v2.kind == "ikev2_sa_init", v2.raw
    v2_modern = lab_peers.ike_scan(lab_ikev2.address, ikev2=True, dhgroup=14)
    assert v2_modern.responded and v2_modern.kind in ("ikev2_sa_init", "notify")
    # an IKEv1-only responder still answers an IKEv2 probe, with a notify
    cross = lab_peers.ike_scan(lab_l2tp.address, ikev2=True)
    assert cross.kind == "notify" and cross.notify_type == 14
    nat_t = lab_peers.ike_scan(lab_ikev2.address, ikev2=True, nat_t=True)
    assert nat_t.responded, nat_t.raw


def test_no_ike_answer_from_the_drop_host(lab: Lab, lab_peers: Peers, lab_drop: Service) -> None:
    res = lab_peers.ike_scan(lab_drop.address)
    assert not res.responded


def test_pptpd_answers_nmap_pptp_version(lab_peers: Peers, lab_pptp: Service) -> None:
    info = lab_peers.pptp_version(lab_pptp.address)
    assert info.get("name") == "pptp"
    assert info.get("product") == lab_pptp.extra["vendor"]
    assert info.get("version") == "(Firmware: 1)"
    assert info.get("hostname") == lab_pptp.extra["hostname"]


def test_xrdp_negotiates_tls_not_nla(
    lab: Lab, vpn_split: VpnSession, lab_rdp: Service, lab_peers: Peers
) -> None:
    # X.224 Connection Request asking for TLS|CredSSP (0x03), no cookie.
    request = bytes.fromhex("030000130ee000000000000100080003000000")

    def negotiate() -> bytes:
        with socket.create_connection((lab_rdp.address, lab_rdp.port), timeout=5) as s:
            s.sendall(request)
            return s.recv(64)

    reply = lab.in_netns("client", negotiate)
    assert reply[:2] == b"\x03\x00" and reply[5] == 0xD0  # TPKT, Connection Confirm
    assert reply[11] == 0x02  # RDP_NEG_RSP
    assert int.from_bytes(reply[15:19], "little") == 0x01  # selected SSL, not HYBRID (NLA)
    enum = lab_peers.rdp_enum_encryption(lab_rdp.address)
    assert enum.get("SSL") == "SUCCESS"


# -- DNS --------------------------------------------------------------------------------------


def test_dnsmasq_split_brain(
    lab: Lab, vpn_split: VpnSession, lab_dns_internal: Service, lab_dns_external: Service
) -> None:
    inside, outside = lab_dns_internal.address, lab_dns_external.address
    sts = f"sts.{ZONE}"
    assert a_records(dns_query(lab, outside, sts)) == ["198.51.100.40"]
    assert a_records(dns_query(lab, inside, sts)) == ["192.0.2.44"]
    assert a_records(dns_query(lab, inside, f"adfs01.{ZONE}")) == ["192.0.2.44"]
    assert dns_query(lab, outside, f"adfs01.{ZONE}").rcode() == dns.rcode.NXDOMAIN
    mx = dns_query(lab, outside, ZONE, "MX")
    assert [str(r.exchange) for rrset in mx.answer for r in rrset] == [f"mail.{ZONE}."]
    # nothing outside the zone is forwarded anywhere
    assert dns_query(lab, outside, "example.com").rcode() == dns.rcode.REFUSED
    # the client's system resolver is the external view
    proc = lab.client_exec(["getent", "hosts", sts], timeout=10)
    assert proc.stdout.split()[0] == "198.51.100.40"


# -- HTTPS: AD FS and WAP ---------------------------------------------------------------------


def test_wap_serves_adfs_endpoints_with_the_test_ca(lab: Lab, lab_wap: Service) -> None:
    sts = lab_wap.extra["federation_service"]
    status, headers, _ = https_get(lab, lab_wap.address, "/adfs/probe", sts)
    assert status == 200
    assert headers.get("Server", "").startswith("Microsoft-HTTPAPI")
    status, _, body = https_get(
        lab, lab_wap.address, "/FederationMetadata/2007-06/FederationMetadata.xml", sts
    )
    assert status == 200
    signing = lab.certs["token_signing"].der_base64()
    assert f"<X509Certificate>{signing}</X509Certificate>" in body.decode()


def test_certificate_variants(lab: Lab, lab_wap: Service, lab_peers: Peers) -> None:
    ports = lab_wap.extra["cert_ports"]
    sts = lab_wap.extra["federation_service"]
    good = tls_connect(lab, lab_wap.address, ports["sts"], sts)
    assert good["ok"]
    expiring = tls_connect(lab, lab_wap.address, ports["sts_expiring"], sts)
    assert expiring["ok"]
    not_after = dt.datetime.fromtimestamp(
        ssl.cert_time_to_seconds(expiring["cert"]["notAfter"]), dt.UTC
    )
    days = (not_after - dt.datetime.now(dt.UTC)).total_seconds() / 86400
    assert 9 < days <= 10
    expired = tls_connect(lab, lab_wap.address, ports["sts_expired"], sts)
    assert not expired["ok"] and "expired" in expired["error"]
    wrong = tls_connect(lab, lab_wap.address, ports["sts_wrong_name"], sts)
    assert not wrong["ok"] and "mismatch" in wrong["error"].lower()
    self_signed = tls_connect(lab, lab_wap.address, ports["sts_self_signed"], sts)
    assert not self_signed["ok"] and "self-signed" in self_signed["error"]
    # nmap sees the same certificate
    cert = lab_peers.ssl_cert(lab_wap.address, ports["sts"])
    assert cert["subject"]["commonName"] == sts
    assert cert["issuer"]["commonName"] == lab.certs["ca"].subject_cn


def test_adfs_inside_through_the_tunnel(
    lab: Lab, vpn_split: VpnSession, lab_adfs: Service
) -> None:
    status, _, body = https_get(
        lab, lab_adfs.address, "/adfs/.well-known/openid-configuration", lab_adfs.dns_name or ""
    )
    assert status == 200
    assert json.loads(body)["issuer"] == f"https://{lab_adfs.dns_name}/adfs"


# -- drop and reject hosts --------------------------------------------------------------------


def test_drop_host_times_out_and_reject_host_refuses(
    lab: Lab, lab_drop: Service, lab_reject: Service
) -> None:
    # the outcome tells drop from reject: no answer until the timeout, or an RST
    assert tcp_outcome(lab, lab_drop.address, 443, timeout=1.0) == "timeout"
    assert tcp_outcome(lab, lab_reject.address, 443, timeout=3.0) == "refused"

    def udp_probe() -> str:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2)
            s.connect((lab_reject.address, 500))
            s.send(b"x")
            try:
                s.recv(16)
            except ConnectionRefusedError:
                return "refused"
            except TimeoutError:
                return "timeout"
            return "answered"

    assert lab.in_netns("client", udp_probe) == "refused"


# -- running accessready from the client ------------------------------------------------------


def test_run_accessready_from_the_client(lab: Lab) -> None:
    assert accessready_importable(), "install accessready first: pip install -e ."
    profile = f"""
[customer]
name = "Lab kommun"

[network]
internal_subnets = ["192.0.2.0/24"]
internet_probe = "203.0.113.80"

[access]
methods = ["windows_vpn"]

[access.windows_vpn]
server = "{lab.service('pptp').address}"
tunnel = "pptp"
"""
    out = run_accessready(lab, ["--only", "winvpn.pptp"], profile)
    assert out["exit_code"] in (0, 1, 2, 3), out
    if out["result"] is not None:
        assert out["result"].get("schema") == "accessready.result/1"


# -- teardown ---------------------------------------------------------------------------------

MINI = ["client", "inet", "ssh", "dns-ext"]


def _alive(records: dict[str, list[int | None]]) -> list[str]:
    return [n for n, (pid, start) in records.items() if pid and pid_matches(pid, start)]


def test_teardown_leaves_no_namespace_veth_or_process() -> None:
    require_lab()
    mini = Lab(MINI).start()
    namespaces = list(mini.topology.namespaces)
    records = {n: d.pid_record() for n, d in mini.daemons.items()}
    assert _alive(records) == list(records)
    mini.stop()
    assert not set(namespaces) & set(list_netns())
    assert _alive(records) == []
    assert not mini.workdir.exists()
    assert all(netns_pids(ns) == [] for ns in namespaces)


def _wait_for(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    for _ in range(int(seconds / 0.05) + 1):
        if predicate():
            return True
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return predicate()


def test_leftovers_of_a_killed_run_are_removed() -> None:
    require_lab()
    code = (
        "import sys, time\n"
        "from tests.lab import Lab\n"
        f"lab = Lab({MINI!r}).start()\n"
        "print(lab.prefix, flush=True)\n"
        "time.sleep(120)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        prefix = child.stdout.readline().strip()
        assert prefix.startswith("ar"), prefix
        state = json.loads((RUNTIME_DIR / prefix / "state.json").read_text())
    finally:
        child.send_signal(signal.SIGKILL)  # a crash: no finalizer, no atexit
        child.wait(10)
    leftover = [ns for ns in list_netns() if ns.startswith(prefix + "-")]
    assert leftover, "the killed run should have left namespaces behind"
    assert _alive(state["pids"]), "and daemons"
    removed = cleanup_leftovers()
    assert prefix in removed
    assert not [ns for ns in list_netns() if ns.startswith(prefix + "-")]
    assert _wait_for(lambda: _alive(state["pids"]) == [], 5)
    assert not (RUNTIME_DIR / prefix).exists()


def test_cli_up_status_down() -> None:
    require_lab()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    up = subprocess.run(
        [sys.executable, "-m", "tests.lab", "up", "--keep", "--hosts", ",".join(MINI)],
        cwd=REPO, capture_output=True, text=True, timeout=60, env=env,
    )
    assert up.returncode == 0, up.stderr
    info = json.loads(up.stdout[: up.stdout.rindex("}") + 1])
    prefix = info["prefix"]
    try:
        assert info["hosts"]["client"]["address"] == "203.0.113.100"
        assert info["services"]["ssh"]["port"] == 22
        assert f"ip netns exec {prefix}-client bash" in up.stdout
        status = subprocess.run(
            [sys.executable, "-m", "tests.lab", "status"],
            cwd=REPO, capture_output=True, text=True, timeout=30, env=env,
        )
        labs = {entry["prefix"]: entry for entry in json.loads(status.stdout)["labs"]}
        assert labs[prefix]["keep"] is True
        assert all(labs[prefix]["daemons_alive"].values())
    finally:
        down = subprocess.run(
            [sys.executable, "-m", "tests.lab", "down", prefix],
            cwd=REPO, capture_output=True, text=True, timeout=60, env=env,
        )
    assert down.returncode == 0, down.stderr
    assert not [ns for ns in list_netns() if ns.startswith(prefix + "-")]
    assert not (RUNTIME_DIR / prefix).exists()
