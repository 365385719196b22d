"""``remote.ssh``: an SSH server answers, and its host key is the one known_hosts expects
(see :mod:`accessready.checks.remote` for what the remote checks prove)."""

from __future__ import annotations

from typing import Any

from accessready.agent.core.model import Requirement, Result, Status, t
from accessready.agent.core.profile_types import Profile, Server
from accessready.agent.io.transports.base import TransportError
from accessready.agent.plugin.checkapi import Check, CheckContext, Contact, Target
from accessready.agent.plugin.serverscript import server_targets
from accessready.agent.plugin.transport_texts import (
    KIND_OWNERS,
    KIND_REMEDIATION,
)

from .outcomes import transport_failure_result

PROBE_CAP_S = 8.0  # the handshake's share of the deadline at most (connect included)


class SshCheck(Check):
    """An SSH server answers, and its host key is the one known_hosts expects."""

    id = "remote.ssh"
    owners = {**KIND_OWNERS, "added": "engineer"}
    requirement = Requirement.REMOTE
    title = t("SSH reachable", "SSH nåbart")
    description = t("SSH banner and key exchange; the host key compared with known_hosts "
                    "(no login).",
                    "SSH-banner och nyckelutbyte; värdnyckeln jämförd med known_hosts "
                    "(ingen inloggning).")
    needs = ("network", "sessions")
    remediation = {
        **KIND_REMEDIATION,
        "default": KIND_REMEDIATION["timeout"],
        "added": t("The host key was unknown and has been added to known_hosts because of "
                   "--accept-new-host-keys. Confirm the fingerprint with the customer.",
                   "Värdnyckeln var okänd och har lagts till i known_hosts på grund av "
                   "--accept-new-host-keys. Bekräfta fingeravtrycket med kunden."),
    }

    def targets(self, profile: Profile) -> list[Target]:
        return server_targets(profile, ("ssh",))

    def first_contact(self, target: Target) -> Contact:
        server: Server = target.data
        return Contact(server.address, server.ssh.port, PROBE_CAP_S, via="sessions")

    def run(self, ctx: CheckContext, target: Target) -> Result:
        server: Server = target.data
        where = f"{server.address}:{server.ssh.port}"
        sessions = ctx.service("sessions")
        try:
            info = sessions.ssh_probe(server, ctx.timeout(PROBE_CAP_S))
        except TransportError as exc:
            return transport_failure_result(self, target, exc, f"SSH {where}")
        details = info.to_json()
        key = info.host_key
        banner = info.banner
        if key.status == "known":
            return self.result(target, Status.PASS, t(
                f"{banner} on {where}; the {key.key_type} host key matches known_hosts "
                f"({key.fingerprint}).",
                f"{banner} på {where}; {key.key_type}-värdnyckeln stämmer med known_hosts "
                f"({key.fingerprint})."), details)
        if key.status == "added":
            return self.result(target, Status.WARN, t(
                f"{banner} on {where}; the unknown {key.key_type} host key {key.fingerprint} "
                "was added to known_hosts.",
                f"{banner} på {where}; den okända {key.key_type}-värdnyckeln "
                f"{key.fingerprint} lades till i known_hosts."), details, fix="added")
        en, sv, fix = _key_problem(f"{banner} on {where}", f"{banner} på {where}", key)
        return self.result(target, Status.FAIL, t(en, sv), details, fix=fix)


def _key_problem(on: str, pa: str, key: Any) -> tuple[str, str, str]:
    """(English, Swedish, remediation key) for a host key that is not accepted."""
    if key.status == "revoked":
        return (f"{on} presents {key.key_type} host key {key.fingerprint}, which known_hosts "
                "marks @revoked.",
                f"{pa} visar {key.key_type}-värdnyckeln {key.fingerprint}, som known_hosts "
                "markerar @revoked (återkallad).", "host_key_mismatch")
    if key.other_types_known:  # never added, even with --accept-new-host-keys
        known = ", ".join(key.other_types_known)
        return (f"{on} presents a {key.key_type} host key ({key.fingerprint}), but "
                f"known_hosts holds {known} for it; not accepted.",
                f"{pa} visar en {key.key_type}-värdnyckel ({key.fingerprint}), men "
                f"known_hosts har {known} för den; godtas inte.", "host_key_other_type")
    if key.status == "mismatch":
        expected = ", ".join(key.known_fingerprints)
        return (f"{on} presents {key.key_type} host key {key.fingerprint}, but known_hosts "
                f"expects {expected}.",
                f"{pa} visar {key.key_type}-värdnyckeln {key.fingerprint}, men known_hosts "
                f"förväntar sig {expected}.", "host_key_mismatch")
    return (f"{on}; its {key.key_type} host key {key.fingerprint} is not in "
            f"{key.known_hosts}.",
            f"{pa}; dess {key.key_type}-värdnyckel {key.fingerprint} finns inte i "
            f"{key.known_hosts}.", "host_key_unknown")
