"""A gateway that drops every packet is the target's fault: ``fail``, verdict not ready.

Regression (issue "Audits at the speed of the network", item 1): with ``[checks] timeout
= 5`` the runner used to report the check as its own "did not finish within its deadline"
error — the check's connect timeout ended at the deadline, and building the TLS context
and classifying the outcome came after it — so the verdict was *unknown* instead of *not
ready*. The silent address lives in a network namespace this test creates (``unshare
-n``): a veth pair with a permanent neighbour entry, so SYNs leave and nothing answers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.ci import unavailable

SILENT = "198.51.100.2"

PROFILE = textwrap.dedent(f"""\
    [customer]
    name = "Tyst kommun"
    agreement = "SA-1"
    agreement_valid_until = 2099-06-30
    dpa_signed = 2025-08-14
    support_email = "it@example.se"
    support_phone = "+46 10 123 45 67"
    maintenance_contact = "it@example.se"

    [network]
    internal_subnets = ["192.0.2.0/24"]

    [access]
    methods = ["anyconnect"]

    [access.anyconnect]
    gateway = "{SILENT}"
    group = "Leverantorer"

    [checks]
    timeout = 5
""")

SETUP = textwrap.dedent(f"""\
    set -e
    ip link set lo up
    ip link add v0 type veth peer name v1
    ip addr add 198.51.100.1/24 dev v0
    ip link set v0 up
    ip link set v1 up
    ip neigh add {SILENT} lladdr 02:00:00:00:00:02 dev v0 nud permanent
    exec "$@"
""")


def test_silent_gateway_fails_on_time_and_blocks_the_verdict(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        unavailable("a private network namespace needs root, unshare and ip")
    profile = tmp_path / "p.toml"
    profile.write_text(PROFILE, encoding="utf-8")
    result = tmp_path / "r.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCESSREADY_")}
    out = subprocess.run(
        ["unshare", "-n", "sh", "-c", SETUP, "setup",
         sys.executable, "-m", "accessready", "run", str(profile), "--json", str(result),
         "--only", "anyconnect.*"],
        capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)
    assert out.returncode == 2, out  # not ready
    data = json.loads(result.read_text(encoding="utf-8"))
    gateway = next(r for r in data["results"] if r["check"] == "anyconnect.gateway")
    assert gateway["status"] == "fail", gateway
    assert gateway["details"]["probe"]["failure"] == "timeout", gateway
