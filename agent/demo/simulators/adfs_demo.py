"""The demo's AD FS farm: one AD FS node and one WAP on loopback (the WAP's clock fast),
a public listener for the federation service name, and WinRM recordings for both."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from accessready.agent.demo.part import DemoPart, q
from accessready.agent.demo.simulators import pki, servers_demo
from accessready.agent.demo.simulators.adfs import (
    AdfsSimulator,
    build_metadata,
    loopback_usable,
    token_certificate,
)

DEMO_FS = "sts.exempel.se"
DEMO_INSIDE = "127.0.0.1"  # adfs01 and wap01 in the servers part of the demo
DEMO_PUBLIC = "127.0.0.3"  # the federation service's "public" address (NAT to the WAP)
DEMO_WAP_SKEW_S = 150.0
DEMO_RECORDINGS = {"adfs01": ["adfs-farm", "adfs-demo"], "wap01": ["adfs-farm"]}


def demo_public_address() -> str:
    """Where the demo's public WAP listener goes: 127.0.0.3, or 127.0.0.1 where only that
    loopback address exists (macOS without aliases); then DNS shows no split-brain."""
    return DEMO_PUBLIC if loopback_usable(DEMO_PUBLIC) else DEMO_INSIDE


def demo_dns_records() -> tuple[dict[tuple[str, str], list[str]],
                                dict[tuple[str, str], list[str]]]:
    """(internal, external) DNS records for the demo's federation service name."""
    name = f"{DEMO_FS}."
    return {(name, "A"): [DEMO_INSIDE]}, {(name, "A"): [demo_public_address()]}


def demo_part(workdir: Path) -> Any:
    """The demo's AD FS farm: one AD FS node, one WAP (clock 2.5 minutes fast), a public
    listener for the service name, and metadata whose token-signing certificate expires in
    12 days (AutoCertificateRollover off, so someone has to renew it by hand).

    adfs01 and wap01 are the servers part's WinRM hosts on 127.0.0.1, so each node gets its
    own ports through ``[adfs] ports."<server>.https"``; the WinRM checks replay
    :data:`DEMO_RECORDINGS` there.
    """
    now = dt.datetime.now(dt.UTC)
    ca = pki.make_ca("Exempel kommun demo CA (AD FS)", days=800)
    cert, key = pki.issue(ca, [DEMO_FS], now - dt.timedelta(days=30),
                          now + dt.timedelta(days=300))
    signing, _ = token_certificate(f"ADFS Signing - {DEMO_FS}", now - dt.timedelta(days=353),
                                   now + dt.timedelta(days=12))
    decrypting, _ = token_certificate(f"ADFS Encryption - {DEMO_FS}",
                                      now - dt.timedelta(days=100),
                                      now + dt.timedelta(days=265))
    metadata = build_metadata(DEMO_FS, [signing], [decrypting])
    ca_file = ca.write(workdir / "adfs-ca.pem")
    stops: list[Callable[[], None]] = []
    try:
        adfs = AdfsSimulator("adfs", DEMO_FS, cert, key, metadata, chain_pem=ca.cert_pem,
                             host=DEMO_INSIDE).start()
        stops.append(adfs.stop)
        wap = AdfsSimulator("wap", DEMO_FS, cert, key, chain_pem=ca.cert_pem,
                            host=DEMO_INSIDE, skew=DEMO_WAP_SKEW_S, backend=adfs).start()
        stops.append(wap.stop)
        public_address = demo_public_address()
        public = wap
        if public_address != DEMO_INSIDE:
            public = AdfsSimulator("wap", DEMO_FS, cert, key, chain_pem=ca.cert_pem,
                                   host=public_address, skew=DEMO_WAP_SKEW_S,
                                   backend=adfs).start()
            stops.append(public.stop)
    except BaseException:
        for stop in reversed(stops):
            stop()
        raise
    for server, names in DEMO_RECORDINGS.items():
        extra = servers_demo.EXTRA_RECORDINGS.setdefault(server, [])
        extra.extend(n for n in names if n not in extra)
    toml = f"""
[adfs]
federation_service = {q(DEMO_FS)}
cert_warn_days = 30
port = {public.https_port}
ca_file = {q(str(ca_file))}
ports = {{ http = {public.http_port}, "adfs01.https" = {adfs.https_port}, \
"adfs01.http" = {adfs.http_port}, "wap01.https" = {wap.https_port}, \
"wap01.http" = {wap.http_port} }}
"""
    return DemoPart(toml=toml, stops=stops)
