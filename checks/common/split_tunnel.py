"""``access``: what the three ``*.split_tunnel`` checks share — reading and deciding the
split tunnelling of the customer's VPN.

``anyconnect.split_tunnel``, ``checkpoint.split_tunnel`` and ``winvpn.split_tunnel`` read
the routing of a live tunnel: for a sample address in every ``network.internal_subnets``
entry and for ``network.internet_probe`` they ask the operating system which source
address and adapter it would use (a UDP socket's ``connect()`` — no packet is sent), map
the adapter to a VPN product by its name and description, and keep the routes that decide
it (``ip route``/``Get-NetRoute``/``netstat -rn``, and the OS's own route lookup) as
evidence. Internal traffic through the method's tunnel and internet traffic outside it is
a split tunnel (pass); internet traffic through the tunnel is a full tunnel (fail); no
tunnel carrying the internal networks means the VPN is not connected (error: connect and
run again).

What they prove: how this workstation routes *now*, with the tunnel as the gateway
configured it. What they cannot prove: the routing of another session or group, traffic
steered by a VPN client's own filters outside the routing table (e.g. AnyConnect's
"tunnel all DNS"), or policy-based IPsec on Linux/macOS, which has no tunnel adapter to
see. A generic ``tun``/``ppp`` device counts for every method, so on Linux and macOS the
check cannot tell openconnect from Cisco's own client.

They look at the engineer's machine and the tunnel it has up, so they apply only from
the engineer's vantage: an audit host has no tunnel up, and in a self-check the customer's
admin is already inside the network (they skip there, saying so).

The checks themselves live in their families (``checks/anyconnect/split_tunnel.py``,
``checks/checkpoint/split_tunnel.py``, ``checks/winvpn/split_tunnel.py``): each sets its
method, product and remediation on :class:`SplitTunnelCheck`.
"""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar

from accessready.agent.core.model import Requirement, Result, Status, Vantage, t
from accessready.agent.io.localsys import (
    Adapter,
    CommandFailed,
    Egress,
    LocalSystem,
    NotSupported,
)
from accessready.agent.plugin.checkapi import Check, CheckContext, Target
from accessready.checks.common.tunnel import (
    Decision,
    Probe,
    TunnelState,
    decide,
    default_routes,
    resolve_probe,
    sample_address,
)

# Used only when the profile names no internet_probe: routing is by prefix, so any public
# address shows where internet traffic goes, and connect() on UDP sends nothing to it.
DEFAULT_INTERNET_PROBE = "1.1.1.1"
HOW = ("UDP connect() to each address sends no packet; the source address the operating "
       "system picks is mapped to its adapter (psutil), beside the OS's own route lookup.")


class InternetProbeUnresolved(Exception):
    """``network.internet_probe`` is a name that does not resolve."""


def _internet_probe(ctx: CheckContext) -> tuple[str, str]:
    """(address, how it was chosen) for the internet probe."""
    probe = ctx.profile.network.internet_probe
    if not probe:
        return DEFAULT_INTERNET_PROBE, "default (no network.internet_probe in the profile)"
    try:
        return str(ipaddress.ip_address(probe)), "network.internet_probe"
    except ValueError:
        pass
    answer = ctx.service("dns").lookup(probe, "A", view="external", timeout=ctx.timeout(3.0))
    if answer.outcome == "ok" and answer.records:
        return answer.records[0], f"network.internet_probe {probe} (resolved)"
    raise InternetProbeUnresolved(f"{probe}: {answer.outcome} {answer.error}".strip())


def _windows_vpn_names(ctx: CheckContext, local: LocalSystem) -> tuple[str, ...]:
    if local.system != "windows":
        return ()
    try:
        return tuple(c.name for c in local.vpn_connections(ctx.timeout(10.0)))
    except (NotSupported, CommandFailed):
        return ()


def analyse(ctx: CheckContext, method: str) -> tuple[Decision, dict[str, Any]]:
    """Collect the egress facts through the ``local`` service and decide for ``method``."""
    local: LocalSystem = ctx.service("local")
    adapters = local.adapters(ctx.timeout(10.0))
    names = _windows_vpn_names(ctx, local)
    table = local.routes(ctx.timeout(10.0))
    own = [a for adapter in adapters for a in adapter.addresses]
    probes: list[Probe] = []
    for subnet in ctx.profile.network.internal_subnets:
        address = str(sample_address(subnet, own))
        probes.append(_probe(ctx, local, "internal", address, adapters, table.routes,
                             str(subnet), names))
    address, chosen = _internet_probe(ctx)
    probes.append(_probe(ctx, local, "internet", address, adapters, table.routes, None, names))
    decision = decide(method, probes, adapters, names)
    details: dict[str, Any] = {
        "state": decision.state.value,
        "method": method,
        "how": HOW,
        "probes": [p.to_json() for p in decision.probes],
        "internet_probe_from": chosen,
        # adapters without an address (idle miniports, macOS' own utuns) are noise here
        "vpn_adapters": [{**a.to_json(), "vendor": m.vendor, "why": m.reason}
                         for a, m in decision.vpn_adapters if a.addresses],
        "default_routes": [r.to_json() for r in default_routes(table.routes)],
        "routes_from": table.command,
    }
    if table.error:
        details["routes_error"] = table.error
    if names:
        details["windows_vpn_connections"] = list(names)
    if decision.notes:
        details["notes"] = list(decision.notes)
    if getattr(local, "simulated", False):
        details["simulated"] = True
        details["notes"] = [*details.get("notes", []), getattr(
            local, "simulated_note", "These facts come from a simulated workstation.")]
    return decision, details


