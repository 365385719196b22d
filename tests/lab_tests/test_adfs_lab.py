"""adfs.dns and adfs.tls against the namespace lab: real dnsmasq split-brain views and the
lab's HTTPS "AD FS" (inside, 192.0.2.44) and "WAP" (DMZ, 198.51.100.40) hosts with
certificates from the lab CA — valid (443), expiring in 10 days (4431), expired (4432),
wrong name (4433), self-signed (4434).

The checks run in the lab's client namespace with the split tunnel up (the internal
resolver and the AD FS host are reachable only through it). Cross-checks: the client's
system resolver (the lab's external dnsmasq) via ``getent``, ``openssl s_client`` for every
certificate, nmap's ``ssl-cert`` on 443. The lab's HTTPS hosts answer without SNI (real
AD FS and WAP reset), which the check reports as information only.
"""

from __future__ import annotations

import datetime as dt

import pytest

from accessready.agent.app.run import run_checks
from accessready.agent.core.model import Status
from accessready.agent.core.profile import parse_profile
from accessready.agent.io.dns import Resolvers
from accessready.agent.plugin.runner import RunOptions
from accessready.checks.adfs.dns import AdfsDnsCheck
from accessready.checks.adfs.tls import AdfsTlsCheck

pytestmark = pytest.mark.lab


def profile(lab, *, fs: str | None = None, port: int = 443) -> str:
    dns_int = lab.service("dns_internal")
    dns_ext = lab.service("dns_external")
    adfs, wap = lab.service("adfs"), lab.service("wap")
    return f"""
[customer]
name = "Labbkommun"
[network]
internal_resolvers = ["{dns_int.address}"]
external_resolvers = ["{dns_ext.address}"]
[access]
methods = ["teamviewer"]
[[servers]]
name = "adfs01"
address = "{adfs.address}"
roles = ["adfs"]
remote = ["rdp"]
[[servers]]
name = "wap01"
address = "{wap.address}"
roles = ["wap"]
remote = ["rdp"]
[adfs]
federation_service = "{fs or wap.extra['federation_service']}"
port = {port}
ca_file = "{lab.ca_file}"
cert_warn_days = 30
"""


def run_in_client(lab, text: str, checks, timeout: float = 8.0) -> dict:
    """Run ``checks`` in the client namespace; results by (check id, target)."""
    prof = parse_profile(text)

    def go():
        run = run_checks(prof, RunOptions(timeout=timeout), checks=[c() for c in checks],
                         services={"dns": Resolvers(prof.network)})
        return {(r.check_id, r.target): r for r in run.results}

    return lab.in_netns("client", go, timeout=timeout * 4)


def test_dns_split_brain_matches_dnsmasq(lab, vpn_split):
    fs = lab.service("wap").extra["federation_service"]
    result = run_in_client(lab, profile(lab), [AdfsDnsCheck])[("adfs.dns", fs)]
    assert result.status is Status.PASS, result.summary.en
    views = result.details["views"]
    assert views["internal"]["addresses"] == [lab.service("adfs").address]
    assert views["external"]["addresses"] == [lab.service("wap").address]
    assert views["internal"]["cname"]["outcome"] != "ok"
    # cross-check: the client's own resolver is the lab's external dnsmasq
    seen = lab.client_exec(["getent", "ahostsv4", fs]).stdout.split()
    assert lab.service("wap").address in seen


def test_dns_cname_inside_warns(lab, vpn_split):
    login = f"login.{lab.zone}"  # a CNAME for sts in the lab zone
    result = run_in_client(lab, profile(lab, fs=login), [AdfsDnsCheck])[("adfs.dns", login)]
    assert result.status is Status.WARN, result.summary.en
    assert result.remediation == AdfsDnsCheck.remediation["cname"]


def test_dns_inside_only_name_fails_outside(lab, vpn_split):
    inside_only = f"adfs01.{lab.zone}"
    result = run_in_client(lab, profile(lab, fs=inside_only),
                           [AdfsDnsCheck])[("adfs.dns", inside_only)]
    assert result.status is Status.FAIL, result.summary.en
    assert result.remediation == AdfsDnsCheck.remediation["missing_external"]


@pytest.mark.parametrize(("variant", "status", "fix"), [
    ("sts", Status.PASS, None),
    ("sts_expiring", Status.WARN, "expiring"),
    ("sts_expired", Status.FAIL, "expired"),
    ("sts_wrong_name", Status.FAIL, "name_mismatch"),
    ("sts_self_signed", Status.FAIL, "self_signed"),
])
def test_tls_certificate_variants_on_the_wap(lab, lab_peers, vpn_split, variant, status, fix):
    wap = lab.service("wap")
    fs = wap.extra["federation_service"]
    port = wap.extra["cert_ports"][variant]
    results = run_in_client(lab, profile(lab, port=port), [AdfsTlsCheck])
    for target in (fs, "wap01"):  # the service name resolves outside to the WAP
        result = results[("adfs.tls", target)]
        assert result.status is status, f"{target}: {result.summary.en}"
        if fix:
            assert result.remediation == AdfsTlsCheck.remediation[fix]
        assert result.details["address"] == wap.address
    # cross-check the certificate we saw with openssl s_client (SNI set, as we send it)
    ours = results[("adfs.tls", "wap01")].details["tls"]["certificate"]
    theirs = openssl_view(lab, wap.address, port, fs)
    assert ours["sha1"].lower() == theirs["sha1"]
    not_after = dt.datetime.fromisoformat(ours["not_after"])
    assert not_after.strftime("%b %e %H:%M:%S %Y GMT") == theirs["not_after"]
    if port == 443:  # and with nmap's ssl-cert (fast on 443: no version detection)
        scan = lab_peers.ssl_cert(wap.address, port)
        assert ours["sha1"].lower() == str(scan.get("sha1", "")).replace(" ", "").lower()


def openssl_view(lab, address: str, port: int, sni: str) -> dict[str, str]:
    """SHA-1 fingerprint and notAfter of the certificate ``openssl s_client`` receives."""
    script = (f"openssl s_client -connect {address}:{port} -servername {sni} </dev/null "
              "2>/dev/null | openssl x509 -noout -fingerprint -sha1 -enddate")
    out = lab.client_exec(["sh", "-c", script], timeout=20).stdout
    fields = dict(line.split("=", 1) for line in out.strip().splitlines() if "=" in line)
    sha1 = next(v for k, v in fields.items() if "Fingerprint" in k)
    return {"sha1": sha1.replace(":", "").lower(), "not_after": fields["notAfter"].strip()}


def test_tls_adfs_node_through_the_tunnel(lab, vpn_split):
    results = run_in_client(lab, profile(lab), [AdfsTlsCheck])
    result = results[("adfs.tls", "adfs01")]
    assert result.status is Status.PASS, result.summary.en
    assert result.details["address"] == lab.service("adfs").address
    assert result.details["tls"]["verified"] is True
    assert result.details["tls"]["version"] in ("TLSv1.2", "TLSv1.3")
