"""``adfs.clock_skew``: the HTTP ``Date`` of every node against the others and this
machine (±1 s resolution plus half the round trip). Over 2 minutes warns, over 5 fails:
WAP's proxy trust and Kerberos stop working there.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from typing import Any

from accessready.agent.core.model import Result, Status, Text, t
from accessready.agent.core.profile_types import AdfsCfg, Profile, Server
from accessready.agent.io.http import http_request
from accessready.agent.plugin.checkapi import Budget, CheckContext, Target
from accessready.checks.adfs.base import (
    PROBE_PATH,
    AdfsCheck,
    farm_target,
    http_port,
    https_port,
    probe_nodes,
    service_address,
    tls_options,
)
from accessready.checks.adfs.remediation import CLOCK_SKEW_REMEDIATION
from accessready.checks.adfs.summaries import CLOCK_SKEW_SAID, said

SKEW_WARN_S = 120
SKEW_FAIL_S = 300
DATE_CAP = 3.0  # s per request for a Date header


def _decimal(value: float, digits: int) -> Text:
    """``value`` with a decimal point in English and a decimal comma in Swedish."""
    shown = f"{value:.{digits}f}"
    return t(shown, shown.replace(".", ","))


def _fmt_offset(seconds: float) -> Text:
    """How far a clock is from this machine's, in English and Swedish."""
    amount = abs(seconds)
    if amount < 1.5:
        return CLOCK_SKEW_SAID["in_step_with_us"]
    if amount >= 120:
        minutes = _decimal(amount / 60, 1)
        shown = t(f"{minutes.en} min", f"{minutes.sv} min")
    else:
        shown = t(f"{amount:.0f} s", f"{amount:.0f} s")
    return said(CLOCK_SKEW_SAID["ahead" if seconds >= 0 else "behind"], amount=shown)


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
    remediation = CLOCK_SKEW_REMEDIATION

    def targets(self, profile: Profile) -> list[Target]:
        return farm_target(profile, http_port, DATE_CAP)  # each node's first Date request

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
                results.append(self.result(label, Status.ERROR, CLOCK_SKEW_SAID["unresolved"],
                                           details, "error"))
                continue
            details["address"] = address
            got = self._measure(ctx, address, len(nodes) - i, cfg, server, details)
            if got is None:
                results.append(self.result(label, Status.ERROR, CLOCK_SKEW_SAID["no_date"],
                                           details, "no_date"))
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
            timeout = Budget(ctx, parts=left * 2, cap=DATE_CAP).timeout()
            if scheme == "http":
                exchange = http_request(address, http_port(cfg, server), "GET", PROBE_PATH,
                                        timeout=timeout, max_body=65536)
            else:
                exchange = http_request(address, https_port(cfg, server), "GET", PROBE_PATH,
                                        tls=tls_options(ctx.profile, server),
                                        server_name=cfg.federation_service,
                                        timeout=timeout, max_body=65536)
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
            others = [o for lbl, o, _, _ in measured if lbl != label]
            details["max_difference_to_other_nodes_s"] = (
                round(max(abs(offset - o) for o in others), 2) if others else None)
            status, key, fix = (Status.WARN, "local", "local") if local_is_off \
                else self._grade(abs(offset), "over_5", "over_2", "in_step")
            out.append(self.result(label, status, said(
                CLOCK_SKEW_SAID[key], offset=_fmt_offset(offset),
                uncertainty=_decimal(uncertainty, 1)), details, fix))
        if len(measured) > 1:
            fastest = max(measured, key=lambda m: m[1])[0]
            slowest = min(measured, key=lambda m: m[1])[0]
            details = {"spread_s": round(spread, 2),
                       "offsets_s": {m[0]: round(m[1], 2) for m in measured}}
            status, key, fix = self._grade(spread, "between_over_5", "between_over_2",
                                           "between")
            out.append(self.result("between nodes", status, said(
                CLOCK_SKEW_SAID[key], fastest=fastest, slowest=slowest,
                spread=f"{spread:.0f}"), details, "farm" if fix else None))
        return out

    @staticmethod
    def _grade(skew: float, over_5: str, over_2: str,
               fine: str) -> tuple[Status, str, str | None]:
        """Over 5 minutes fails, over 2 warns: (status, wording key, remediation key)."""
        if skew > SKEW_FAIL_S:
            return Status.FAIL, over_5, "default"
        if skew > SKEW_WARN_S:
            return Status.WARN, over_2, "default"
        return Status.PASS, fine, None