def _probe(ctx: CheckContext, local: LocalSystem, role: str, address: str,
           adapters: list[Adapter], routes: Any, subnet: str | None,
           names: tuple[str, ...]) -> Probe:
    try:
        egress = local.egress(address)
    except (OSError, ValueError) as exc:
        egress = Egress(address, error=str(exc))
    lookup = None
    # the OS's own lookup is evidence beside the socket's answer; on Windows it costs a
    # PowerShell start (about a second), so there it is asked only when the socket's
    # source address did not name a single adapter
    if local.system != "windows" or egress.interface is None:
        lookup = local.route_to(address, ctx.timeout(5.0))
    return resolve_probe(role, address, egress, adapters, routes, lookup, subnet, names)


def _join(items: Any) -> str:
    return ", ".join(str(i) for i in items)


class SplitTunnelCheck(Check):
    """Shared logic of the three ``*.split_tunnel`` checks; subclasses set id and texts."""

    # Connecting the VPN and running again is the engineer's; naming the networks is the
    # profile's (the supplier's); split tunnelling on the gateway is the customer's.
    owners: ClassVar[dict[str, str]] = {"connect": "engineer", "default": "engineer",
                                        "profile": "supplier"}

    requirement = Requirement.ACCESS
    needs = ("local",)
    product: ClassVar[str] = ""
    vantages = frozenset({Vantage.ENGINEER})
    looks_at = t("split tunnelling (read from the engineer's machine while its VPN is up)",
                 "delad tunnel (läses på teknikerns dator medan dess VPN är uppe)")

    def run(self, ctx: CheckContext, target: Target) -> Result:
        if not ctx.profile.network.internal_subnets:
            return self.result(target, Status.ERROR, t(
                "The profile names no internal subnets, so split tunnelling cannot be "
                "judged.", "Profilen anger inga interna nät, så delad tunnel kan inte "
                "bedömas."), {"reason": "no_internal_subnets"}, "profile")
        method = self.method or ""
        try:
            decision, details = analyse(ctx, method)
        except InternetProbeUnresolved as exc:
            return self.result(target, Status.ERROR, t(
                f"The internet probe does not resolve ({exc}).",
                f"Internetadressen för provet går inte att slå upp ({exc})."),
                {"reason": "internet_probe_unresolved"}, "profile")
        return self._verdict(target, decision, details)

    def _verdict(self, target: Target, d: Decision, details: dict[str, Any]) -> Result:
        product = self.product
        internal = [p for p in d.probes if p.role == "internal"]
        internet = [p for p in d.probes if p.role == "internet"]
        subnets = _join(p.subnet for p in internal)
        tunnels = _join(d.tunnel_interfaces)
        net_probe = internet[0] if internet else None
        out_if = (net_probe.interface if net_probe else None) or "no route"
        sim = " (simulated workstation)" if details.get("simulated") else ""
        sim_sv = " (simulerad arbetsstation)" if details.get("simulated") else ""
        state = d.state
        if state is TunnelState.SPLIT:
            return self.result(target, Status.PASS, t(
                f"Split tunnel{sim}: {subnets} goes through {tunnels}; "
                f"{net_probe.destination if net_probe else 'internet'} leaves through "
                f"{out_if}.",
                f"Delad tunnel{sim_sv}: {subnets} går genom {tunnels}; "
                f"{net_probe.destination if net_probe else 'internet'} går ut via {out_if}."),
                details)
        if state is TunnelState.FULL:
            dest = net_probe.destination if net_probe else "internet"
            return self.result(target, Status.FAIL, t(
                f"Full tunnel{sim}: internet traffic ({dest}) also goes through {tunnels}.",
                f"Full tunnel{sim_sv}: även internettrafik ({dest}) går genom {tunnels}."),
                details, "full")
        if state is TunnelState.PARTIAL:
            missing = _join(d.bypassing)
            where = tunnels or _join(a.name for a, m in d.vpn_adapters
                                     if m.vendor == self.method)
            return self.result(target, Status.FAIL, t(
                f"The {product} tunnel ({where}) is up, but {missing} does not go through "
                f"it{sim}.",
                f"{product}-tunneln ({where}) är uppe, men {missing} går inte genom den"
                f"{sim_sv}."), details, "include")
        if state is TunnelState.OTHER_VPN:
            return self.result(target, Status.ERROR, t(
                f"{subnets} goes through another VPN ({d.other_vpn}), not {product}. Connect "
                f"with {product} and run again.",
                f"{subnets} går genom en annan VPN ({d.other_vpn}), inte {product}. Anslut "
                f"med {product} och kör igen."), details, "connect")
        if state is TunnelState.NOT_CONNECTED:
            return self.result(target, Status.ERROR, t(
                f"Not connected{sim}: no {product} tunnel carries {subnets}. Connect the VPN "
                "and run again.",
                f"Inte ansluten{sim_sv}: ingen {product}-tunnel bär {subnets}. Anslut VPN:en "
                "och kör igen."), details, "connect")
        return self.result(target, Status.ERROR, t(
            "The routing could not be read well enough to decide.",
            "Routningen kunde inte läsas tillräckligt för ett beslut."), details)


COMMON_REMEDIATION = {
    "profile": t(
        "Name the customer's internal networks in [network] internal_subnets (they must go "
        "through the tunnel) and an internet address in internet_probe (it must not).",
        "Ange kundens interna nät i [network] internal_subnets (de ska gå genom tunneln) "
        "och en internetadress i internet_probe (den ska inte göra det)."),
    "default": t(
        "Read the evidence (adapters and routes), make sure the VPN is connected, and run "
        "again.",
        "Läs underlaget (nätverkskort och rutter), se till att VPN:en är ansluten och kör "
        "igen."),
}
