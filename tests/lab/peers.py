"""Ground truth from established tools, run against the same lab hosts as accessready.

``nmap`` (with ``pptp-version``, ``rdp-enum-encryption``, ``ssh-hostkey``, ``ssl-cert``),
``ike-scan`` (IKEv1 and IKEv2) and ``openconnect --authenticate`` run from the client host (or
any lab host) and return parsed results, so tests can compare accessready's verdicts with
theirs. nmap always runs with ``-n`` (no reverse DNS) and ``-Pn -sT`` (connect scan, no ping).

Known peer pitfall: nmap's ``rdp-enum-encryption`` reports "CredSSP (NLA): SUCCESS" against
xrdp although xrdp selects plain TLS — it checks only the reply's type byte. Do not use that
line as ground truth for NLA.
"""

from __future__ import annotations

import re
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import Lab


# -- nmap ------------------------------------------------------------------------------------


@dataclass
class NmapScript:
    """One NSE script's result: its text output and its structured elements."""

    id: str
    output: str
    data: Any  # nested dicts / lists from <table> and <elem>


@dataclass
class NmapPort:
    """One scanned port."""

    port: int
    protocol: str
    state: str
    service: dict[str, str]
    scripts: dict[str, NmapScript] = field(default_factory=dict)


@dataclass
class NmapResult:
    """A parsed ``nmap -oX`` run against one address."""

    address: str
    host_state: str
    ports: dict[int, NmapPort]
    returncode: int
    xml: str = field(repr=False)

    def port(self, number: int) -> NmapPort:
        """The result for one port (KeyError if it was not scanned)."""
        return self.ports[number]

    def script(self, number: int, script_id: str) -> NmapScript | None:
        """A script's result on a port, or None if the script produced nothing."""
        port = self.ports.get(number)
        return port.scripts.get(script_id) if port else None


def _nse_data(node: ET.Element) -> Any:
    """<table>/<elem> children as dicts (keyed) or lists (unkeyed)."""
    children = [c for c in node if c.tag in ("table", "elem")]
    if not children:
        return {}
    keyed = all(c.get("key") is not None for c in children)
    if keyed:
        out: dict[str, Any] = {}
        for c in children:
            out[c.get("key", "")] = (c.text or "") if c.tag == "elem" else _nse_data(c)
        return out
    return [(c.text or "") if c.tag == "elem" else _nse_data(c) for c in children]


def parse_nmap_xml(xml: str, returncode: int = 0) -> NmapResult:
    """Parse nmap's XML output (first host only)."""
    root = ET.fromstring(xml)
    host = root.find("host")
    if host is None:
        return NmapResult("", "down", {}, returncode, xml)
    addr_el = host.find("address")
    status = host.find("status")
    ports: dict[int, NmapPort] = {}
    for p in host.findall("ports/port"):
        state = p.find("state")
        service = p.find("service")
        entry = NmapPort(
            port=int(p.get("portid", "0")),
            protocol=p.get("protocol", ""),
            state=state.get("state", "") if state is not None else "",
            service=dict(service.attrib) if service is not None else {},
        )
        for s in p.findall("script"):
            sid = s.get("id", "")
            entry.scripts[sid] = NmapScript(sid, s.get("output", ""), _nse_data(s))
        ports[entry.port] = entry
    return NmapResult(
        address=addr_el.get("addr", "") if addr_el is not None else "",
        host_state=status.get("state", "") if status is not None else "",
        ports=ports,
        returncode=returncode,
        xml=xml,
    )


def nmap(
    lab: Lab,
    address: str,
    ports: list[int],
    scripts: Sequence[str] = (),
    *,
    version_detection: bool = False,
    udp: bool = False,
    source: str = "client",
    timeout: float = 120.0,
) -> NmapResult:
    """Scan ``address`` from lab host ``source``. ``version_detection`` adds ``-sV`` (needed
    for most scripts on non-standard ports)."""
    argv = ["nmap", "-n", "-Pn", "-sU" if udp else "-sT", "-p", ",".join(map(str, ports))]
    if version_detection:
        argv.append("-sV")
    if scripts:
        argv += ["--script", ",".join(scripts)]
    argv += ["--host-timeout", f"{int(timeout)}s", "-oX", "-", address]
    proc = lab.exec(source, argv, timeout=timeout + 15)
    if not proc.stdout.strip().startswith("<?xml"):
        raise RuntimeError(f"nmap gave no XML (rc {proc.returncode}): {proc.stderr[-500:]}")
    return parse_nmap_xml(proc.stdout, proc.returncode)


