"""``teamviewer``: can TeamViewer Host work for the supplier's engineers?

* ``teamviewer.network`` resolves TeamViewer's router/master host names (through the
  profile's external resolvers, or the system's) and opens TCP connections from this
  machine in TeamViewer's documented order of preference — 5938, then 443, then 80
  (TeamViewer KB "Ports used by TeamViewer", reference H.1). It reports which port works
  and the connect latency. ``routers`` and ``ports`` in ``[access.teamviewer]`` replace
  the defaults; a router written ``host:port`` is probed on that port only (labs, tests).
  Pass: the preferred port connects. Warn: only a fallback port does (slower; port 80
  drops reconnects). Fail: no name resolves, or nothing connects.
* ``teamviewer.host`` (:mod:`.host`) looks at the machine where TeamViewer Host runs.

``teamviewer.network`` applies from the engineer's machine and inside the customer's
network (both ends need the way out); from an audit host it says nothing about either.

What this cannot prove: a TCP connect to 5938 does not prove that TeamViewer's router
accepts a session (the protocol is proprietary and undocumented), nor that TeamViewer's
UDP hole-punching works. Run ``teamviewer.network`` on the customer's
host as well: both ends need outbound access.
"""

from __future__ import annotations

from typing import Any

from accessready.agent.core.failures import status_of
from accessready.agent.core.model import Requirement, Result, Status, Vantage, t
from accessready.agent.core.profile_types import Profile, TeamViewerCfg
from accessready.agent.io import net
from accessready.agent.io.dns import SYSTEM_RESOLVER, ResolveError, is_ip_literal, resolve
from accessready.agent.plugin.checkapi import (
    Budget,
    Check,
    CheckContext,
    DeadlineExceeded,
    Target,
)

CONNECT_CAP_S = 3.0
DNS_CAP_S = 3.0
HOST_CAP_S = 8.0


def split_router(entry: str) -> tuple[str, int | None]:
    """``"router1.teamviewer.com"`` / ``"host:5938"`` / ``"[::1]:5938"`` → (host, port)."""
    entry = entry.strip()
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        if port.isdigit():
            return host, int(port)
    return entry, None


