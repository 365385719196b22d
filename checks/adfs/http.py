"""``adfs``: AD FS and Web Application Proxy health, seen from outside the servers.

No credentials: these checks use DNS, TLS and the unauthenticated HTTP endpoints every
AD FS farm publishes. Nodes are the profile's servers with role ``adfs`` or ``wap``; each is
reached at its ``address`` with SNI and ``Host`` set to the federation service name, on
``[adfs] port`` (HTTPS, default 443) and ``[adfs] ports.http`` (the probe, default 80);
``ports."<server>.https"`` / ``ports."<server>.http"`` override them for one node (nodes
behind port forwards).
Trust comes from a server's own ``ca_file``/``verify`` if it sets them, else from
``[adfs]``'s, else the system store.

What each check proves, and what it cannot:

* ``adfs.dns`` — the federation service name resolves through the internal resolvers and
  through the external ones, and the answers follow the usual split-brain layout (inside →
  the AD FS farm, outside → the WAP). It cannot see NAT: an outside address that is not a
  listed WAP is reported, not judged. A CNAME inside is flagged (browsers build the
  Kerberos SPN from the canonical name, so Windows integrated sign-in breaks).
* ``adfs.tls`` — per node and for the service name: the certificate served for the name
  (chain against the system store or ``ca_file``, name, expiry within
  ``cert_warn_days``), and that TLS 1.2 or newer is negotiated — decided from the
  negotiated version: a server a current client refuses is shaken hands with again,
  offering TLS 1.0 and weak ciphers, so an old server is reported as old, not as a
  failed handshake. A reset without SNI is how AD FS/WAP http.sys bindings behave and is
  reported as information. It cannot tell whether TLS 1.0/1.1 are *also* enabled on a
  server that offers 1.2 (a server picks the newest version both sides offer).
* ``adfs.metadata`` — the federation metadata through every WAP and directly from every
  AD FS node: well-formed (XML bombs and external entities refused), entityID, every
  token-signing and token-decrypting certificate with its expiry, rollover in progress,
  and whether every path serves the same metadata. It does not verify the XML signature.
* ``adfs.probe`` — ``http://<node>/adfs/probe`` answers 200, as load balancers expect. A
  WAP answers it even when AD FS behind it is down, so for a WAP the back end is proven
  separately by fetching ``/adfs/services/trust/mex`` through it (only AD FS writes that).
  Many customers turn mex off on the proxy (404): then signed federation metadata fetched
  through the same WAP proves the back end instead, and the mex answer is only named.
* ``adfs.clock_skew`` — the HTTP ``Date`` of every node against the others and this
  machine (±1 s resolution plus half the round trip). Over 2 minutes warns, over 5 fails:
  WAP's proxy trust and Kerberos stop working there.

None of them proves that a user can sign in: that needs credentials (see the WinRM checks
in :mod:`accessready.checks.adfs.winrm` and a manual test of ``/adfs/ls/``).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from accessready.agent.core.model import INSECURE, Requirement, Result, Status, Text, t
from accessready.agent.core.outcome import ProbeOutcome
from accessready.agent.core.profile_types import AdfsCfg, Profile, Server, TlsOptions
from accessready.agent.io.dns import SYSTEM_RESOLVER, ResolveError, resolve
from accessready.agent.io.http import http_request
from accessready.agent.io.tls import (
    CertInfo,
    TlsInfo,
    modern_tls,
    modern_tls_handshake,
    tls_handshake,
)
from accessready.agent.plugin.checkapi import Check, CheckContext, Target
from accessready.agent.plugin.probekit import describe_failure, verify_off_note
from accessready.checks.common.findings import Finding, conclude, earliest_due

METADATA_PATH = "/FederationMetadata/2007-06/FederationMetadata.xml"
MEX_PATH = "/adfs/services/trust/mex"
PROBE_PATH = "/adfs/probe"
SKEW_WARN_S = 120
SKEW_FAIL_S = 300
CONNECT_CAP = 5.0
NO_SNI_CAP = 3.0
LOOKUP_CAP = 3.0


# --- shared helpers ---------------------------------------------------------------------------

def adfs_nodes(profile: Profile) -> list[Server]:
    """The profile's AD FS and WAP servers, in profile order."""
    return [s for s in profile.servers if {"adfs", "wap"} & set(s.roles)]


def node_role(server: Server) -> str:
    """``"adfs"`` or ``"wap"`` (a server listing both is treated as AD FS)."""
    return "adfs" if "adfs" in server.roles else "wap"


def role_label(role: str) -> str:
    """How the report names a role."""
    return {"adfs": "AD FS", "wap": "WAP"}.get(role, role)


def tls_options(profile: Profile, server: Server | None = None) -> TlsOptions:
    """A server's own TLS trust settings when it sets any, else ``[adfs]``'s; a relative
    ``ca_file`` is taken from the profile's folder, like every path in a profile."""
    assert profile.adfs is not None
    nodes = profile.adfs.node_tls  # resolved when the profile was built
    return nodes.get(server.name, profile.adfs.tls) if server is not None else profile.adfs.tls


def https_port(cfg: AdfsCfg, server: Server | None = None) -> int:
    """The HTTPS port: ``ports."<server>.https"``, else ``ports.https``, else ``port``."""
    if server is not None and f"{server.name}.https" in cfg.ports:
        return int(cfg.ports[f"{server.name}.https"])
    return cfg.ports["https"]


def http_port(cfg: AdfsCfg, server: Server | None = None) -> int:
    """The plain-HTTP port of ``/adfs/probe``: ``ports."<server>.http"``, ``ports.http``, 80.

    Per-server keys serve nodes reached through port forwards (and the demo, whose AD FS
    and WAP share one loopback address).
    """
    if server is not None and f"{server.name}.http" in cfg.ports:
        return int(cfg.ports[f"{server.name}.http"])
    return cfg.ports["http"]


def is_address(text: str) -> bool:
    """Is ``text`` an IP address literal?"""
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def resolve_addresses(ctx: CheckContext, name: str, view: str,
                      cap: float = LOOKUP_CAP) -> tuple[list[str], list[dict[str, Any]], str]:
    """(addresses, evidence, outcome) of ``name``'s A and AAAA records in ``view``.

    ``outcome`` is ``ok``, ``missing`` (NXDOMAIN or no address records) or
    ``unanswered`` (timeouts or errors, and no address came back).
    """
    if is_address(name):
        return [name], [{"name": name, "outcome": "literal"}], "ok"
    resolvers = ctx.service("dns")
    addresses: list[str] = []
    evidence: list[dict[str, Any]] = []
    outcomes = []
    for rdtype in ("A", "AAAA"):
        answer = resolvers.lookup(name, rdtype, view=view, timeout=ctx.timeout(cap))
        evidence.append(answer.to_json())
        outcomes.append(answer.outcome)
        if answer.outcome == "ok":
            addresses.extend(answer.records)
        if answer.outcome == "timeout":
            break  # a silent resolver stays silent: keep the time for the other view
    if addresses:
        return addresses, evidence, "ok"
    if any(o in ("timeout", "error") for o in outcomes):
        return [], evidence, "unanswered"
    return [], evidence, "missing"


def service_address(ctx: CheckContext, name: str) -> tuple[str | None, dict[str, Any]]:
    """Where to reach the federation service by name: the outside view first (the
    profile's external resolvers, or else this machine's system resolver, as a browser
    here resolves), then the inside view. The hosts file and ``localhost`` answer first
    (a WAP server or an engineer's laptop often maps the service name there)."""
    resolvers = ctx.service("dns")
    evidence: dict[str, Any] = {}
    views = ["external"] + (["internal"] if resolvers.servers("internal") else [])
    for view in views:
        servers = resolvers.servers(view)
        try:
            found = resolve(name, ctx.timeout(LOOKUP_CAP), servers=servers)
        except ResolveError as exc:
            where = ", ".join(str(s) for s in servers)
            evidence[view] = {"name": name, "outcome": exc.kind, "error": str(exc),
                              "resolver": f"resolvers {where}" if servers else SYSTEM_RESOLVER}
            continue
        evidence[view] = {"outcome": "ok", **found.to_json()}
        evidence["used"] = {"view": view, "address": found.addresses[0],
                            "resolver": found.resolver}
        return found.addresses[0], evidence
    return None, evidence


class AdfsCheck(Check):
    """Base of the ``adfs`` family: applies only when the profile has ``[adfs]``."""

    requirement = Requirement.ADFS
    needs: tuple[str, ...] = ("dns", "network")  # DNS for the service name, then TCP/TLS

    def applies(self, profile: Profile) -> Text | None:
        if profile.adfs is None:
            return t("The profile has no [adfs] section: AD FS and WAP are not checked.",
                     "Profilen saknar avsnittet [adfs]: AD FS och WAP kontrolleras inte.")
        return None

    def targets(self, profile: Profile) -> list[Target]:
        assert profile.adfs is not None
        return [Target(profile.adfs.federation_service)]


