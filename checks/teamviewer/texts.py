"""What ``teamviewer.host`` tells the reader to do, in English and Swedish, by
remediation key (the decisions are in host.py)."""

from __future__ import annotations

from accessready.agent.core.model import Text, t
from accessready.agent.plugin.transport_texts import KIND_REMEDIATION

HOST_REMEDIATION: dict[str, Text] = {
    **KIND_REMEDIATION,
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
}
