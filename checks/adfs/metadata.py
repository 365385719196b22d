"""``adfs.metadata``: the federation metadata through every WAP and directly from every
AD FS node: well-formed (XML bombs and external entities refused), entityID, every
token-signing and token-decrypting certificate with its expiry, rollover in progress,
and whether every path serves the same metadata. It does not verify the XML signature.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from accessready.agent.core.model import Result, Status, t
from accessready.agent.core.profile_types import AdfsCfg, Profile, Server
from accessready.agent.io.http import http_request
from accessready.agent.io.tls import (
    CertInfo,
    parse_certificate,
)
from accessready.agent.plugin.checkapi import Budget, CheckContext, Target
from accessready.agent.plugin.probekit import describe_failure
from accessready.checks.adfs.base import (
    CONNECT_CAP,
    METADATA_PATH,
    AdfsCheck,
    adfs_nodes,
    certificate_findings,
    farm_target,
    https_port,
    node_role,
    service_address,
    tls_options,
)
from accessready.checks.adfs.remediation import METADATA_REMEDIATION
from accessready.checks.adfs.summaries import METADATA_SAID, said
from accessready.checks.common.findings import conclude, earliest_due
from accessready.checks.protocols.fedmeta import (
    MAX_METADATA_BYTES,
    FederationMetadata,
    MetadataParseError,
    parse_metadata,
)


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
    remediation = METADATA_REMEDIATION

    def targets(self, profile: Profile) -> list[Target]:
        return farm_target(profile, https_port, CONNECT_CAP)  # each node's first metadata fetch

    def run(self, ctx: CheckContext, target: Target) -> list[Result]:
        cfg = ctx.profile.adfs
        assert cfg is not None
        paths = metadata_paths(ctx.profile)
        results: list[Result] = []
        # sha256 -> (use, CertInfo | None, der, [path labels], [roles])
        certs: dict[str, dict[str, Any]] = {}
        for i, path in enumerate(paths):
            results.append(self._fetch(ctx, path, len(paths) - i, cfg, certs))
        parsed = [p for p in paths if p.fingerprint]
        now = ctx.now()
        for sha, entry in certs.items():
            results.append(self._cert_result(entry, sha, now, cfg.cert_warn_days))
        signing = [e for e in certs.values() if e["use"] == "signing"]
        if len(signing) > 1:
            ends = sorted(e["info"].not_after.date().isoformat() for e in signing
                          if e["info"] is not None)
            results.append(self.result(
                "token-signing rollover", Status.WARN,
                said(METADATA_SAID["rollover"], count=len(signing), ends=", ".join(ends)),
                {"certificates": [e["info"].to_json() for e in signing if e["info"]]},
                "rollover"))
        if len(parsed) > 1:
            results.append(self._compare(parsed))
        return results

    def _fetch(self, ctx: CheckContext, path: MetadataPath, left: int, cfg: AdfsCfg,
               certs: dict[str, dict[str, Any]]) -> Result:
        """One path's metadata: fetched, parsed, its certificates added to ``certs``."""
        fs = cfg.federation_service
        details: dict[str, Any] = {"path": path.kind, "url": f"https://{fs}{METADATA_PATH}"}
        address = path.address
        if address is None:
            address, details["dns"] = service_address(ctx, fs)
            if address is None:
                return self.result(path.label, Status.ERROR,
                                   said(METADATA_SAID["unresolved"], fs=fs), details, "error")
        details["address"] = address
        exchange = http_request(address, https_port(cfg, path.server), "GET", METADATA_PATH,
                                tls=tls_options(ctx.profile, path.server), server_name=fs,
                                timeout=Budget(ctx, parts=left, cap=CONNECT_CAP).timeout(),
                                max_body=MAX_METADATA_BYTES + 1, body_excerpt=200)
        if not exchange.ok:
            details["failure"] = exchange.to_json()
            why = describe_failure(exchange.target, exchange, detail=True)
            status = exchange.status
            return self.result(path.label, status, said(METADATA_SAID["not_fetched"], why=why),
                               details, "error" if status is Status.ERROR else "fetch_failed")
        details["http"] = exchange.to_json()
        response = exchange.answer
        if response.status != 200:
            # a WAP that answers but cannot pass the request on: AD FS behind it is the fault
            key, fix = ("wap_http", "backend") if path.kind == "wap" else ("http", "fetch_failed")
            return self.result(path.label, Status.FAIL,
                               said(METADATA_SAID[key], status=response.status), details, fix)
        try:
            meta = parse_metadata(response.body, max_bytes=MAX_METADATA_BYTES)
        except MetadataParseError as exc:
            details["parse_error"] = {"kind": exc.kind, "message": str(exc)}
            fix = "hostile" if exc.kind == "dtd" else "not_metadata"
            return self.result(path.label, Status.FAIL,
                               said(METADATA_SAID["refused"], error=exc), details, fix)
        self._record(path, meta, certs, details)
        via = METADATA_SAID[f"via_{path.kind}"]
        if not meta.signed:
            return self.result(path.label, Status.WARN, said(
                METADATA_SAID["unsigned"], via=via, entity=meta.entity_id), details, "unsigned")
        return self.result(path.label, Status.PASS, said(
            METADATA_SAID["signed"], via=via, entity=meta.entity_id,
            signing=len(meta.signing_certs()), encryption=len(meta.encryption_certs())), details)

    @staticmethod
    def _record(path: MetadataPath, meta: FederationMetadata, certs: dict[str, dict[str, Any]],
                details: dict[str, Any]) -> None:
        """Note what this path served: its fingerprint, entityID and certificates."""
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

    def _cert_result(self, entry: dict[str, Any], sha: str, now: dt.datetime,
                     warn_days: int) -> Result:
        use = METADATA_SAID[entry["use"]]
        details: dict[str, Any] = {"use": entry["use"], "roles": entry["roles"],
                                   "served_by": entry["paths"], "sha256": sha}
        try:
            info: CertInfo = parse_certificate(entry["der"])
        except Exception as exc:  # cryptography raises ValueError and friends on bad DER
            details["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
            return self.result(f"{use.en} {sha[:8]}", Status.WARN,
                               said(METADATA_SAID["cert_unreadable"], use=use), details,
                               "cert_unreadable")
        entry["info"] = info
        details["certificate"] = info.to_json()
        details["days_left"] = info.days_left(now)
        name = info.common_name or info.subject
        what = said(METADATA_SAID["cert_what"], use=use, name=name)
        findings = certificate_findings(info, now, warn_days, what.en, what.sv)
        valid = said(METADATA_SAID["cert_valid"], use=use, name=name,
                     end=info.not_after.date().isoformat(), days=info.days_left(now))
        status, summary, fix = conclude(findings, valid.en, valid.sv)
        return self.result(f"{use.en} {name} [{info.sha1[:8]}]", status, summary, details, fix,
                           due=earliest_due(findings))

    def _compare(self, parsed: list[MetadataPath]) -> Result:
        groups: dict[str, list[str]] = {}
        for p in parsed:
            groups.setdefault(p.fingerprint or "", []).append(p.label)
        details = {"paths": {p.label: {"fingerprint": p.fingerprint, "entity_id": p.entity_id}
                             for p in parsed}}
        if len(groups) == 1:
            key = "same_both" if len(parsed) == 2 else "same_all"
            return self.result("metadata consistency", Status.PASS,
                               said(METADATA_SAID[key], count=len(parsed)), details)
        split = "; ".join(" = ".join(labels) for labels in groups.values())
        return self.result("metadata consistency", Status.WARN,
                           said(METADATA_SAID["different"], split=split), details, "different")