def pptp_version(
    lab: Lab, address: str, port: int = 1723, source: str = "client"
) -> dict[str, str]:
    """nmap ``pptp-version``: the vendor, firmware and host name from the SCCRP, as nmap
    reports them in the service fields (``product``, ``version``, ``hostname``)."""
    res = nmap(lab, address, [port], ["pptp-version"], source=source)
    p = res.ports.get(port)
    if p is None or p.state != "open":
        return {}
    return dict(p.service)


def ssh_hostkeys(lab: Lab, address: str, port: int = 22, source: str = "client") -> list[dict]:
    """nmap ``ssh-hostkey``: [{"type", "bits", "fingerprint" (MD5 hex), "key"}]."""
    res = nmap(lab, address, [port], ["ssh-hostkey"], source=source)
    script = res.script(port, "ssh-hostkey")
    if script is None:
        return []
    data = script.data
    return data if isinstance(data, list) else [data]


def ssl_cert(lab: Lab, address: str, port: int = 443, source: str = "client") -> dict[str, Any]:
    """nmap ``ssl-cert``: subject, issuer, validity (notBefore/notAfter), md5, sha1, pem."""
    res = nmap(lab, address, [port], ["ssl-cert"], version_detection=port != 443, source=source)
    script = res.script(port, "ssl-cert")
    return script.data if script is not None and isinstance(script.data, dict) else {}


def rdp_enum_encryption(
    lab: Lab, address: str, port: int = 3389, source: str = "client"
) -> dict[str, str]:
    """nmap ``rdp-enum-encryption`` as {line label: value} (see the module's NLA caveat)."""
    res = nmap(lab, address, [port], ["rdp-enum-encryption"], source=source)
    script = res.script(port, "rdp-enum-encryption")
    out: dict[str, str] = {}
    if script is None:
        return out
    for line in script.output.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep and value.strip():
            out[key.strip()] = value.strip()
    return out


# -- ike-scan --------------------------------------------------------------------------------


@dataclass
class IkeScanResult:
    """What ike-scan saw from one address."""

    address: str
    responded: bool
    kind: str | None  # "main_mode" | "aggressive_mode" | "ikev2_sa_init" | "notify" | None
    notify_type: int | None
    notify_name: str | None
    sa: dict[str, str]
    vendor_ids: list[str]
    raw: str = field(repr=False)

    @property
    def handshake(self) -> bool:
        """True if the responder accepted a proposal (returned an SA)."""
        return self.kind in ("main_mode", "aggressive_mode", "ikev2_sa_init")


_IKE_KINDS = {
    "Main Mode Handshake returned": "main_mode",
    "Aggressive Mode Handshake returned": "aggressive_mode",
    "IKEv2 SA_INIT Handshake returned": "ikev2_sa_init",
}


def parse_ike_scan(output: str, address: str) -> IkeScanResult:
    """Parse ike-scan's default (one line per host) output."""
    line = next(
        (ln for ln in output.splitlines() if ln.startswith(address + "\t")), ""
    )
    text = line.split("\t", 1)[1] if line else ""
    kind = next((v for k, v in _IKE_KINDS.items() if text.startswith(k)), None)
    notify_type = notify_name = None
    m = re.match(r"Notify message (\d+) \(([^)]*)\)", text)
    if m:
        kind = "notify"
        notify_type, notify_name = int(m.group(1)), m.group(2)
    sa: dict[str, str] = {}
    sm = re.search(r"\bSA=\(([^)]*)\)", text)
    if sm:
        for part in sm.group(1).split():
            key, _, value = part.partition("=")
            sa[key] = value
    vids = re.findall(r"\bVID=([0-9a-f]+)", text)
    return IkeScanResult(address, bool(text), kind, notify_type, notify_name, sa, vids, output)


