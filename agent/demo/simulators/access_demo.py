"""The demo's remote-access methods: one simulator per method, on loopback.

* **AnyConnect** — an ocserv-like gateway offering the groups ``Leverantorer`` and
  ``Personal``, with a certificate from a throwaway demo CA that the profile trusts through
  ``ca_file``: ``anyconnect.gateway`` passes (with the simulated workstation's split
  tunnel this is the method that makes access work).
* **Check Point** — a gateway answering the client handshake, whose certificate comes from
  its own internal CA (not trusted: a warning, as with a real ICA) and whose topology
  service on "264" discloses the firewall's and management server's names (a warning).
* **Windows VPN (PPTP)** — a pptpd-like responder: accepted, with the warning that PPTP is
  broken and GRE unverified.
* **TeamViewer** — routers that accept TCP (``teamviewer.network`` passes) and TeamViewer
  Host on ``adfs01`` (``server``), examined over WinRM like a real customer's host: the
  recording ``teamviewer-demo`` shows ID 987 654 321 while the profile expects
  1 234 567 890, so ``teamviewer.host`` **fails on purpose**, as after a reinstall.

Every gateway listens on 127.0.0.1; the certificates name ``127.0.0.1`` as an IP SAN
beside their DNS names, so the probes verify without any name override.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from accessready.agent.demo.part import DemoPart, q
from accessready.agent.demo.simulators import pki, servers_demo
from accessready.agent.demo.simulators.anyconnect import AnyConnectSimulator
from accessready.agent.demo.simulators.checkpoint import CheckpointSimulator
from accessready.agent.demo.simulators.pptp import PptpSimulator
from accessready.agent.demo.simulators.teamviewer import RouterSimulator

DEMO_GROUP = "Leverantorer"
PROFILE_TEAMVIEWER_ID = "1 234 567 890"
TEAMVIEWER_SERVER = "adfs01"  # a [[servers]] entry of servers_demo, reached over WinRM


def access_part(workdir: Path) -> Any:
    """Start the access simulators; return the demo part (profile TOML, methods, stops)."""
    ca = pki.make_ca("Exempel kommun demo CA")
    ac_files = pki.write_tls_files(workdir / "tls", "anyconnect", ca,
                                   *pki.issue(ca, ["vpn.exempel.se", "127.0.0.1"]))
    ica = pki.make_ca("cpmgmt01 ICA (demo)")
    cp_files = pki.write_tls_files(workdir / "tls", "checkpoint", ica,
                                   *pki.issue(ica, ["cpvpn.exempel.se", "127.0.0.1"]))
    stops = []
    anyconnect = AnyConnectSimulator(pki.server_context(ac_files),
                                     groups=(DEMO_GROUP, "Personal")).start()
    stops.append(anyconnect.stop)
    checkpoint = CheckpointSimulator(pki.server_context(cp_files)).start()
    stops.append(checkpoint.stop)
    pptp = PptpSimulator(host_name="vpn2", vendor="Microsoft").start()
    stops.append(pptp.stop)
    routers = RouterSimulator(count=2).start()
    stops.append(routers.stop)
    extra = servers_demo.EXTRA_RECORDINGS.setdefault(TEAMVIEWER_SERVER, [])
    if "teamviewer-demo" not in extra:
        extra.append("teamviewer-demo")
    toml = f"""
[access.anyconnect]
gateway = "127.0.0.1"
group = {q(DEMO_GROUP)}
port = {anyconnect.port}
ca_file = {q(str(ac_files.ca_file))}

[access.checkpoint]
gateway = "127.0.0.1"
port = {checkpoint.port}
ports = {{ topology = {checkpoint.topology_port}, ike = {checkpoint.ike_port} }}

[access.windows_vpn]
server = "127.0.0.1"
tunnel = "pptp"
connection = "Exempel VPN"
ports = {{ pptp = {pptp.port} }}

[access.teamviewer]
id = {q(PROFILE_TEAMVIEWER_ID)}
server = {q(TEAMVIEWER_SERVER)}
routers = ["127.0.0.1"]
ports = [{routers.ports[0]}, {routers.ports[1]}]
"""
    return DemoPart(toml=toml, methods=["anyconnect", "teamviewer", "checkpoint", "windows_vpn"],
                    stops=stops)
