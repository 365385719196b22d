"""``windows_vpn``: does the customer's VPN server answer Windows' built-in VPN client?

This module holds what the three tunnel checks share (applicability; the profile gives
final ports);
the checks are in :mod:`.ike` and :mod:`.pptp`.

One check per tunnel type; only the one that matches ``[access.windows_vpn] tunnel``
runs, the others skip ("tunnel type is …").

* ``winvpn.ikev2`` sends an IKEv2 IKE_SA_INIT on UDP 500 (``ports.ike``) offering what a
  Windows client offers (AES-CBC/3DES, SHA2-256/SHA1, MODP2048/MODP1024), and the same
  message with the non-ESP marker on UDP 4500 (``ports.natt``), where clients behind NAT
  continue. Any well-formed reply proves an IKE responder: an SA, a COOKIE demand,
  INVALID_KE_PAYLOAD (we then retry once with the group it asks for) or
  NO_PROPOSAL_CHOSEN. The last means the server is there but refuses what Windows offers:
  a warning, not a pass.
* ``winvpn.l2tp`` does the same with IKEv1 Main Mode message 1 as Windows' L2TP/IPsec
  client sends it (12 transforms, PSK, the Windows vendor IDs).
* ``winvpn.pptp`` sends a Start-Control-Connection-Request on TCP 1723 (``ports.pptp``)
  and reads the reply: result code, host name, vendor, firmware.

What these prove: the control channel of the tunnel answers from this machine. What they
cannot prove: that a login succeeds (no credentials are sent), that ESP (IP protocol 50),
L2TP (UDP 1701 inside IPsec) or GRE (IP protocol 47, PPTP's data channel) pass the
firewalls and NAT on the way — userspace cannot send those without a full session and
raw sockets. PPTP is reported as a warning at best: MS-CHAPv2/MPPE are broken (any
captured handshake can be cracked to the password's NT hash), so it should be replaced.
Some IKE responders only answer initiators whose source port is 500, which needs root;
this probe uses an ephemeral port and says so when nothing answers.
"""

from __future__ import annotations

from typing import ClassVar

from accessready.agent.core.model import Requirement, Text, t
from accessready.agent.core.profile_types import Profile
from accessready.agent.plugin.checkapi import Check, Target


class WinVpnCheck(Check):
    """Common metadata and applicability of the three tunnel checks."""

    requirement = Requirement.ACCESS
    method = "windows_vpn"
    needs = ("network",)
    tunnel: ClassVar[str]

    def applies(self, profile: Profile) -> Text | None:
        why_not = super().applies(profile)
        if why_not is not None:
            return why_not
        cfg = profile.access.windows_vpn
        if cfg is None:
            return t("No [access.windows_vpn] table.", "Ingen [access.windows_vpn]-tabell.")
        if cfg.tunnel != self.tunnel:
            return t(f"The tunnel type is {cfg.tunnel}.", f"Tunneltypen är {cfg.tunnel}.")
        return None

    def targets(self, profile: Profile) -> list[Target]:
        cfg = profile.access.windows_vpn
        assert cfg is not None  # applies() made sure
        return [Target(cfg.server, cfg)]
