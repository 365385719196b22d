"""A real audit writes the same JSON as the code before the speed-up of issue 13.

``accessready audit`` (the real CLI, a subprocess) runs real checks — ``remote.ssh`` and
``remote.winrm`` against closed ports on loopback, as the scale benchmark's profiles have
them — over a handful of profiles; each customer's compact JSON result and the audit's
JSON are compared with digests in ``tests/integration/audit_json.golden.json``, written by
the code at commit 7767a32 (``python tests/integration/test_audit_json_unchanged.py --write
PYTHON [ARGS…]``, with a command that runs that tree's ``accessready``). Written again once
since, on purpose: ``remote.winrm``'s Identify no longer says ``Connection: close`` (its
second request goes over the same connection); the request's evidence (``request``,
``sent_hex``, ``sent_bytes``) was the only difference, 19 bytes shorter.

Byte for byte, except what differs between any two runs and machines, blanked in both
before comparing: the clock (``started_at``, ``finished_at``, ``duration_s``,
``total_ms``), the machine (``host``) and the temporary folder the audit ran in (a
profile's relative ``ca_file`` is named by its absolute path).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

GOLDEN = Path(__file__).with_name("audit_json.golden.json")

_PROFILE = """[customer]
name = "{name}"
agreement = "SA-0"
agreement_valid_until = 2099-12-31
dpa_signed = 2025-01-01
[access]
methods = ["teamviewer"]
[checks]
timeout = 5.0
only = ["remote.ssh", "remote.winrm"]
{waivers}
[[servers]]
name = "srv0"
address = "127.0.0.1"
roles = ["sync"]
remote = ["ssh"]
ssh = {{ port = 1 }}
known_hosts = "/nonexistent/known_hosts"

[[servers]]
name = "srv1"
address = "127.0.0.2"
roles = ["sync"]
remote = ["ssh"]
ssh = {{ port = 1 }}

[[servers]]
name = "srv2"
address = "127.0.0.3"
roles = ["adfs"]
remote = ["winrm"]
winrm = {{ transport = "ntlm", https = true, port = 1, ca_file = "ca.pem" }}

[[servers]]
name = "srv3"
address = "127.0.0.4"
roles = ["wap"]
remote = ["winrm"]
winrm = {{ transport = "basic", https = false, port = 1 }}
"""
_WAIVERS = """[[waivers]]
check = "remote.ssh"
target = "srv0"
reason = "Byts ut i vår"
until = 2099-03-31
[[waivers]]
check = "remote.winrm"
reason = "Gammalt"
until = 2020-01-31
"""
PROFILES = {"kund-a": _PROFILE.format(name="Kund A", waivers=""),
            # an escape: this one is read by tomllib, the others by the plain reader
            "kund-b": _PROFILE.format(name='Kund Ä/Ö \\"citat\\"', waivers=_WAIVERS),
            # a mistake: the overview carries its one-line error
            "kund-c": _PROFILE.format(name="Kund C", waivers="").replace("ssh = {", "sh = {")}

_VARYING = [(re.compile(rb'("(?:started_at|finished_at)":\s*)"[^"]*"'), rb'\1"T"'),
            (re.compile(rb'("(?:duration_s|total_ms)":\s*)[0-9.eE+-]+'), rb"\g<1>0"),
            (re.compile(rb'("host":\s*)\{[^{}]*\}'), rb"\1{}")]


def _blanked(data: bytes, folder: Path) -> bytes:
    for pattern, replacement in _VARYING:
        data = pattern.sub(replacement, data)
    for name in {str(folder.resolve()), str(folder)}:  # a profile's relative ca_file
        data = data.replace(name.encode(), b"<folder>")
    return data


def _audit(folder: Path, command: list[str]) -> dict[str, bytes]:
    """Run the audit in ``folder``; every JSON file it wrote, blanked, by name."""
    (folder / "profiles").mkdir()
    for name, text in PROFILES.items():
        (folder / "profiles" / f"{name}.toml").write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCESSREADY_")}
    done = subprocess.run([*command, "audit", "profiles", "--reports-dir", "reports",
                           "--json", "audit.json", "--quiet"], cwd=folder, env=env,
                          capture_output=True, timeout=120)
    assert done.returncode in (0, 1, 2, 3), done.stderr
    files = {"audit.json": folder / "audit.json",
             **{p.name: p for p in sorted((folder / "reports").glob("*.json"))}}
    return {name: _blanked(path.read_bytes(), folder) for name, path in files.items()}


def _digests(outputs: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in outputs.items()}


def test_audit_json_is_what_the_code_before_the_speed_up_wrote(tmp_path: Path) -> None:
    outputs = _audit(tmp_path, [sys.executable, "-m", "accessready"])
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert sorted(outputs) == sorted(golden)
    for name, data in outputs.items():
        assert hashlib.sha256(data).hexdigest() == golden[name], \
            f"{name} differs; blanked it reads:\n{data.decode('utf-8', 'replace')}"
    # the blanking left the results themselves in: real checks, real findings
    kund_b = json.loads(next(v for k, v in outputs.items() if k.endswith("kund-b.json")))
    assert {r["check"] for r in kund_b["results"]} >= {"remote.ssh", "remote.winrm"}
    assert any(r.get("waiver") for r in kund_b["results"])


if __name__ == "__main__" and sys.argv[1:2] == ["--write"]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        found = _digests(_audit(Path(tmp), sys.argv[2:] or [sys.executable, "-m",
                                                             "accessready"]))
    GOLDEN.write_text(json.dumps(found, indent=1) + "\n", encoding="utf-8")