def _budget(ctx: CheckContext, left: int, cap: float) -> float:
    """A fair share of the remaining time for one of ``left`` sequential probes."""
    return ctx.timeout(min(cap, max(0.2, ctx.remaining() / max(left, 1))))


# --- adfs.dns ----------------------------------------------------------------------------------

class AdfsDnsCheck(AdfsCheck):
    """The federation service name resolves inside and outside, in a split-brain layout."""

    id = "adfs.dns"
    title = t("AD FS name in DNS", "AD FS-namnet i DNS")
    description = t(
        "The federation service name resolves through the internal and the external "
        "resolvers; inside it points at the AD FS farm, outside at the Web Application Proxy.",
        "Federationstjänstens namn går att slå upp via de interna och de externa "
        "DNS-servrarna; internt pekar det på AD FS-servrarna, externt på Web Application "
        "Proxy.")
    needs = ("dns",)
    remediation = {
        "default": t(
            "Publish the federation service name in both DNS views: an A record in the "
            "internal zone pointing at the AD FS farm (or its load balancer) and one in the "
            "public zone pointing at the WAP (or the firewall that forwards to it).",
            "Publicera federationstjänstens namn i båda DNS-vyerna: en A-post i den interna "
            "zonen som pekar på AD FS-servrarna (eller deras lastbalanserare) och en i den "
            "publika zonen som pekar på WAP (eller brandväggen som vidarebefordrar dit)."),
        "missing_external": t(
            "Add an A record for the federation service name to the public DNS zone, "
            "pointing at the Web Application Proxy's public address. Without it nobody "
            "outside the network can sign in.",
            "Lägg till en A-post för federationstjänstens namn i den publika DNS-zonen som "
            "pekar på Web Application Proxys publika adress. Utan den kan ingen utanför "
            "nätverket logga in."),
        "missing_internal": t(
            "Add an A record for the federation service name to the internal DNS zone, "
            "pointing at the AD FS farm (or its internal load balancer). The WAP and internal "
            "clients find AD FS through it.",
            "Lägg till en A-post för federationstjänstens namn i den interna DNS-zonen som "
            "pekar på AD FS-servrarna (eller den interna lastbalanseraren). WAP och interna "
            "klienter hittar AD FS genom den."),
        "outside_to_adfs": t(
            "The public DNS answer points at an AD FS server itself. Publish AD FS to the "
            "Internet only through the Web Application Proxy: point the public record at the "
            "WAP.",
            "Det publika DNS-svaret pekar direkt på en AD FS-server. Publicera AD FS mot "
            "internet endast via Web Application Proxy: låt den publika posten peka på WAP."),
        "inside_to_wap": t(
            "The internal DNS answer points at the WAP, so internal users go through the "
            "proxy and lose Windows integrated sign-in. Point the internal record at the AD "
            "FS farm.",
            "Det interna DNS-svaret pekar på WAP, så interna användare går via proxyn och "
            "förlorar Windows-integrerad inloggning. Låt den interna posten peka på "
            "AD FS-servrarna."),
        "no_split": t(
            "Inside and outside get the same address. The usual layout is split-brain DNS: "
            "the internal zone answers with the AD FS farm, the public zone with the WAP. "
            "Confirm that this is intended (e.g. a load balancer in front of both).",
            "Internt och externt ges samma adress. Det vanliga är delad DNS (split-brain): "
            "den interna zonen svarar med AD FS-servrarna, den publika med WAP. Bekräfta att "
            "detta är avsiktligt (t.ex. en lastbalanserare framför båda)."),
        "cname": t(
            "Inside, the federation service name is a CNAME. Browsers build the Kerberos "
            "service name from the canonical name, so Windows integrated sign-in fails: "
            "replace the CNAME with an A record.",
            "Internt är federationstjänstens namn en CNAME. Webbläsare bygger "
            "Kerberos-tjänstenamnet från det kanoniska namnet, så Windows-integrerad "
            "inloggning misslyckas: ersätt CNAME-posten med en A-post."),
    }

    def run(self, ctx: CheckContext, target: Target) -> Result:
        cfg = ctx.profile.adfs
        assert cfg is not None
        fs = cfg.federation_service
        resolvers = ctx.service("dns")
        internal_configured = bool(resolvers.servers("internal"))
        views = (["internal"] if internal_configured else []) + ["external"]
        seen: dict[str, dict[str, Any]] = {}
        for view in views:
            addresses, evidence, outcome = resolve_addresses(ctx, fs, view)
            seen[view] = {"addresses": addresses, "outcome": outcome, "answers": evidence,
                          "resolvers": [str(s) for s in resolvers.servers(view)] or ["system"]}
        if internal_configured and seen["internal"]["outcome"] != "unanswered":
            cname = resolvers.lookup(fs, "CNAME", view="internal",
                                     timeout=ctx.timeout(LOOKUP_CAP))
            seen["internal"]["cname"] = cname.to_json()
        node_addr: dict[str, set[str]] = {"adfs": set(), "wap": set()}
        nodes_ev = []
        node_view = "internal" if internal_configured else "external"
        view_silent = seen[node_view]["outcome"] == "unanswered"
        for node in adfs_nodes(ctx.profile):
            if view_silent and not is_address(node.address):
                nodes_ev.append({"name": node.name, "role": node_role(node),
                                 "address": node.address, "resolved": [],
                                 "outcome": "not asked: the resolvers did not answer"})
                continue
            addrs, _, outcome = resolve_addresses(ctx, node.address, node_view)
            node_addr[node_role(node)].update(addrs)
            nodes_ev.append({"name": node.name, "role": node_role(node),
                             "address": node.address, "resolved": addrs, "outcome": outcome})
        details: dict[str, Any] = {"name": fs, "views": seen, "nodes": nodes_ev}
        if not internal_configured:
            details["note"] = "network.internal_resolvers is empty: only one view was asked"
        findings = self._judge(fs, seen, node_addr, internal_configured)
        inside = ", ".join(seen.get("internal", {}).get("addresses", [])) or "-"
        outside = ", ".join(seen["external"]["addresses"]) or "-"
        ok_en = (f"{fs}: inside → {inside}, outside → {outside}." if internal_configured
                 else f"{fs} → {outside} (no internal resolvers configured).")
        ok_sv = (f"{fs}: internt → {inside}, externt → {outside}." if internal_configured
                 else f"{fs} → {outside} (inga interna DNS-servrar angivna).")
        status, summary, fix = conclude(findings, ok_en, ok_sv)
        if status is not Status.PASS:
            summary = t(f"{ok_en} {summary.en}", f"{ok_sv} {summary.sv}")
        return self.result(target, status, summary, details, fix)

    @staticmethod
    def _judge(fs: str, seen: dict[str, dict[str, Any]], nodes: dict[str, set[str]],
               internal_configured: bool) -> list[Finding]:
        findings: list[Finding] = []
        ext = seen["external"]
        if ext["outcome"] == "missing":
            findings.append(Finding(Status.FAIL, "It does not resolve outside: users on the "
                                    "Internet cannot reach the sign-in page.",
                                    "Namnet går inte att slå upp externt: användare på "
                                    "internet når inte inloggningssidan.", "missing_external"))
        elif ext["outcome"] == "unanswered":
            findings.append(Finding(Status.ERROR, "The external resolvers did not answer.",
                                    "De externa DNS-servrarna svarade inte.", "error"))
        if internal_configured:
            inside = seen["internal"]
            if inside["outcome"] == "missing":
                findings.append(Finding(Status.FAIL, "It does not resolve inside: the WAP "
                                        "and internal clients cannot find AD FS.",
                                        "Namnet går inte att slå upp internt: WAP och interna "
                                        "klienter hittar inte AD FS.", "missing_internal"))
            elif inside["outcome"] == "unanswered":
                findings.append(Finding(Status.ERROR, "The internal resolvers did not answer.",
                                        "De interna DNS-servrarna svarade inte.", "error"))
            if inside.get("cname", {}).get("outcome") == "ok":
                target = ", ".join(inside["cname"]["records"])
                findings.append(Finding(Status.WARN, f"Inside it is a CNAME (→ {target}).",
                                        f"Internt är det en CNAME (→ {target}).", "cname"))
        ext_set = set(ext["addresses"])
        int_set = set(seen.get("internal", {}).get("addresses", []))
        if ext_set & nodes["adfs"]:
            findings.append(Finding(Status.WARN, "The outside answer is an AD FS server "
                                    "itself, not the WAP.", "Det externa svaret är en "
                                    "AD FS-server, inte WAP.", "outside_to_adfs"))
        if int_set & nodes["wap"] and not int_set & nodes["adfs"]:
            findings.append(Finding(Status.WARN, "The inside answer is the WAP, not the AD FS "
                                    "farm.", "Det interna svaret är WAP, inte AD FS-servrarna.",
                                    "inside_to_wap"))
        elif int_set and int_set == ext_set:
            findings.append(Finding(Status.WARN, "Inside and outside get the same answer: no "
                                    "split-brain DNS.", "Internt och externt ges samma svar: "
                                    "ingen delad DNS (split-brain).", "no_split"))
        if findings:
            return findings
        notes: list[Finding] = []
        if int_set and nodes["adfs"] and not int_set & nodes["adfs"]:
            notes.append(Finding(Status.PASS, "The inside address is not a listed AD FS "
                                 "server (a load balancer?).", "Den interna adressen är "
                                 "ingen angiven AD FS-server (en lastbalanserare?)."))
        if ext_set and nodes["wap"] and not ext_set & nodes["wap"]:
            notes.append(Finding(Status.PASS, "The outside address is not a listed WAP "
                                 "(public NAT or a load balancer?).", "Den externa adressen "
                                 "är ingen angiven WAP (publik NAT eller lastbalanserare?)."))
        return notes


