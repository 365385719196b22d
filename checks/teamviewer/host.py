"""``teamviewer.host``: TeamViewer Host is installed and running where it should run, with
the profile's TeamViewer ID.

It looks at the machine where TeamViewer Host should run: the ``[[servers]]`` entry named
by ``[access.teamviewer] server``, over WinRM (:mod:`accessready.agent.plugin.serverscript`),
from any vantage; this machine only in a self-check (the customer's admin on the host).
Never the engineer's laptop or the audit host: without ``server`` there it is an ``error``
asking for the server's name. A named server that lists no WinRM in ``remote`` is skipped
(reason ``no_command_method``). Pass: installed, its service running, a TeamViewer ID
present and equal to the profile's ``id``. It cannot see whether unattended access (a
password or an account assignment) is configured.
"""

from __future__ import annotations

import time
from typing import Any

from accessready.agent.core.model import Requirement, Result, Status, Vantage, t
from accessready.agent.core.profile_types import Profile, Server
from accessready.agent.io.tvhost import (
    WINDOWS_TEAMVIEWER_PS,
    TeamViewerFacts,
    facts_from_windows,
    format_id,
    normalize_id,
)
from accessready.agent.plugin.checkapi import (
    Check,
    CheckContext,
    Contact,
    Target,
    password_unavailable,
)
from accessready.agent.plugin.serverscript import (
    command_method,
    no_command_method,
    run_script,
    session_contact,
)
from accessready.agent.plugin.transport_texts import KIND_OWNERS
from accessready.checks.teamviewer.texts import HOST_REMEDIATION

HOST_CAP_S = 8.0
WINRM = ("winrm",)


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
    owners = {**KIND_OWNERS, "id_mismatch": "supplier", "no_profile_id": "supplier",
              "no_server": "supplier"}
    remediation = HOST_REMEDIATION

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

    def first_contact(self, target: Target) -> Contact | None:
        return session_contact(target.data[1], WINRM, HOST_CAP_S)

    def _remote(self, ctx: CheckContext, target: Target, server: Server | None
                ) -> TeamViewerFacts | Result:
        details = {"server": target.name, "transport": "winrm"}
        if server is None or command_method(server, WINRM) is None:
            return no_command_method(self, target, WINRM, details)
        if ctx.password is None:
            if ctx.profile.account.password is None:
                return self.result(target, Status.SKIP, t(
                    "Needs the support account's password to log in over WinRM; none is "
                    "configured (self-check).",
                    "Kräver supportkontots lösenord för inloggning via WinRM; inget är "
                    "angivet (egenkontroll)."), {**details, "reason": "no_password"})
            return self.result(target, Status.ERROR,
                               password_unavailable(ctx.password_problem), details, "password")
        started = time.monotonic()
        data = run_script(ctx, server, "winrm", WINDOWS_TEAMVIEWER_PS, check=self,
                          target=target, details=details, session_cap=HOST_CAP_S,
                          script_cap=HOST_CAP_S, prefix=t(
                              f"Could not examine {target.name} over WinRM:",
                              f"Kunde inte undersöka {target.name} via WinRM:"))
        if isinstance(data, Result):
            return data
        command = {"command": "PowerShell: TeamViewer registry, services, processes",
                   "elapsed_ms": round((time.monotonic() - started) * 1000, 1)}
        return facts_from_windows(data if isinstance(data, dict) else {}, target.name,
                                  [command])

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
