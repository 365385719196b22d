"""The order users see checks in (``accessready checks``, the terminal, JSON and HTML):
requirement by requirement, then family by family in folder-name order, then as each
family's ``CHECKS`` lists them. Pinned, because scanning folders (issue 12) replaced the
entry-point order: the access checks are now grouped by family."""

from __future__ import annotations

from accessready.agent.plugin.registry import load_registry

EXPECTED = [
    "admin.agreement", "admin.dpa", "admin.contacts", "admin.maintenance_contact",
    "workstation.os", "workstation.no_admin", "workstation.clients",
    "anyconnect.gateway", "anyconnect.split_tunnel",
    "checkpoint.gateway", "checkpoint.split_tunnel",
    "teamviewer.network", "teamviewer.host",
    "winvpn.connection", "winvpn.ikev2", "winvpn.l2tp", "winvpn.pptp", "winvpn.split_tunnel",
    "account.login", "account.status", "account.privileges",
    "remote.rdp", "remote.winrm", "remote.ssh",
    "adfs.dns", "adfs.tls", "adfs.metadata", "adfs.probe", "adfs.clock_skew",
    "adfs.service", "adfs.certificates", "wap.health", "wap.proxy_trust",
    "service.running",
]


def test_the_catalogue_order_is_stable() -> None:
    built_in = [c.id for c in load_registry().checks
                if type(c).__module__.startswith("accessready.checks.")]
    assert built_in == EXPECTED
