"""``teamviewer``: can TeamViewer Host work for the supplier's engineers?

* ``teamviewer.network`` resolves TeamViewer's router/master host names (through the
  profile's external resolvers, or the system's) and opens TCP connections from this
  machine in TeamViewer's documented order of preference — 5938, then 443, then 80
  (TeamViewer KB "Ports used by TeamViewer", reference H.1). It reports which port works
  and the connect latency. ``routers`` and ``ports`` in ``[access.teamviewer]`` replace
  the defaults; a router written ``host:port`` is probed on that port only (labs, tests).
  Pass: the preferred port connects. Warn: only a fallback port does (slower; port 80
  drops reconnects). Fail: no name resolves, or nothing connects.
* ``teamviewer.host`` looks at the machine where TeamViewer Host should run: the
  ``[[servers]]`` entry named by ``server``, over WinRM, from any vantage; this machine only
  in a self-check (the customer's admin on the host). Never the engineer's laptop or the
  audit host: without ``server`` there it is an ``error`` asking for the server's name.
  Pass: installed, its service running, a TeamViewer ID present and equal to the
  profile's ``id``.

``teamviewer.network`` applies from the engineer's machine and inside the customer's
network (both ends need the way out); from an audit host it says nothing about either.

What this cannot prove: a TCP connect to 5938 does not prove that TeamViewer's router
accepts a session (the protocol is proprietary and undocumented), nor that TeamViewer's
UDP hole-punching works; the host check cannot see whether unattended access (a password
or an account assignment) is configured. Run ``teamviewer.network`` on the customer's
host as well: both ends need outbound access.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from accessready.agent.core.model import Requirement, Result, Status, Vantage, t
from accessready.agent.core.profile_types import Profile, TeamViewerCfg
from accessready.agent.io import net
from accessready.agent.io.dns import SYSTEM_RESOLVER, ResolveError, resolve
from accessready.agent.io.tvhost import (
    TeamViewerFacts,
    format_id,
    normalize_id,
    remote_windows_facts,
)
from accessready.agent.plugin.checkapi import (
    Check,
    CheckContext,
    DeadlineExceeded,
    Target,
    password_unavailable,
)
from accessready.agent.plugin.probekit import Budget

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


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


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
        if _is_address(host):
            return [host], {"name": host, "outcome": "literal"}
        try:
            found = resolve(host, budget.timeout())
        except ResolveError as exc:
            return [], {"name": host, "outcome": exc.kind, "resolver": SYSTEM_RESOLVER,
                        "error": str(exc)}
        return list(found.addresses), {"outcome": "ok", **found.to_json()}

    def run(self, ctx: CheckContext, target: Target) -> Result:
        cfg: TeamViewerCfg = target.data
        ports = list(dict.fromkeys(cfg.ports)) or [5938, 443, 80]
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


class TeamViewerHostCheck(Check):
    """TeamViewer Host is installed and running on the host, with the profile's ID."""

    id = "teamviewer.host"
    requirement = Requirement.ACCESS
    method = "teamviewer"
    needs = ("local",)
    title = t("TeamViewer Host: installed, running, expected ID",
              "TeamViewer Host: installerad, igång, rätt ID")
    description = t(
        "On the machine where TeamViewer Host should run (the named server over WinRM, or "
        "this machine in a self-check): installed, its service running, and a TeamViewer "
        "ID equal to the profile's. Cannot see whether unattended access is configured.",
        "På datorn där TeamViewer Host ska köras (den namngivna servern via WinRM, eller "
        "den här datorn vid egenkontroll): installerad, tjänsten igång och ett "
        "TeamViewer-ID som stämmer med profilens. Kan inte se om obevakad åtkomst är "
        "inställd.")
    # Installing and running the host is the customer's; what the profile says (the ID,
    # the server it runs on, how to reach it) is the supplier's to correct.
    owners = {"id_mismatch": "supplier", "no_profile_id": "supplier", "no_server": "supplier",
              "no_transport": "supplier"}
    remediation = {
        "not_installed": t(
            "Install TeamViewer Host on the server the supplier should reach, assign it to "
            "the supplier's TeamViewer account or set a strong unattended-access password, "
            "and send the supplier its TeamViewer ID.",
            "Installera TeamViewer Host på servern som leverantören ska nå, koppla den till "
            "leverantörens TeamViewer-konto eller sätt ett starkt lösenord för obevakad "
            "åtkomst, och skicka dess TeamViewer-ID till leverantören."),
        "not_running": t(
            "Start the TeamViewer service and set it to start automatically (Windows: "
            "service 'TeamViewer'; Linux: systemctl enable --now teamviewerd).",
            "Starta TeamViewer-tjänsten och ställ in att den startar automatiskt (Windows: "
            "tjänsten 'TeamViewer'; Linux: systemctl enable --now teamviewerd)."),
        "no_id": t(
            "TeamViewer has no ID yet: start it once with network access so it registers, "
            "then read the ID in TeamViewer and put it in the profile.",
            "TeamViewer har inget ID ännu: starta det en gång med nätverksåtkomst så att det "
            "registreras, läs sedan av ID:t i TeamViewer och för in det i profilen."),
        "id_mismatch": t(
            "This TeamViewer installation has another ID than the profile says: the host may "
            "have been reinstalled or cloned, or the check ran on the wrong machine. Confirm "
            "the host's ID and correct [access.teamviewer] id (or name the right server).",
            "Den här TeamViewer-installationen har ett annat ID än profilen anger: värden kan "
            "ha installerats om eller klonats, eller så kördes kontrollen på fel dator. "
            "Bekräfta värdens ID och rätta [access.teamviewer] id (eller ange rätt server)."),
        "no_profile_id": t(
            "Add the host's TeamViewer ID to the profile ([access.teamviewer] id) so the "
            "check can confirm it is the right machine.",
            "Lägg in värdens TeamViewer-ID i profilen ([access.teamviewer] id) så att "
            "kontrollen kan bekräfta att det är rätt dator."),
        "no_server": t(
            "Name the server where TeamViewer Host runs: [access.teamviewer] server = "
            "\"<name>\", a [[servers]] entry with remote = [\"winrm\"]. (Or the customer's "
            "admin runs accessready --self-check on that server.)",
            "Ange servern där TeamViewer Host körs: [access.teamviewer] server = "
            "\"<namn>\", en [[servers]]-post med remote = [\"winrm\"]. (Eller så kör kundens "
            "administratör accessready --self-check på den servern.)"),
        "no_transport": t(
            "The TeamViewer host is a named server, reached over WinRM: give it "
            "remote = [\"winrm\"] and the support account's password, or let the customer's "
            "admin run accessready --self-check on that server itself (without 'server').",
            "TeamViewer-värden är en namngiven server som nås via WinRM: ge den "
            "remote = [\"winrm\"] och supportkontots lösenord, eller låt kundens "
            "administratör köra accessready --self-check på den servern (utan 'server')."),
    }

    def applies(self, profile: Profile) -> Any:
        why_not = super().applies(profile)
        if why_not is None and profile.access.teamviewer is None:
            return t("No [access.teamviewer] table.", "Ingen [access.teamviewer]-tabell.")
        return why_not

    def target_needs(self, target: Target) -> tuple[str, ...]:
        # A named server is examined over WinRM, which needs the support account's
        # password: saying so lets the runner fetch it (or skip in a self-check).
        if target.data is not None and target.data[0].server:
            return ("local", "winrm", "password")
        return self.needs

    def targets(self, profile: Profile) -> list[Target]:
        cfg = profile.access.teamviewer
        assert cfg is not None
        if cfg.server:
            server = next((s for s in profile.servers if s.name == cfg.server), None)
            return [Target(cfg.server, (cfg, server))]
        return [Target("this machine", (cfg, None))]

    def _remote(self, ctx: CheckContext, target: Target, server: Any
                ) -> TeamViewerFacts | Result:
        details = {"server": target.name, "transport": "winrm"}
        if server is None or "winrm" not in server.remote:
            return self.result(target, Status.ERROR, t(
                f"Server {target.name} has no WinRM access configured; TeamViewer on it "
                "cannot be examined from here.",
                f"Servern {target.name} har ingen WinRM-åtkomst inställd; TeamViewer på den "
                "kan inte undersökas härifrån."), details, "no_transport")
        sessions = ctx.services.get("sessions")
        if sessions is None:
            return self.result(target, Status.ERROR, t(
                "This build has no WinRM transport yet; TeamViewer on a named server "
                "cannot be examined. Run the check on that server instead.",
                "Den här versionen saknar ännu WinRM-transport; TeamViewer på en namngiven "
                "server kan inte undersökas. Kör kontrollen på den servern i stället."),
                details, "no_transport")
        if ctx.password is None:
            if ctx.profile.account.password is None:
                return self.result(target, Status.SKIP, t(
                    "Needs the support account's password to log in over WinRM; none is "
                    "configured (self-check).",
                    "Kräver supportkontots lösenord för inloggning via WinRM; inget är "
                    "angivet (egenkontroll)."), {**details, "reason": "no_password"})
            return self.result(target, Status.ERROR,
                               password_unavailable(ctx.password_problem), details, "password")
        from accessready.agent.io.transports.base import TransportError

        try:
            transport = sessions.get(server, "winrm", ctx.timeout(HOST_CAP_S))
            return remote_windows_facts(transport, ctx.timeout(HOST_CAP_S), target.name)
        except TransportError as exc:
            return self.result(target, Status.ERROR, t(
                f"Could not examine {target.name} over WinRM ({exc.kind}): {exc}",
                f"Kunde inte undersöka {target.name} via WinRM ({exc.kind}): {exc}"),
                {**details, "transport_error": exc.kind, **exc.details}, "error")

    def run(self, ctx: CheckContext, target: Target) -> Result:
        cfg, server = target.data
        if cfg.server:
            found = self._remote(ctx, target, server)
            if isinstance(found, Result):
                return found
            facts = found
        elif ctx.vantage is not Vantage.CUSTOMER:
            # TeamViewer Host runs at the customer: this machine is the engineer's laptop
            # or the audit host, and what is installed here proves nothing about it.
            return self.result("-", Status.ERROR, t(
                "TeamViewer Host runs at the customer, not on this machine: name the server "
                "where TeamViewer Host runs ([access.teamviewer] server).",
                "TeamViewer Host körs hos kunden, inte på den här datorn: ange servern där "
                "TeamViewer Host körs ([access.teamviewer] server)."),
                {"reason": "no_server", "vantage": ctx.vantage.value}, "no_server")
        else:
            source = ctx.service("teamviewer_host")
            facts = source.teamviewer_facts(ctx.timeout(HOST_CAP_S))
        return self.judge(target, facts, normalize_id(cfg.id))

    def judge(self, target: Target, facts: TeamViewerFacts, expected: str | None) -> Result:
        """The verdict from collected facts (pure: tests call it with fixtures)."""
        details = {"facts": facts.to_json(), "expected_id": expected}
        where = t("on this machine", "på den här datorn") if target.name == "this machine" \
            else t(f"on {target.name}", f"på {target.name}")
        if not facts.installed:
            return self.result(target, Status.FAIL, t(
                f"TeamViewer is not installed {where.en}.",
                f"TeamViewer är inte installerat {where.sv}."), details, "not_installed")
        version = f" {facts.version}" if facts.version else ""
        if not facts.running:
            state = facts.service_state
            return self.result(target, Status.FAIL, t(
                f"TeamViewer{version} is installed {where.en}, but its service "
                f"({facts.service or 'TeamViewer'}) is {state}.",
                f"TeamViewer{version} är installerat {where.sv}, men tjänsten "
                f"({facts.service or 'TeamViewer'}) är {state}."), details, "not_running")
        if facts.client_id is None:
            return self.result(target, Status.FAIL, t(
                f"TeamViewer{version} runs {where.en} but shows no TeamViewer ID.",
                f"TeamViewer{version} körs {where.sv} men visar inget TeamViewer-ID."),
                details, "no_id")
        shown = format_id(facts.client_id)
        if expected is None:
            return self.result(target, Status.WARN, t(
                f"TeamViewer{version} runs {where.en} with ID {shown}; the profile names no "
                "ID to compare with.",
                f"TeamViewer{version} körs {where.sv} med ID {shown}; profilen anger inget "
                "ID att jämföra med."), details, "no_profile_id")
        if facts.client_id != expected:
            return self.result(target, Status.FAIL, t(
                f"TeamViewer{version} runs {where.en}, but its ID is {shown}, not "
                f"{format_id(expected)} as the profile says.",
                f"TeamViewer{version} körs {where.sv}, men dess ID är {shown}, inte "
                f"{format_id(expected)} som profilen anger."), details, "id_mismatch")
        return self.result(target, Status.PASS, t(
            f"TeamViewer{version} runs {where.en} with the expected ID {shown}.",
            f"TeamViewer{version} körs {where.sv} med förväntat ID {shown}."), details)


CHECKS: list[type[Check]] = [TeamViewerNetworkCheck, TeamViewerHostCheck]