class TeamViewerNetworkCheck(Check):
    """TeamViewer's routers resolve and accept TCP on 5938 (or the 443/80 fallback)."""

    id = "teamviewer.network"
    owner = "engineer"  # the network of the machine the check runs on
    requirement = Requirement.ACCESS
    method = "teamviewer"
    needs = ("network", "dns")
    vantages = frozenset({Vantage.ENGINEER, Vantage.CUSTOMER})
    looks_at = t("the way out to TeamViewer's routers (the engineer's or the customer's)",
                 "vägen ut till TeamViewers routrar (teknikerns eller kundens)")
    title = t("TeamViewer: outbound connection to TeamViewer's routers",
              "TeamViewer: utgående anslutning till TeamViewers routrar")
    description = t(
        "TeamViewer's router/master names resolve and TCP 5938 (or the fallback 443, then "
        "80) connects from this machine; reports the port and the latency. A TCP connect "
        "does not prove the router accepts a session.",
        "TeamViewers router-/masternamn går att slå upp och TCP 5938 (eller reservportarna "
        "443, sedan 80) går att ansluta till från den här datorn; visar port och "
        "svarstid. En TCP-anslutning visar inte att routern accepterar en session.")
    remediation = {
        "dns": t(
            "TeamViewer's host names do not resolve: make sure this machine's DNS resolves "
            "public names (router*.teamviewer.com, master*.teamviewer.com), or allow them in "
            "the DNS filter.",
            "TeamViewers värdnamn går inte att slå upp: se till att den här datorns DNS "
            "löser publika namn (router*.teamviewer.com, master*.teamviewer.com), eller "
            "tillåt dem i DNS-filtret."),
        "blocked": t(
            "Allow outbound TCP (and UDP) 5938 to *.teamviewer.com in the firewall; "
            "TeamViewer needs no inbound port. If 5938 cannot be opened, at least allow "
            "outbound TCP 443.",
            "Tillåt utgående TCP (och UDP) 5938 till *.teamviewer.com i brandväggen; "
            "TeamViewer behöver ingen inkommande port. Går 5938 inte att öppna, tillåt "
            "åtminstone utgående TCP 443."),
        "fallback": t(
            "Only a fallback port works. TeamViewer will connect, but more slowly (and over "
            "port 80 without automatic reconnects): allow outbound TCP 5938 to "
            "*.teamviewer.com.",
            "Bara en reservport fungerar. TeamViewer kommer att ansluta, men långsammare "
            "(och över port 80 utan automatisk återanslutning): tillåt utgående TCP 5938 "
            "till *.teamviewer.com."),
    }

    def applies(self, profile: Profile) -> Any:
        why_not = super().applies(profile)
        if why_not is None and profile.access.teamviewer is None:
            return t("No [access.teamviewer] table.", "Ingen [access.teamviewer]-tabell.")
        return why_not

    def targets(self, profile: Profile) -> list[Target]:
        return [Target("TeamViewer routers", profile.access.teamviewer)]

    def _resolve(self, ctx: CheckContext, host: str, budget: Budget
                 ) -> tuple[list[str], dict[str, Any]]:
        """Addresses of ``host`` and the evidence, from the system resolver: the
        TeamViewer client on this machine resolves through the operating system (hosts
        file, split DNS), not through the profile's resolvers."""
        if is_ip_literal(host):
            return [host], {"name": host, "outcome": "literal"}
        try:
            found = resolve(host, budget.timeout())
        except ResolveError as exc:
            return [], {"name": host, "outcome": exc.kind, "resolver": SYSTEM_RESOLVER,
                        "error": str(exc)}
        return list(found.addresses), {"outcome": "ok", **found.to_json()}

    def run(self, ctx: CheckContext, target: Target) -> Result:
        cfg: TeamViewerCfg = target.data
        ports = list(cfg.ports)
        routers = [split_router(r) for r in cfg.routers]
        details: dict[str, Any] = {"routers": list(cfg.routers), "ports": ports,
                                   "dns": [], "attempts": []}
        dns_budget = Budget(ctx, parts=2 * len(routers) + 1, cap=DNS_CAP_S)
        resolved: list[tuple[str, str, int | None]] = []  # (name, address, pinned port)
        try:
            for host, pinned in routers:
                addresses, evidence = self._resolve(ctx, host, dns_budget)
                details["dns"].append(evidence)
                if addresses:
                    resolved.append((host, addresses[0], pinned))
        except DeadlineExceeded:
            details["dns"].append({"outcome": "deadline"})
        if not resolved:
            outcomes = {d.get("outcome") for d in details["dns"]}
            if outcomes & {"timeout", "error", "deadline"}:
                return self.result(target, Status.ERROR, t(
                    "DNS did not answer for TeamViewer's host names; cannot test them.",
                    "DNS svarade inte för TeamViewers värdnamn; de kan inte testas."),
                    details, "dns")
            return self.result(target, Status.FAIL, t(
                "None of TeamViewer's host names resolves from here.",
                "Inget av TeamViewers värdnamn går att slå upp härifrån."), details, "dns")
        plan = []
        for rank, port in enumerate(ports):
            for name, address, pinned in resolved:
                if pinned is None:
                    plan.append((rank, port, name, address))
                elif rank == 0:
                    plan.append((0, pinned, name, address))
        budget = Budget(ctx, parts=len(plan), cap=CONNECT_CAP_S)
        best: dict[str, Any] | None = None
        for rank, port, name, address in plan:
            if best is not None and rank > best["rank"]:
                break  # a better tier already works; later tiers add nothing
            attempt: dict[str, Any] = {"router": name, "address": address, "port": port}
            try:
                reach = net.tcp_reach(address, port, budget.timeout())
                if reach.ok:
                    attempt.update({"outcome": "connected",
                                    "connect_ms": round(reach.connect_ms or 0.0, 1)})
                    if best is None:
                        best = {"rank": rank, **attempt}
                else:
                    attempt.update({"outcome": reach.kind, "failure": reach.kind,
                                    "message": reach.message,
                                    "elapsed_ms": round(reach.total_ms, 1)})
            except DeadlineExceeded:
                attempt.update({"outcome": "deadline"})
                details["attempts"].append(attempt)
                break
            details["attempts"].append(attempt)
        unresolved = [d["name"] for d in details["dns"] if d.get("outcome") not in
                      ("ok", "literal") and "name" in d]
        details["unresolved"] = unresolved
        if best is None:
            tried = ", ".join(str(p) for p in ports)
            if any(a["outcome"] == "deadline" for a in details["attempts"]):
                return self.result(target, Status.ERROR, t(
                    f"No TeamViewer router connected on TCP {tried} before the deadline.",
                    f"Ingen TeamViewer-router svarade på TCP {tried} före tidsgränsen."),
                    details, "blocked")
            ours = sorted({a["outcome"] for a in details["attempts"]
                           if status_of(a["outcome"]) is Status.ERROR})
            if ours:  # the failure table: a kind about this machine decides nothing
                return self.result(target, Status.ERROR, t(
                    f"No TeamViewer router connected on TCP {tried}, but this machine could "
                    f"not test every one ({', '.join(ours)}).",
                    f"Ingen TeamViewer-router svarade på TCP {tried}, men den här datorn "
                    f"kunde inte testa alla ({', '.join(ours)})."), details, "blocked")
            return self.result(target, Status.FAIL, t(
                f"No TeamViewer router accepts a TCP connection from here on {tried}.",
                f"Ingen TeamViewer-router tar emot en TCP-anslutning härifrån på {tried}."),
                details, "blocked")
        details["working_port"] = best["port"]
        details["latency_ms"] = best["connect_ms"]
        where = best["router"] if best["router"] == best["address"] else \
            f"{best['router']} ({best['address']})"
        said = t(f"TCP {best['port']} to {where} connects in {best['connect_ms']:.0f} ms",
                 f"TCP {best['port']} till {where} ansluter på {best['connect_ms']:.0f} ms")
        note_en = note_sv = ""
        if unresolved:
            note_en = f" ({', '.join(unresolved)} did not resolve.)"
            note_sv = f" ({', '.join(unresolved)} gick inte att slå upp.)"
        if best["rank"] == 0:
            return self.result(target, Status.PASS, t(
                f"{said.en}: TeamViewer's preferred port is open.{note_en}",
                f"{said.sv}: TeamViewers förstahandsport är öppen.{note_sv}"), details)
        return self.result(target, Status.WARN, t(
            f"{said.en}, but TCP {ports[0]} does not: TeamViewer falls back to a slower "
            f"path.{note_en}",
            f"{said.sv}, men inte TCP {ports[0]}: TeamViewer faller tillbaka på en "
            f"långsammare väg.{note_sv}"), details, "fallback")