def ike_scan(
    lab: Lab,
    address: str,
    *,
    ikev2: bool = False,
    dhgroup: int | None = None,
    nat_t: bool = False,
    source: str = "client",
    timeout: float = 30.0,
) -> IkeScanResult:
    """Run ike-scan (IKEv1 Main Mode by default, ``ikev2`` for IKE_SA_INIT) from ``source``.
    ``nat_t`` sends to UDP 4500 with the non-ESP marker. A random source port is used."""
    argv = ["ike-scan", "--sport=0", "--retry=2", "--timeout=500"]
    if ikev2:
        argv.append("--ikev2")
    if dhgroup is not None:
        argv.append(f"--dhgroup={dhgroup}")
    if nat_t:
        argv.append("--nat-t")
    argv.append(address)
    proc = lab.exec(source, argv, timeout=timeout)
    return parse_ike_scan(proc.stdout, address)


# -- openconnect --authenticate --------------------------------------------------------------


@dataclass
class OpenconnectAuth:
    """The outcome of ``openconnect --authenticate``."""

    ok: bool
    returncode: int
    values: dict[str, str]  # COOKIE, HOST, CONNECT_URL, FINGERPRINT, RESOLVE
    log: str = field(repr=False)

    @property
    def fingerprint(self) -> str | None:
        """The server certificate's pin (``pin-sha256:...``)."""
        return self.values.get("FINGERPRINT")


def openconnect_authenticate(
    lab: Lab,
    url: str,
    *,
    user: str | None = None,
    password: str | None = None,
    group: str | None = None,
    ca_file: str | None = None,
    servercert: str | None = None,
    source: str = "client",
    timeout: float = 30.0,
) -> OpenconnectAuth:
    """Log in to an AnyConnect gateway without bringing a tunnel up (defaults: the lab's
    support account, group and CA)."""
    acct = lab.support
    argv = [
        "/usr/sbin/openconnect",
        "--protocol=anyconnect",
        "--authenticate",
        "--non-inter",
        "--passwd-on-stdin",
        "--user", user or acct.username,
    ]
    if group is not None or user is None:
        argv += ["--authgroup", group or acct.group]
    if servercert:
        argv += ["--servercert", servercert]
    else:
        argv += ["--cafile", ca_file or str(lab.ca_file)]
    argv.append(url)
    proc = lab.exec(
        source, argv, input=(password if password is not None else acct.password) + "\n",
        timeout=timeout,
    )
    values: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.isupper():
            parsed = shlex.split(value)
            values[key] = parsed[0] if parsed else ""
    ok = proc.returncode == 0 and "COOKIE" in values
    return OpenconnectAuth(ok, proc.returncode, values, proc.stderr)


class Peers:
    """The wrappers above bound to one lab (what the ``lab_peers`` fixture yields)."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    def nmap(
        self, address: str, ports: list[int], scripts: Sequence[str] = (), **kw: Any
    ) -> NmapResult:
        """See ``nmap``."""
        return nmap(self.lab, address, ports, scripts, **kw)

    def pptp_version(self, address: str, **kw: Any) -> dict[str, str]:
        """See ``pptp_version``."""
        return pptp_version(self.lab, address, **kw)

    def ssh_hostkeys(self, address: str, **kw: Any) -> list[dict]:
        """See ``ssh_hostkeys``."""
        return ssh_hostkeys(self.lab, address, **kw)

    def ssl_cert(self, address: str, port: int = 443, **kw: Any) -> dict[str, Any]:
        """See ``ssl_cert``."""
        return ssl_cert(self.lab, address, port, **kw)

    def rdp_enum_encryption(self, address: str, **kw: Any) -> dict[str, str]:
        """See ``rdp_enum_encryption``."""
        return rdp_enum_encryption(self.lab, address, **kw)

    def ike_scan(self, address: str, **kw: Any) -> IkeScanResult:
        """See ``ike_scan``."""
        return ike_scan(self.lab, address, **kw)

    def openconnect_authenticate(self, url: str, **kw: Any) -> OpenconnectAuth:
        """See ``openconnect_authenticate``."""
        return openconnect_authenticate(self.lab, url, **kw)
