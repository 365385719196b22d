"""What the three account checks share: the account they need, and the base of the two
that read the account's state on each server over its command method."""

from __future__ import annotations

from accessready.agent.core.model import Result, Text, t
from accessready.agent.core.profile_types import Profile, Server
from accessready.agent.plugin.checkapi import Check, CheckContext, Contact, Target
from accessready.agent.plugin.serverscript import (
    command_method,
    no_command_method,
    server_targets,
    session_contact,
)


def no_account(profile: Profile) -> Text | None:
    """Why an account check does not apply (no support account named), or None."""
    if not profile.account.username:
        return t("No support account is named in the profile ([account] username).",
                 "Profilen anger inget supportkonto ([account] username).")
    return None


class ServerAccountCheck(Check):
    """Shared by account.status and account.privileges: the support account, read on each
    remote server over its command method (WinRM first, then SSH)."""

    def applies(self, profile: Profile) -> Text | None:
        return no_account(profile)

    def targets(self, profile: Profile) -> list[Target]:
        return server_targets(profile, where=lambda s: bool(s.remote), needs=self.needs)

    def first_contact(self, target: Target) -> Contact | None:
        return session_contact(target.data)

    def run(self, ctx: CheckContext, target: Target) -> Result:
        server: Server = target.data
        method = command_method(server)
        if method is None:
            return no_command_method(self, target)
        return self._read(ctx, target, server, method)

    def _read(self, ctx: CheckContext, target: Target, server: Server,
              method: str) -> Result:
        raise NotImplementedError
