"""What the ``adfs`` checks seen from outside the servers share: nodes, ports, trust, names.

No credentials: these checks use DNS, TLS and the unauthenticated HTTP endpoints every
AD FS farm publishes. Nodes are the profile's servers with role ``adfs`` or ``wap``; each is
reached at its ``address`` with SNI and ``Host`` set to the federation service name, on
``[adfs] port`` (HTTPS, default 443) and ``[adfs] ports.http`` (the probe, default 80);
``ports."<server>.https"`` / ``ports."<server>.http"`` override them for one node (nodes
behind port forwards).
Trust comes from a server's own ``ca_file``/``verify`` if it sets them, else from
``[adfs]``'s, else the system store.

Each check's module says what it proves and what it cannot. None of them proves that a user
can sign in: that needs credentials (see :mod:`.service`, :mod:`.certificates` and a manual
test of ``/adfs/ls/``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from accessready.agent.core.model import Requirement, Status, Text, t
from accessready.agent.core.profile_types import AdfsCfg, Profile, Server, TlsOptions
from accessready.agent.io.dns import SYSTEM_RESOLVER, ResolveError, is_ip_literal, resolve
from accessready.agent.io.tls import (
    CertInfo,
)
from accessready.agent.plugin.checkapi import Check, CheckContext, Contact, Target
from accessready.checks.common.findings import Finding

METADATA_PATH = "/FederationMetadata/2007-06/FederationMetadata.xml"
MEX_PATH = "/adfs/services/trust/mex"
PROBE_PATH = "/adfs/probe"
CONNECT_CAP = 5.0
NO_SNI_CAP = 3.0
LOOKUP_CAP = 3.0


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
    """The HTTPS port: ``ports."<server>.https"``, else ``ports.https`` (final: the profile
    builder fills it from ``port``)."""
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


def resolve_addresses(ctx: CheckContext, name: str, view: str,
                      cap: float = LOOKUP_CAP) -> tuple[list[str], list[dict[str, Any]], str]:
    """(addresses, evidence, outcome) of ``name``'s A and AAAA records in ``view``.

    ``outcome`` is ``ok``, ``missing`` (NXDOMAIN or no address records) or
    ``unanswered`` (timeouts or errors, and no address came back).
    """
    if is_ip_literal(name):
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

    def first_contact(self, target: Target) -> tuple[Contact, ...] | None:
        # a farm's target (farm_target) carries its nodes' first connections
        return target.data if isinstance(target.data, tuple) else None


def farm_target(profile: Profile, port: Callable[[AdfsCfg, Server], int],
                cap: float) -> list[Target]:
    """The farm as one target, naming the first connection to each listed node (to
    ``port(cfg, node)``, within ``cap`` s): they are opened side by side while the check
    waits without a thread, so a silent node costs no worker its connect timeout. The
    service name is resolved by the check's own resolvers, so it connects itself."""
    cfg = profile.adfs
    assert cfg is not None
    contacts = tuple(Contact(s.address, port(cfg, s), cap) for s in adfs_nodes(profile))
    return [Target(cfg.federation_service, contacts or None)]


def probe_nodes(ctx: CheckContext) -> list[tuple[str, str, str | None, Server | None]]:
    """(label, role, address, server) for every node; the service name if none is listed."""
    nodes = [(s.name, node_role(s), s.address, s) for s in adfs_nodes(ctx.profile)]
    if nodes:
        return nodes
    cfg = ctx.profile.adfs
    assert cfg is not None
    return [(cfg.federation_service, "service", None, None)]


def noted(status: Status, text: Text, fix: str | None = None) -> Finding:
    """A :class:`Finding` from a table's bilingual text."""
    return Finding(status, text.en, text.sv, fix)


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