# --- adfs.tls ------------------------------------------------------------------------------------

def certificate_findings(cert: CertInfo, now: dt.datetime, warn_days: int,
                         what_en: str, what_sv: str) -> list[Finding]:
    """Expiry findings for one certificate (expired fails, within ``warn_days`` warns)."""
    days = cert.days_left(now)
    end = cert.not_after.date().isoformat()
    if cert.not_before > now:
        return [Finding(Status.FAIL, f"The {what_en} is not valid before "
                        f"{cert.not_before.date().isoformat()}.",
                        f"{what_sv[:1].upper() + what_sv[1:]} gäller inte förrän "
                        f"{cert.not_before.date().isoformat()}.", "not_yet_valid")]
    if cert.not_after <= now:
        return [Finding(Status.FAIL, f"The {what_en} expired on {end}.",
                        f"{what_sv[:1].upper() + what_sv[1:]} gick ut {end}.", "expired",
                        due=cert.not_after)]
    if days < warn_days:
        return [Finding(Status.WARN, f"The {what_en} expires in {days} days ({end}).",
                        f"{what_sv[:1].upper() + what_sv[1:]} går ut om {days} dagar ({end}).",
                        "expiring", due=cert.not_after)]
    return []


class AdfsTlsCheck(AdfsCheck):
    """The certificate AD FS and WAP serve for the federation service name."""

    id = "adfs.tls"
    owners = {"verify_off": "supplier"}
    title = t("AD FS TLS certificate", "AD FS TLS-certifikat")
    description = t(
        "Every AD FS and WAP node, and the service name itself, serves a trusted, unexpired "
        "certificate for the federation service name over TLS 1.2 or newer.",
        "Varje AD FS- och WAP-server, och tjänstenamnet självt, visar ett betrott och giltigt "
        "certifikat för federationstjänstens namn över TLS 1.2 eller senare.")
    remediation = {
        "default": t(
            "Bind a valid certificate for the federation service name on AD FS "
            "(Set-AdfsSslCertificate) and on every WAP (Set-WebApplicationProxySslCertificate).",
            "Bind ett giltigt certifikat för federationstjänstens namn på AD FS "
            "(Set-AdfsSslCertificate) och på varje WAP (Set-WebApplicationProxySslCertificate)."),
        "expired": t(
            "The SSL certificate has expired: browsers and federation partners refuse the "
            "sign-in page. Install a renewed certificate on every AD FS node "
            "(Set-AdfsSslCertificate -Thumbprint …) and every WAP "
            "(Set-WebApplicationProxySslCertificate -Thumbprint …).",
            "SSL-certifikatet har gått ut: webbläsare och federationspartner vägrar "
            "inloggningssidan. Installera ett förnyat certifikat på varje AD FS-server "
            "(Set-AdfsSslCertificate -Thumbprint …) och varje WAP "
            "(Set-WebApplicationProxySslCertificate -Thumbprint …)."),
        "not_yet_valid": t(
            "The certificate is not valid yet: check the server's clock and the certificate's "
            "start date.",
            "Certifikatet gäller inte ännu: kontrollera serverns klocka och certifikatets "
            "startdatum."),
        "expiring": t(
            "Renew the SSL certificate before it expires and bind it on every AD FS node and "
            "WAP (Set-AdfsSslCertificate, Set-WebApplicationProxySslCertificate).",
            "Förnya SSL-certifikatet innan det går ut och bind det på varje AD FS-server och "
            "WAP (Set-AdfsSslCertificate, Set-WebApplicationProxySslCertificate)."),
        "name_mismatch": t(
            "The certificate does not name the federation service. Issue one whose subject "
            "alternative names include it and bind it on AD FS and every WAP.",
            "Certifikatet gäller inte federationstjänstens namn. Utfärda ett certifikat vars "
            "alternativa namn (SAN) innehåller det och bind det på AD FS och varje WAP."),
        "self_signed": t(
            "A self-signed SSL certificate is trusted by no browser or partner. Replace it "
            "with one from a public CA (or your enterprise CA for internal-only use).",
            "Ett självsignerat SSL-certifikat litar ingen webbläsare eller partner på. Ersätt "
            "det med ett från en publik CA (eller er interna CA om tjänsten bara används "
            "internt)."),
        "untrusted": t(
            "This machine does not trust the certificate's issuer. If it comes from your own "
            "CA, give that CA's certificate in [adfs] ca_file and run again; otherwise install "
            "a certificate from a trusted CA, with its intermediate certificates.",
            "Den här datorn litar inte på certifikatets utfärdare. Kommer det från er egen CA, "
            "ange CA-certifikatet i [adfs] ca_file och kör igen; annars installera ett "
            "certifikat från en betrodd CA, med mellanliggande certifikat."),
        "old_tls": t(
            "Enable TLS 1.2 (and 1.3 where available) in SCHANNEL on AD FS and WAP, with the "
            "same settings on both; current browsers and Microsoft Entra refuse older "
            "versions.",
            "Aktivera TLS 1.2 (och 1.3 där det finns) i SCHANNEL på AD FS och WAP, med samma "
            "inställningar på båda; dagens webbläsare och Microsoft Entra vägrar äldre "
            "versioner."),
        "verify_off": t(
            "Certificate verification is turned off in the profile (verify = false): the "
            "result says nothing about trust. Remove verify = false, and give ca_file if the "
            "certificate comes from your own CA.",
            "Certifikatkontrollen är avstängd i profilen (verify = false): resultatet säger "
            "inget om förtroende. Ta bort verify = false och ange ca_file om certifikatet "
            "kommer från er egen CA."),
        "no_binding": t(
            "The server resets TLS even with the right server name: no SSL binding exists "
            "for the federation service name. Check Get-AdfsSslCertificate (AD FS) or "
            "netsh http show sslcert (WAP).",
            "Servern återställer TLS även med rätt servernamn: det finns ingen SSL-bindning "
            "för federationstjänstens namn. Kontrollera Get-AdfsSslCertificate (AD FS) eller "
            "netsh http show sslcert (WAP)."),
        "unreachable": t(
            "The HTTPS port cannot be reached from here: check the address (or name) in the "
            "profile, that the VPN routes to it, and that the firewalls let this machine "
            "reach the port.",
            "HTTPS-porten går inte att nå härifrån: kontrollera adressen (eller namnet) i "
            "profilen, att VPN:et routar dit och att brandväggarna släpper fram den här "
            "datorn till porten."),
        "refused": t(
            "Nothing accepts connections on the HTTPS port. Start the AD FS service "
            "(adfssrv) or the WAP service (appproxysvc), and open the port in the firewall.",
            "Inget tar emot anslutningar på HTTPS-porten. Starta AD FS-tjänsten (adfssrv) "
            "eller WAP-tjänsten (appproxysvc) och öppna porten i brandväggen."),
        "handshake": t(
            "The TLS handshake fails. Check the SSL binding and SCHANNEL protocol and cipher "
            "settings on the server.",
            "TLS-handskakningen misslyckas. Kontrollera SSL-bindningen och SCHANNEL-"
            "inställningarna för protokoll och chiffer på servern."),
    }

    def targets(self, profile: Profile) -> list[Target]:
        assert profile.adfs is not None
        fs = profile.adfs.federation_service
        return [Target(fs), *(Target(s.name, s) for s in adfs_nodes(profile))]

    def run(self, ctx: CheckContext, target: Target) -> Result:
        cfg = ctx.profile.adfs
        assert cfg is not None
        fs = cfg.federation_service
        server: Server | None = target.data
        details: dict[str, Any] = {"sni": fs, "port": https_port(cfg, server)}
        if server is None:
            address, dns_ev = service_address(ctx, fs)
            details["dns"] = dns_ev
            if address is None:
                return self.result(target, Status.ERROR, t(
                    f"{fs} does not resolve here, so its certificate cannot be checked "
                    "(see adfs.dns).", f"{fs} går inte att slå upp härifrån, så certifikatet "
                    "kan inte kontrolleras (se adfs.dns)."), details, "error")
        else:
            address = server.address
            details["role"] = node_role(server)
        details["address"] = address
        opts = tls_options(ctx.profile, server)
        details["trust"] = {"ca_file": opts.ca_file, "verify": opts.verify}
        handshake = tls_handshake(address, https_port(cfg, server), tls=opts, server_name=fs,
                                  timeout=ctx.timeout(CONNECT_CAP))
        if not handshake.ok:
            details["failure"] = handshake.to_json()
            old_tls = False
            if handshake.kind == "tls":
                details["modern_only"] = self._modern_only(ctx, address,
                                                           https_port(cfg, server), fs)
                old_tls = bool(details["modern_only"].get("protocol_refused"))
            status, summary, fix = self._failed(handshake, old_tls)
            return self.result(target, status, summary, details, fix)
        info: TlsInfo = handshake.facts["tls"]
        details["tls"] = info.to_json()
        if info.verification_disabled:
            details[INSECURE] = verify_off_note(f"{fs} ({address})")
        sni_note = self._without_sni(ctx, address, https_port(cfg, server), details)
        findings = self._judge(info, fs, ctx.now(), cfg.cert_warn_days)
        cert = info.cert
        ok_en = ok_sv = ""
        if cert is not None:
            end = cert.not_after.date().isoformat()
            days = cert.days_left(ctx.now())
            trust_en = "trusted chain" if info.verified else "chain not verified"
            trust_sv = "betrodd kedja" if info.verified else "kedjan ej verifierad"
            ok_en = (f"{cert.subject} valid until {end} ({days} days), {trust_en}, "
                     f"{info.version}.")
            ok_sv = (f"{cert.subject} giltigt till {end} ({days} dagar), {trust_sv}, "
                     f"{info.version}.")
        findings.append(sni_note)
        status, summary, fix = conclude(findings, ok_en, ok_sv)
        if status is not Status.PASS and sni_note.en:
            summary = t(f"{summary.en} {sni_note.en}", f"{summary.sv} {sni_note.sv}")
        return self.result(target, status, summary, details, fix, due=earliest_due(findings))

    @staticmethod
    def _failed(failure: ProbeOutcome, old_tls: bool) -> tuple[Status, Text, str | None]:
        said = describe_failure(failure.target, failure, detail=True)
        en, sv = said.en.rstrip("."), said.sv.rstrip(".")
        no_tls = t(f"No TLS connection: {en}.", f"Ingen TLS-anslutning: {sv}.")
        if failure.status is Status.ERROR:
            return Status.ERROR, no_tls, "error"
        if failure.kind == "refused":
            return Status.FAIL, no_tls, "refused"
        if failure.kind in ("timeout", "unreachable", "dns"):
            return Status.FAIL, no_tls, "unreachable"
        if failure.kind == "silent":
            return Status.FAIL, no_tls, "handshake"
        if failure.kind == "reset":
            return Status.FAIL, t(f"The server reset the TLS handshake even with SNI: {en}.",
                                  f"Servern återställde TLS-handskakningen trots SNI: {sv}."), \
                "no_binding"
        if old_tls:
            return Status.FAIL, t(
                "The server does not offer TLS 1.2 or newer: it answers a TLS 1.2/1.3 "
                "handshake with a protocol-version alert.",
                "Servern erbjuder inte TLS 1.2 eller senare: den svarar på en TLS 1.2/1.3-"
                "handskakning med ett larm om protokollversion."), "old_tls"
        return Status.FAIL, t(f"The TLS handshake failed: {en}.",
                              f"TLS-handskakningen misslyckades: {sv}."), "handshake"

    @staticmethod
    def _modern_only(ctx: CheckContext, address: str, port: int, fs: str) -> dict[str, Any]:
        """A handshake offering only TLS 1.2+, to tell "too old" from other TLS failures.

        Runs only when even the observing handshake (TLS 1.0+, any cipher) failed: that
        one can fail on ciphers against a very old server, which hides the real cause.
        Offering 1.2+ alone makes such a server answer with a protocol-version alert.
        """
        if ctx.remaining() < 1.0:
            return {"tried": False}
        outcome = modern_tls_handshake(address, port, fs, ctx.timeout(NO_SNI_CAP))
        return {"tried": True, "answered": outcome.ok, **outcome.to_json()}

    @staticmethod
    def _without_sni(ctx: CheckContext, address: str, port: int,
                     details: dict[str, Any]) -> Finding:
        """A second handshake without SNI, for information: AD FS and WAP normally reset."""
        if ctx.remaining() < 1.0:
            details["without_sni"] = {"tried": False, "reason": "not enough time left"}
            return Finding(Status.PASS, "", "")
        handshake = tls_handshake(address, port, tls=TlsOptions(verify=False), server_name=None,
                                  timeout=ctx.timeout(NO_SNI_CAP))
        if not handshake.ok:
            details["without_sni"] = {"tried": True, "answered": False, **handshake.to_json()}
            return Finding(Status.PASS, "Without SNI the server refuses TLS, as AD FS and WAP "
                           "do by default (information).", "Utan SNI vägrar servern TLS, som "
                           "AD FS och WAP gör som standard (information).")
        details["without_sni"] = {"tried": True, "answered": True}
        return Finding(Status.PASS, "It also answers without SNI (a fallback binding exists).",
                       "Den svarar även utan SNI (det finns en reservbindning).")

    @staticmethod
    def _judge(info: TlsInfo, fs: str, now: dt.datetime, warn_days: int) -> list[Finding]:
        findings: list[Finding] = []
        if info.verification_disabled:
            findings.append(Finding(Status.WARN, "Certificate verification is OFF in the "
                                    "profile (verify = false).", "Certifikatkontrollen är "
                                    "AVSTÄNGD i profilen (verify = false).", "verify_off"))
        cert = info.cert
        if cert is None:
            findings.append(Finding(Status.ERROR, "The server sent no readable certificate.",
                                    "Servern skickade inget läsbart certifikat.", "handshake"))
            return findings
        findings += certificate_findings(cert, now, warn_days, "certificate", "certifikatet")
        if not cert.matches(fs):
            names = ", ".join((*cert.dns_names, *cert.ip_addresses)) or cert.common_name or "-"
            findings.append(Finding(Status.FAIL, f"The certificate does not cover {fs} "
                                    f"(it names {names}).", f"Certifikatet gäller inte {fs} "
                                    f"(det anger {names}).", "name_mismatch"))
        if not info.verified and not info.verification_disabled:
            if info.verify_kind == "old_tls":
                pass  # the negotiated version is judged below; trust was not checked
            elif info.verify_kind == "weak_tls":
                findings.append(Finding(Status.WARN, "A current TLS client refuses the "
                                        f"handshake ({info.verify_error}): weak ciphers, keys "
                                        "or signatures; trust was not checked.",
                                        "En aktuell TLS-klient vägrar handskakningen "
                                        f"({info.verify_error}): svaga chiffer, nycklar eller "
                                        "signaturer; tilliten kontrollerades inte.",
                                        "handshake"))
            elif cert.self_signed:
                findings.append(Finding(Status.FAIL, "The certificate is self-signed.",
                                        "Certifikatet är självsignerat.", "self_signed"))
            elif info.verify_kind not in ("expired", "name_mismatch", "not_yet_valid"):
                findings.append(Finding(Status.WARN, "This machine does not trust its issuer "
                                        f"({cert.issuer}): {info.verify_error}.",
                                        "Den här datorn litar inte på utfärdaren "
                                        f"({cert.issuer}): {info.verify_error}.", "untrusted"))
        if not modern_tls(info.version):
            findings.append(Finding(Status.FAIL, f"Only {info.version} was negotiated; TLS 1.2 "
                                    "or newer is needed.", f"Endast {info.version} förhandlades; "
                                    "TLS 1.2 eller senare krävs.", "old_tls"))
        return findings


