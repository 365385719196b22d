"""``accessready demo``: a simulated customer on loopback, checked by the real checks.

Each check family contributes a :class:`DemoPart`: it starts its simulator(s) on
127.0.0.1 and returns the profile TOML that points the checks at them. The demo writes the
profile to a temporary folder, loads it through the normal validator, runs every check,
and stops every simulator — whatever happens. Needs no root and no network.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from accessready.agent.app.run import default_services, run_checks
from accessready.agent.core.model import Run
from accessready.agent.core.profile import load_profile
from accessready.agent.core.safefile import write_file
from accessready.agent.demo.part import DEMO_DOMAIN, DemoPart, q
from accessready.agent.demo.simulators.access_demo import access_part
from accessready.agent.demo.simulators.adfs_demo import demo_dns_records
from accessready.agent.demo.simulators.adfs_demo import demo_part as adfs_part
from accessready.agent.demo.simulators.dns import DnsSimulator
from accessready.agent.demo.simulators.servers_demo import servers_part
from accessready.agent.demo.simulators.workstation import split_tunnel_part
from accessready.agent.plugin.runner import Progress, RunOptions


def dns_part(workdir: Path) -> DemoPart:
    """Customer DNS: mail domains for the contacts (one deliberately broken), and the AD FS
    name split-brain: inside it is the farm, outside the WAP's public address."""
    common = {
        (f"{DEMO_DOMAIN}.", "MX"): ["10 mx1.exempel.se.", "20 mx2.exempel.se."],
        (f"{DEMO_DOMAIN}.", "A"): ["203.0.113.25"],
        ("skola.exempel.se.", "A"): ["203.0.113.26"],
    }
    inside, outside = demo_dns_records()
    external = DnsSimulator({**common, **outside}).start()
    internal = DnsSimulator({**common, **inside}).start()
    toml = f"""
[network]
internal_resolvers = [{q(internal.address)}]
external_resolvers = [{q(external.address)}]
internal_subnets = ["192.0.2.0/24"]
internet_probe = "203.0.113.10"
"""
    return DemoPart(toml=toml, stops=[external.stop, internal.stop])


CUSTOMER_TOML = f"""
[customer]
name = "Exempel kommun (demo)"
agreement = "SA-2026-041"
agreement_valid_until = 2027-06-30
dpa_signed = 2025-08-14
support_email = "it-support@{DEMO_DOMAIN}"
support_phone = "+46 10 123 45 67"
maintenance_contact = "it-drift@{DEMO_DOMAIN}"
contacts = [
  {{ name = "Anna Andersson", email = "anna@{DEMO_DOMAIN}", phone = "+46 70 123 45 67" }},
  {{ name = "Bertil Berg", email = "bertil@skola.{DEMO_DOMAIN}", phone = "08-123 456 78" }},
  {{ name = "Cecilia Carlsson", email = "cecilia@exempel-kommun.invalid", phone = "+46 070 12" }},
]
"""









# adfs before servers: it adds the WinRM recordings the servers part replays
PARTS: list[Callable[[Path], DemoPart]] = [dns_part, split_tunnel_part, access_part,
                                           adfs_part, servers_part]


@contextlib.contextmanager
def demo_environment(services: dict[str, Any] | None = None) -> Iterator[Path]:
    """Start every part's simulators; yield the demo profile's path; stop them all.

    Parts' services are put into ``services`` when it is given.
    """
    stops: list[Callable[[], None]] = []
    with tempfile.TemporaryDirectory(prefix="accessready-demo-") as tmp:
        workdir = Path(tmp)
        try:
            chunks, methods, fallbacks = [CUSTOMER_TOML], [], []
            for make in PARTS:
                part = make(workdir)
                stops.extend(part.stops)
                chunks.append(part.toml)
                methods.extend(part.methods)
                fallbacks.append(part.fallback_toml.strip())
                if services is not None:
                    services.update(part.services)
            for extra in filter(None, fallbacks):
                if extra.splitlines()[0] not in "".join(chunks).splitlines():
                    chunks.append("\n" + extra + "\n")
            methods = list(dict.fromkeys(methods)) or ["teamviewer"]
            access = f"\n[access]\nmethods = [{', '.join(q(m) for m in methods)}]\n"
            # [access] must come before its sub-tables, which parts may have written
            text = chunks[0] + access + "".join(chunks[1:]) + "\n[checks]\ntimeout = 5\n"
            path = workdir / "demo-customer.toml"
            path.write_text(text, encoding="utf-8")
            yield path
        finally:
            for stop in reversed(stops):
                with contextlib.suppress(Exception):
                    stop()


def run_demo(lang: str = "en", profile_out: str | None = None,
             on_progress: Callable[[Progress], None] | None = None) -> Run:
    """Run the real checks against the simulated customer and return the finished run."""
    simulated: dict[str, Any] = {}
    with demo_environment(simulated) as path:
        if profile_out:  # an output like any other: devices kept, files replaced whole
            write_file(profile_out, path.read_bytes())
        profile = load_profile(path)
        options = RunOptions(timeout=profile.checks.timeout,
                             concurrency=profile.checks.concurrency)
        return run_checks(profile, options, lang=lang, on_progress=on_progress,
                          services={**default_services(profile), **simulated},
                          interactive=False)