# --- adfs.metadata ----------------------------------------------------------------------------

@dataclass
class MetadataPath:
    """One way to the metadata: through a WAP, directly from AD FS, or via the name."""

    label: str
    kind: str  # "wap" | "direct" | "service"
    address: str | None
    server: Server | None = None
    fingerprint: str | None = None
    entity_id: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


def metadata_paths(profile: Profile) -> list[MetadataPath]:
    """Every WAP, every AD FS node; the service name itself when no WAP is listed."""
    paths = [MetadataPath(f"{s.name} (WAP)", "wap", s.address, s) for s in adfs_nodes(profile)
             if node_role(s) == "wap"]
    direct = [MetadataPath(f"{s.name} (AD FS)", "direct", s.address, s) for s in adfs_nodes(profile)
              if node_role(s) == "adfs"]
    assert profile.adfs is not None
    if not paths:
        paths.append(MetadataPath(profile.adfs.federation_service, "service", None))
    return paths + direct


class AdfsMetadataCheck(AdfsCheck):
    """Federation metadata: reachable, well-formed, its certificates, the same everywhere."""

    id = "adfs.metadata"
    title = t("Federation metadata", "Federationsmetadata")
    description = t(
        "FederationMetadata.xml is served through every WAP and directly by AD FS, parses "
        "safely, and its token-signing and token-decrypting certificates are not expiring.",
        "FederationMetadata.xml levereras via varje WAP och direkt av AD FS, kan tolkas "
        "säkert, och dess certifikat för tokensignering och tokendekryptering går inte ut.")
    remediation = {
        "default": t(
            "Check that AD FS serves /FederationMetadata/2007-06/FederationMetadata.xml and "
            "that every WAP publishes it.",
            "Kontrollera att AD FS levererar /FederationMetadata/2007-06/"
            "FederationMetadata.xml och att varje WAP publicerar den."),
        "fetch_failed": t(
            "The metadata could not be fetched on this path. Check that the AD FS service "
            "(adfssrv) runs and that the WAP can reach AD FS (firewall, DNS or hosts file on "
            "the WAP, proxy trust).",
            "Metadata kunde inte hämtas den här vägen. Kontrollera att AD FS-tjänsten "
            "(adfssrv) körs och att WAP når AD FS (brandvägg, DNS eller hosts-fil på WAP, "
            "proxyförtroende)."),
        "backend": t(
            "The WAP answers but cannot get the metadata from AD FS: sign-in through this WAP "
            "fails. Check the AD FS service, the WAP's name resolution of the federation "
            "service (DNS or hosts file), the firewall from WAP to AD FS on 443, and the proxy "
            "trust (Install-WebApplicationProxy).",
            "WAP svarar men får inte metadata från AD FS: inloggning via denna WAP "
            "misslyckas. Kontrollera AD FS-tjänsten, WAP:ens namnuppslagning av "
            "federationstjänsten (DNS eller hosts-fil), brandväggen från WAP till AD FS på 443 "
            "och proxyförtroendet (Install-WebApplicationProxy)."),
        "hostile": t(
            "The answer carries a DTD (an entity-expansion bomb or an external entity). AD FS "
            "never sends that: find out what answers on this address instead of AD FS.",
            "Svaret innehåller en DTD (en entitetsbomb eller en extern entitet). Det skickar "
            "AD FS aldrig: ta reda på vad som svarar på adressen i stället för AD FS."),
        "not_metadata": t(
            "The answer is not federation metadata. Check what answers on this address (an "
            "error page, another web server, a captive portal).",
            "Svaret är inte federationsmetadata. Kontrollera vad som svarar på adressen (en "
            "felsida, en annan webbserver, en inloggningsportal)."),
        "expired": t(
            "A token-signing or token-decrypting certificate has expired: relying parties "
            "reject the tokens. Renew it (Update-AdfsCertificate -CertificateType "
            "Token-Signing -Urgent with AutoCertificateRollover, or install and set a new "
            "one), then have every relying party, including the supplier's integration, read "
            "the new metadata.",
            "Ett certifikat för tokensignering eller tokendekryptering har gått ut: "
            "förlitande parter avvisar token. Förnya det (Update-AdfsCertificate "
            "-CertificateType Token-Signing -Urgent med AutoCertificateRollover, eller "
            "installera och ange ett nytt) och låt sedan varje förlitande part, även "
            "leverantörens integration, läsa in den nya metadatan."),
        "expiring": t(
            "A token-signing or token-decrypting certificate expires soon. With "
            "AutoCertificateRollover AD FS makes the successor 20 days before expiry and "
            "promotes it 5 days later; tell the supplier so its integration trusts the new "
            "certificate before promotion. Without rollover, renew it now.",
            "Ett certifikat för tokensignering eller tokendekryptering går snart ut. Med "
            "AutoCertificateRollover skapar AD FS efterträdaren 20 dagar före utgången och "
            "befordrar den 5 dagar senare; meddela leverantören så att integrationen litar "
            "på det nya certifikatet före befordran. Utan automatisk förnyelse: förnya nu."),
        "rollover": t(
            "Two token-signing certificates are published: a rollover is under way. Relying "
            "parties that do not read metadata automatically (such as the supplier's SSO "
            "integration) must add the new certificate before AD FS promotes it.",
            "Två certifikat för tokensignering publiceras: ett certifikatbyte pågår. "
            "Förlitande parter som inte läser metadata automatiskt (som leverantörens "
            "SSO-integration) måste lägga till det nya certifikatet innan AD FS befordrar det."),
        "unsigned": t(
            "The metadata is not signed, which AD FS always does. Check what serves it.",
            "Metadatan är inte signerad, vilket AD FS alltid gör. Kontrollera vad som "
            "levererar den."),
        "different": t(
            "Different paths serve different metadata: a WAP publishes another farm, or a "
            "stale copy is served. Partners that read the wrong copy reject the tokens: "
            "publish the same AD FS through every WAP (Get-WebApplicationProxyConfiguration "
            "ADFSUrl).",
            "Olika vägar levererar olika metadata: en WAP publicerar en annan AD FS-farm, "
            "eller en gammal kopia levereras. Partner som läser fel kopia avvisar token: "
            "publicera samma AD FS via varje WAP (Get-WebApplicationProxyConfiguration "
            "ADFSUrl)."),
        "cert_unreadable": t(
            "A certificate in the metadata cannot be read. Check the AD FS certificates "
            "(Get-AdfsCertificate).",
            "Ett certifikat i metadatan går inte att läsa. Kontrollera AD FS-certifikaten "
            "(Get-AdfsCertificate)."),
    }

    def run(self, ctx: CheckContext, target: Target) -> list[Result]:
        from accessready.agent.io.tls import parse_certificate
        from accessready.checks.protocols.fedmeta import MAX_METADATA_BYTES

        cfg = ctx.profile.adfs
        assert cfg is not None
        paths = metadata_paths(ctx.profile)
        results: list[Result] = []
        # sha256 -> (use, CertInfo | None, der, [path labels], [roles])
        certs: dict[str, dict[str, Any]] = {}
        for i, path in enumerate(paths):
            results.append(self._fetch(ctx, path, len(paths) - i, cfg, MAX_METADATA_BYTES,
                                       certs))
        parsed = [p for p in paths if p.fingerprint]
        now = ctx.now()
        for sha, entry in certs.items():
            results.append(self._cert_result(entry, sha, now, cfg.cert_warn_days,
                                             parse_certificate))
        signing = [e for e in certs.values() if e["use"] == "signing"]
        if len(signing) > 1:
            ends = sorted(e["info"].not_after.date().isoformat() for e in signing
                          if e["info"] is not None)
            results.append(self.result("token-signing rollover", Status.WARN, t(
                f"{len(signing)} token-signing certificates are published (valid until "
                f"{', '.join(ends)}): a rollover is under way.",
                f"{len(signing)} certifikat för tokensignering publiceras (giltiga till "
                f"{', '.join(ends)}): ett certifikatbyte pågår."),
                {"certificates": [e["info"].to_json() for e in signing if e["info"]]},
                "rollover"))
        if len(parsed) > 1:
            results.append(self._compare(parsed))
        return results

    def _fetch(self, ctx: CheckContext, path: MetadataPath, left: int, cfg: AdfsCfg, cap_bytes: int,
               certs: dict[str, dict[str, Any]]) -> Result:
        from accessready.checks.protocols.fedmeta import MetadataParseError, parse_metadata

        fs = cfg.federation_service
        details: dict[str, Any] = {"path": path.kind, "url": f"https://{fs}{METADATA_PATH}"}
        address = path.address
        if address is None:
            address, dns_ev = service_address(ctx, fs)
            details["dns"] = dns_ev
            if address is None:
                return self.result(path.label, Status.ERROR, t(
                    f"{fs} does not resolve here (see adfs.dns).",
                    f"{fs} går inte att slå upp härifrån (se adfs.dns)."), details, "error")
        details["address"] = address
        exchange = http_request(address, https_port(cfg, path.server), "GET", METADATA_PATH,
                                tls=tls_options(ctx.profile, path.server), server_name=fs,
                                timeout=_budget(ctx, left, CONNECT_CAP),
                                max_body=cap_bytes + 1, body_excerpt=200)
        if not exchange.ok:
            details["failure"] = exchange.to_json()
            said = describe_failure(exchange.target, exchange, detail=True)
            status = exchange.status
            return self.result(path.label, status, t(f"Metadata not fetched: {said.en}",
                               f"Metadata kunde inte hämtas: {said.sv}"), details,
                               "error" if status is Status.ERROR else "fetch_failed")
        details["http"] = exchange.to_json()
        response = exchange.answer
        if response.status != 200:
            if path.kind == "wap":
                return self.result(path.label, Status.FAIL, t(
                    f"The WAP answered HTTP {response.status}: it does not get the metadata "
                    "from AD FS behind it.", f"WAP svarade HTTP {response.status}: den får "
                    "inte metadata från AD FS bakom sig."), details, "backend")
            return self.result(path.label, Status.FAIL, t(
                f"HTTP {response.status} instead of the metadata.",
                f"HTTP {response.status} i stället för metadata."), details, "fetch_failed")
        try:
            meta = parse_metadata(response.body, max_bytes=cap_bytes)
        except MetadataParseError as exc:
            details["parse_error"] = {"kind": exc.kind, "message": str(exc)}
            fix = "hostile" if exc.kind == "dtd" else "not_metadata"
            return self.result(path.label, Status.FAIL, t(
                f"The answer was refused as metadata: {exc}.",
                f"Svaret godtogs inte som metadata: {exc}."), details, fix)
        path.fingerprint = meta.fingerprint()
        path.entity_id = meta.entity_id
        for use, ders in (("signing", meta.signing_certs()),
                          ("encryption", meta.encryption_certs())):
            for der in ders:
                sha = hashlib.sha256(der).hexdigest()
                entry = certs.setdefault(sha, {"use": use, "der": der, "paths": [],
                                               "roles": meta.roles_of(der, use), "info": None})
                entry["paths"].append(path.label)
        details.update({"entity_id": meta.entity_id, "signed": meta.signed,
                        "document_id": meta.document_id, "bytes": meta.size,
                        "roles": list(meta.roles), "fingerprint": path.fingerprint,
                        "signing_certificates": len(meta.signing_certs()),
                        "encryption_certificates": len(meta.encryption_certs())})
        via_en = {"wap": " through the WAP (AD FS behind it answers)",
                  "direct": " directly from AD FS", "service": ""}[path.kind]
        via_sv = {"wap": " via WAP (AD FS bakom den svarar)", "direct": " direkt från AD FS",
                  "service": ""}[path.kind]
        if not meta.signed:
            return self.result(path.label, Status.WARN, t(
                f"Metadata{via_en} for {meta.entity_id} carries no signature.",
                f"Metadata{via_sv} för {meta.entity_id} saknar signatur."), details,
                "unsigned")
        return self.result(path.label, Status.PASS, t(
            f"Signed metadata{via_en}: entityID {meta.entity_id}, "
            f"{len(meta.signing_certs())} signing and {len(meta.encryption_certs())} "
            "encryption certificate(s).",
            f"Signerad metadata{via_sv}: entityID {meta.entity_id}, "
            f"{len(meta.signing_certs())} signerings- och {len(meta.encryption_certs())} "
            "krypteringscertifikat."), details)

    def _cert_result(self, entry: dict[str, Any], sha: str, now: dt.datetime, warn_days: int,
                     parse: Any) -> Result:
        use = entry["use"]
        label_en = "token-signing" if use == "signing" else "token-decrypting"
        label_sv = "tokensignering" if use == "signing" else "tokendekryptering"
        details: dict[str, Any] = {"use": use, "roles": entry["roles"],
                                   "served_by": entry["paths"], "sha256": sha}
        try:
            info: CertInfo = parse(entry["der"])
        except Exception as exc:  # cryptography raises ValueError and friends on bad DER
            details["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
            return self.result(f"{label_en} {sha[:8]}", Status.WARN, t(
                f"A {label_en} certificate in the metadata cannot be read.",
                f"Ett certifikat för {label_sv} i metadatan går inte att läsa."), details,
                "cert_unreadable")
        entry["info"] = info
        details["certificate"] = info.to_json()
        details["days_left"] = info.days_left(now)
        name = info.common_name or info.subject
        target = f"{label_en} {name} [{info.sha1[:8]}]"
        findings = certificate_findings(info, now, warn_days, f"{label_en} certificate {name}",
                                        f"certifikatet för {label_sv} {name}")
        end = info.not_after.date().isoformat()
        status, summary, fix = conclude(findings, (
            f"The {label_en} certificate {name} is valid until {end} "
            f"({info.days_left(now)} days)."), (
            f"Certifikatet för {label_sv} {name} gäller till {end} "
            f"({info.days_left(now)} dagar)."))
        return self.result(target, status, summary, details, fix, due=earliest_due(findings))

    def _compare(self, parsed: list[MetadataPath]) -> Result:
        groups: dict[str, list[str]] = {}
        for p in parsed:
            groups.setdefault(p.fingerprint or "", []).append(p.label)
        details = {"paths": {p.label: {"fingerprint": p.fingerprint, "entity_id": p.entity_id}
                             for p in parsed}}
        if len(groups) == 1:
            both = len(parsed) == 2
            return self.result("metadata consistency", Status.PASS, t(
                "Both paths serve the same metadata." if both else
                f"All {len(parsed)} paths serve the same metadata.",
                "Båda vägarna levererar samma metadata." if both else
                f"Alla {len(parsed)} vägar levererar samma metadata."), details)
        split = "; ".join(" = ".join(labels) for labels in groups.values())
        return self.result("metadata consistency", Status.WARN, t(
            f"The paths serve different metadata ({split}).",
            f"Vägarna levererar olika metadata ({split})."), details, "different")


# --- adfs.probe ------------------------------------------------------------------------------

def probe_nodes(ctx: CheckContext) -> list[tuple[str, str, str | None, Server | None]]:
    """(label, role, address, server) for every node; the service name if none is listed."""
    nodes = [(s.name, node_role(s), s.address, s) for s in adfs_nodes(ctx.profile)]
    if nodes:
        return nodes
    cfg = ctx.profile.adfs
    assert cfg is not None
    return [(cfg.federation_service, "service", None, None)]


class AdfsProbeCheck(AdfsCheck):
    """``/adfs/probe`` on every node, and proof that each WAP reaches AD FS."""

    id = "adfs.probe"
    title = t("AD FS health probe", "AD FS hälsoprob")
    description = t(
        "http://<node>/adfs/probe answers 200 on every AD FS and WAP node, as load balancers "
        "expect; through every WAP, /adfs/services/trust/mex (or, where the proxy turns mex "
        "off, signed federation metadata) proves that AD FS answers.",
        "http://<server>/adfs/probe svarar 200 på varje AD FS- och WAP-server, som "
        "lastbalanserare förväntar sig; via varje WAP visar /adfs/services/trust/mex (eller, "
        "där proxyn stängt av mex, signerad federationsmetadata) att AD FS svarar.")
    remediation = {
        "default": t(
            "Start the AD FS service (adfssrv) or the WAP service (appproxysvc) on the node "
            "and allow TCP 80 to it for health probes.",
            "Starta AD FS-tjänsten (adfssrv) eller WAP-tjänsten (appproxysvc) på servern och "
            "tillåt TCP 80 till den för hälsoprober."),
        "down": t(
            "This node fails its health probe, so load balancers take it out of service. "
            "Start the AD FS service (adfssrv) or the WAP service (appproxysvc), and allow "
            "TCP 80 to /adfs/probe.",
            "Den här servern klarar inte hälsoproben, så lastbalanserare tar den ur drift. "
            "Starta AD FS-tjänsten (adfssrv) eller WAP-tjänsten (appproxysvc) och tillåt "
            "TCP 80 till /adfs/probe."),
        "backend": t(
            "The WAP itself is up, but AD FS behind it does not answer through it: sign-in "
            "through this WAP fails while load balancers keep sending users to it. Check the "
            "AD FS service, the WAP's name resolution of the federation service, the firewall "
            "from WAP to AD FS on 443, and the proxy trust (Install-WebApplicationProxy).",
            "WAP är uppe, men AD FS bakom den svarar inte genom den: inloggning via denna WAP "
            "misslyckas medan lastbalanserare fortsätter skicka användare dit. Kontrollera "
            "AD FS-tjänsten, WAP:ens namnuppslagning av federationstjänsten, brandväggen från "
            "WAP till AD FS på 443 och proxyförtroendet (Install-WebApplicationProxy)."),
    }

    def run(self, ctx: CheckContext, target: Target) -> list[Result]:
        cfg = ctx.profile.adfs
        assert cfg is not None
        nodes = probe_nodes(ctx)
        outcomes: list[tuple[str, str, str, dict[str, Any]]] = []  # label, role, state, details
        for i, (label, role, address, server) in enumerate(nodes):
            left = len(nodes) - i
            details: dict[str, Any] = {"role": role, "port": http_port(cfg, server)}
            if address is None:
                address, dns_ev = service_address(ctx, cfg.federation_service)
                details["dns"] = dns_ev
            details["address"] = address
            if address is None:
                outcomes.append((label, role, "unresolved", details))
                continue
            state = self._probe(ctx, address, left, cfg, server, details)
            if state == "up" and role in ("wap", "service"):
                state = self._backend(ctx, address, left, cfg, server, details)
            outcomes.append((label, role, state, details))
        up_roles = {role for _, role, state, _ in outcomes
                    if state in ("up", "proven", "proven_by_metadata")}
        return [self._result(label, role, state, details, role in up_roles)
                for label, role, state, details in outcomes]

    @staticmethod
    def _probe(ctx: CheckContext, address: str, left: int, cfg: AdfsCfg,
               server: Server | None, details: dict[str, Any]) -> str:
        exchange = http_request(address, http_port(cfg, server), "GET", PROBE_PATH,
                                timeout=_budget(ctx, left * 2, CONNECT_CAP), max_body=65536,
                                body_excerpt=120)
        details["probe"] = exchange.to_json()
        if not exchange.ok:
            return "unknown" if exchange.status is Status.ERROR else "down"
        return "up" if exchange.answer.status == 200 else "down"

    @staticmethod
    def _backend(ctx: CheckContext, address: str, left: int, cfg: AdfsCfg,
                 server: Server | None, details: dict[str, Any]) -> str:
        from accessready.checks.protocols.fedmeta import MetadataParseError, parse_mex

        exchange = AdfsProbeCheck._through(ctx, address, left, cfg, server, MEX_PATH)
        details["mex"] = exchange.to_json()
        if not exchange.ok:
            return "backend_unknown" if exchange.status is Status.ERROR else "backend_down"
        if exchange.answer.status != 200:
            return AdfsProbeCheck._metadata_proof(ctx, address, left, cfg, server, details)
        try:
            mex = parse_mex(exchange.answer.body)
        except MetadataParseError as exc:
            details["mex_parse_error"] = str(exc)
            return AdfsProbeCheck._metadata_proof(ctx, address, left, cfg, server, details)
        details["mex_endpoints"] = list(mex.addresses[:10])
        return "proven"

    @staticmethod
    def _through(ctx: CheckContext, address: str, left: int, cfg: AdfsCfg,
                 server: Server | None, path: str) -> ProbeOutcome:
        """GET ``path`` over HTTPS from the node, as the federation service name."""
        return http_request(address, https_port(cfg, server), "GET", path,
                            tls=tls_options(ctx.profile, server),
                            server_name=cfg.federation_service,
                            timeout=_budget(ctx, left * 2 - 1, CONNECT_CAP), body_excerpt=120)

    @staticmethod
    def _metadata_proof(ctx: CheckContext, address: str, left: int, cfg: AdfsCfg,
                        server: Server | None, details: dict[str, Any]) -> str:
        """mex did not answer as AD FS does (hardened proxies turn it off): signed federation
        metadata through the same WAP proves AD FS behind it answers just as well."""
        from accessready.checks.protocols.fedmeta import MetadataParseError, parse_metadata

        exchange = AdfsProbeCheck._through(ctx, address, left, cfg, server, METADATA_PATH)
        details["metadata"] = exchange.to_json()
        if not exchange.ok:
            # as for mex: our own deadline or resolver proves nothing about the back end
            return "backend_unknown" if exchange.status is Status.ERROR else "backend_down"
        if exchange.answer.status != 200:
            return "backend_down"
        try:
            meta = parse_metadata(exchange.answer.body)
        except MetadataParseError as exc:
            details["metadata_parse_error"] = str(exc)
            return "backend_down"
        details["metadata_entity_id"] = meta.entity_id
        details["metadata_signed"] = meta.signed
        return "proven_by_metadata" if meta.signed else "backend_down"

    def _result(self, label: str, role: str, state: str, details: dict[str, Any],
                role_up: bool) -> Result:
        name = role_label(role)
        note_en = ("(/adfs/probe on a WAP answers even when AD FS behind it is down; "
                   "only the mex fetch proves the back end.)")
        note_sv = ("(/adfs/probe på en WAP svarar även när AD FS bakom den är nere; "
                   "först hämtningen av mex visar att AD FS svarar.)")
        if state == "unresolved":
            return self.result(label, Status.ERROR, t(
                "The federation service name does not resolve here (see adfs.dns).",
                "Federationstjänstens namn går inte att slå upp härifrån (se adfs.dns)."),
                details, "error")
        if state == "unknown":
            return self.result(label, Status.ERROR, t(
                f"{name}: /adfs/probe could not be reached from here "
                f"({details['probe'].get('message', '')}).",
                f"{name}: /adfs/probe gick inte att nå härifrån "
                f"({details['probe'].get('message', '')})."), details, "error")
        if state == "down":
            shown = details["probe"].get("status") or details["probe"].get("message", "")
            status = Status.WARN if role_up else Status.FAIL
            extra_en = ("another node of the same role still answers" if role_up
                        else f"no {name} node answers: sign-in is down")
            extra_sv = ("en annan server med samma roll svarar fortfarande" if role_up
                        else f"ingen {name}-server svarar: inloggningen fungerar inte")
            return self.result(label, status, t(
                f"{name}: /adfs/probe failed ({shown}); {extra_en}.",
                f"{name}: /adfs/probe misslyckades ({shown}); {extra_sv}."), details, "down")
        if state == "backend_down":
            shown = (details["mex"].get("status") or details["mex"].get("message", "")
                     or details.get("mex_parse_error", ""))
            if "metadata" in details:  # mex was off, and the metadata did not prove it either
                meta = details["metadata"]
                shown = f"{shown}; metadata: " + str(
                    meta.get("status") if meta.get("status") not in (None, 200) else
                    meta.get("message") or details.get("metadata_parse_error")
                    or ("not signed" if details.get("metadata_signed") is False else ""))
            return self.result(label, Status.FAIL, t(
                f"{name}: /adfs/probe answers 200, but AD FS behind it does not answer through "
                f"it (mex: {shown}). {note_en}",
                f"{name}: /adfs/probe svarar 200, men AD FS bakom den svarar inte genom den "
                f"(mex: {shown}). {note_sv}"), details, "backend")
        if state == "backend_unknown":
            return self.result(label, Status.WARN, t(
                f"{name}: /adfs/probe answers 200, but the back end could not be checked "
                f"(mex: {details['mex'].get('message', '')}). {note_en}",
                f"{name}: /adfs/probe svarar 200, men AD FS bakom den kunde inte kontrolleras "
                f"(mex: {details['mex'].get('message', '')}). {note_sv}"), details, "backend")
        if state == "proven_by_metadata":
            shown = details["mex"].get("status") or details.get("mex_parse_error", "")
            return self.result(label, Status.PASS, t(
                f"{name}: /adfs/probe answers 200; /adfs/services/trust/mex is not published "
                f"through it (mex: {shown}; proxies often turn it off), but signed federation "
                "metadata through it proves that AD FS behind it answers.",
                f"{name}: /adfs/probe svarar 200; /adfs/services/trust/mex publiceras inte "
                f"genom den (mex: {shown}; proxyer stänger ofta av den), men signerad "
                "federationsmetadata genom den visar att AD FS bakom den svarar."), details)
        if state == "proven":
            return self.result(label, Status.PASS, t(
                f"{name}: /adfs/probe answers 200, and /adfs/services/trust/mex through it "
                f"proves that AD FS behind it answers. {note_en}",
                f"{name}: /adfs/probe svarar 200, och /adfs/services/trust/mex genom den visar "
                f"att AD FS bakom den svarar. {note_sv}"), details)
        return self.result(label, Status.PASS, t(
            f"{name}: /adfs/probe answers 200 (served by the AD FS service itself).",
            f"{name}: /adfs/probe svarar 200 (levereras av AD FS-tjänsten själv)."), details)


# --- adfs.clock_skew ------------------------------------------------------------------------

def _fmt_offset(seconds: float) -> tuple[str, str]:
    """How far a clock is from this machine's, in English and Swedish."""
    amount = abs(seconds)
    if amount < 1.5:
        return "in step with this machine", "i takt med den här datorn"
    ahead = seconds >= 0
    if amount >= 120:
        en_amount = f"{amount / 60:.1f} min"
        sv_amount = en_amount.replace(".", ",")
    else:
        en_amount = sv_amount = f"{amount:.0f} s"
    return (f"{en_amount} {'ahead of' if ahead else 'behind'} this machine",
            f"{sv_amount} {'före' if ahead else 'efter'} den här datorn")


class AdfsClockSkewCheck(AdfsCheck):
    """The clocks of AD FS, WAP and this machine agree (HTTP ``Date`` headers)."""

    id = "adfs.clock_skew"
    owners = {"local": "engineer"}  # this machine's own clock
    title = t("AD FS / WAP clock skew", "Klockavvikelse AD FS / WAP")
    description = t(
        "The clocks of every AD FS and WAP node agree with each other and with this machine, "
        "judged from their HTTP Date headers: over 2 minutes warns, over 5 minutes fails.",
        "Klockorna på varje AD FS- och WAP-server stämmer med varandra och med den här "
        "datorn, bedömt från deras HTTP Date-huvuden: över 2 minuter varnar, över 5 minuter "
        "underkänns.")
    remediation = {
        "default": t(
            "Synchronise the server's clock: domain members with the domain hierarchy "
            "(w32tm /resync), a WAP outside the domain with a reliable NTP source "
            "(w32tm /config /manualpeerlist:… /syncfromflags:manual /update).",
            "Synkronisera serverns klocka: domänmedlemmar mot domänhierarkin (w32tm /resync), "
            "en WAP utanför domänen mot en pålitlig NTP-källa "
            "(w32tm /config /manualpeerlist:… /syncfromflags:manual /update)."),
        "farm": t(
            "The nodes' clocks differ. Above 5 minutes WAP's proxy trust with AD FS and "
            "Kerberos fail. Synchronise every AD FS and WAP node with the same time source "
            "(w32tm).",
            "Servrarnas klockor skiljer sig åt. Över 5 minuter slutar WAP:ens "
            "proxyförtroende mot AD FS och Kerberos att fungera. Synkronisera alla AD FS- och "
            "WAP-servrar mot samma tidskälla (w32tm)."),
        "local": t(
            "The servers agree with each other, but not with this machine: its own clock is "
            "probably wrong. Set this machine's time automatically and run again.",
            "Servrarna stämmer med varandra men inte med den här datorn: dess egen klocka går "
            "troligen fel. Ställ in tiden automatiskt på den här datorn och kör igen."),
        "no_date": t(
            "The node sent no usable Date header, so its clock could not be compared.",
            "Servern skickade inget användbart Date-huvud, så dess klocka kunde inte jämföras."),
    }

    def run(self, ctx: CheckContext, target: Target) -> list[Result]:
        cfg = ctx.profile.adfs
        assert cfg is not None
        measured: list[tuple[str, float, float, dict[str, Any]]] = []
        results: list[Result] = []
        nodes = probe_nodes(ctx)
        for i, (label, role, address, server) in enumerate(nodes):
            details: dict[str, Any] = {"role": role}
            if address is None:
                address, details["dns"] = service_address(ctx, cfg.federation_service)
            if address is None:
                results.append(self.result(label, Status.ERROR, t(
                    "The federation service name does not resolve here (see adfs.dns).",
                    "Federationstjänstens namn går inte att slå upp härifrån (se adfs.dns)."),
                    details, "error"))
                continue
            details["address"] = address
            got = self._measure(ctx, address, len(nodes) - i, cfg, server, details)
            if got is None:
                results.append(self.result(label, Status.ERROR, t(
                    "No Date header could be read from this node.",
                    "Inget Date-huvud kunde läsas från servern."), details, "no_date"))
                continue
            offset, uncertainty = got
            measured.append((label, offset, uncertainty, details))
        results.extend(self._judge(measured))
        return results

    @staticmethod
    def _measure(ctx: CheckContext, address: str, left: int, cfg: AdfsCfg,
                 server: Server | None, details: dict[str, Any]) -> tuple[float, float] | None:
        """(offset of the node's clock in s, uncertainty in s), or None."""
        attempts: list[dict[str, Any]] = []
        for scheme in ("http", "https"):
            started = ctx.now()
            if scheme == "http":
                exchange = http_request(address, http_port(cfg, server), "GET", PROBE_PATH,
                                        timeout=_budget(ctx, left * 2, 3.0), max_body=65536)
            else:
                exchange = http_request(address, https_port(cfg, server), "GET", PROBE_PATH,
                                        tls=tls_options(ctx.profile, server),
                                        server_name=cfg.federation_service,
                                        timeout=_budget(ctx, left * 2, 3.0), max_body=65536)
            if not exchange.ok:
                attempts.append({"scheme": scheme, "failure": exchange.kind,
                                 "message": exchange.message})
                continue
            ended = ctx.now()
            date = exchange.answer.header("Date")
            attempts.append({"scheme": scheme, "status": exchange.answer.status,
                             "date": date})
            if not date:
                continue
            try:
                remote = email.utils.parsedate_to_datetime(date)
            except (TypeError, ValueError, IndexError):
                continue
            if remote.tzinfo is None:
                remote = remote.replace(tzinfo=dt.UTC)
            half = (ended - started).total_seconds() / 2
            middle = started + (ended - started) / 2
            # Date has 1 s resolution and is truncated: the true time lies in [date, date+1).
            offset = (remote - middle).total_seconds() + 0.5
            details.update({"attempts": attempts, "date": date,
                            "local_time": middle.isoformat(timespec="milliseconds"),
                            "offset_s": round(offset, 2),
                            "uncertainty_s": round(half + 0.5, 2)})
            return offset, half + 0.5
        details["attempts"] = attempts
        return None

    def _judge(self, measured: list[tuple[str, float, float, dict[str, Any]]]) -> list[Result]:
        if not measured:
            return []
        offsets = [m[1] for m in measured]
        spread = max(offsets) - min(offsets)
        # Servers that agree with each other but not with us: our own clock is the odd one.
        local_is_off = len(measured) > 1 and spread <= SKEW_WARN_S and \
            min(abs(o) for o in offsets) > SKEW_WARN_S
        out: list[Result] = []
        for label, offset, uncertainty, details in measured:
            en, sv = _fmt_offset(offset)
            size = abs(offset)
            others = [o for lbl, o, _, _ in measured if lbl != label]
            details["max_difference_to_other_nodes_s"] = (
                round(max(abs(offset - o) for o in others), 2) if others else None)
            if local_is_off:
                out.append(self.result(label, Status.WARN, t(
                    f"Clock {en}; the servers agree with each other, so this machine's clock "
                    "is probably wrong.", f"Klockan går {sv}; servrarna stämmer med varandra, "
                    "så den här datorns klocka går troligen fel."), details, "local"))
            elif size > SKEW_FAIL_S:
                out.append(self.result(label, Status.FAIL, t(
                    f"Clock {en} (over 5 minutes).", f"Klockan går {sv} (över 5 minuter)."),
                    details, "default"))
            elif size > SKEW_WARN_S:
                out.append(self.result(label, Status.WARN, t(
                    f"Clock {en} (over 2 minutes).", f"Klockan går {sv} (över 2 minuter)."),
                    details, "default"))
            else:
                uncertainty_sv = f"{uncertainty:.1f}".replace(".", ",")
                out.append(self.result(label, Status.PASS, t(
                    f"Clock {en} (±{uncertainty:.1f} s).",
                    f"Klockan går {sv} (±{uncertainty_sv} s)."), details))
        if len(measured) > 1:
            fastest = max(measured, key=lambda m: m[1])[0]
            slowest = min(measured, key=lambda m: m[1])[0]
            details = {"spread_s": round(spread, 2),
                       "offsets_s": {m[0]: round(m[1], 2) for m in measured}}
            between_en = f"{fastest} and {slowest} differ by {spread:.0f} s"
            between_sv = f"{fastest} och {slowest} skiljer sig åt med {spread:.0f} s"
            if spread > SKEW_FAIL_S:
                status, extra_en, extra_sv = (Status.FAIL, " (over 5 minutes: proxy trust and "
                                              "Kerberos fail).", " (över 5 minuter: "
                                              "proxyförtroende och Kerberos slutar fungera).")
            elif spread > SKEW_WARN_S:
                status, extra_en, extra_sv = Status.WARN, " (over 2 minutes).", \
                    " (över 2 minuter)."
            else:
                status, extra_en, extra_sv = Status.PASS, ".", "."
            out.append(self.result("between nodes", status,
                                   t(between_en + extra_en, between_sv + extra_sv), details,
                                   "farm" if status is not Status.PASS else None))
        return out
