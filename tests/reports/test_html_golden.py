"""The HTML report byte for byte: real and synthetic runs render exactly as they did.

Rendering was made cheaper (issue 13) with the promise that no report changes. This test
holds that promise: each case below is rendered and its SHA-256 compared with
``golden/html_sha256.json``, which was written by the renderer as it was at commit 7767a32
(before the speed work), by running this file as a script::

    python -m tests.reports.test_html_golden --write

Only hashes are stored, not pages. The two real runs are result files saved from real runs
(``golden/*-run.json.gz``): ``bench`` is the audit benchmark's profile shape (5 servers,
``only = ["remote.ssh", "remote.winrm"]``, 32 of 37 results "not selected") run against
closed loopback ports, ``demo`` is ``accessready demo``. The synthetic ones cover what those
lack: waivers, a merged run, insecure notes, hostile text, a user's template folder.

When a change is *meant* to change the page, rewrite the hashes with ``--write`` and say
why in the commit; a failure here otherwise means a report changed without anyone deciding so.
To see what changed, render the failing case with the code of the commit the hashes came from
and with yours, and diff the two.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from accessready.agent.core.model import INSECURE, Run, Status, t
from accessready.reports.html import render_html
from accessready.reports.json_report import load

from .hostile import hostile_run
from .sample import full_run

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "html_sha256.json"
BENCH = HERE.parents[1] / "bench" / "bench_report.py"

# A user's template folder (README: "--templates"): one partial and the CSS overridden.
USER_TEMPLATES = {
    "_footer.html": "<footer><p>{{ customer }} · {{ tr('report.title') }}</p></footer>\n",
    "report.css": "body { font-family: serif; }\n",
}


def saved_run(name: str) -> Run:
    """A result file saved from a real run."""
    return load(gzip.decompress((HERE / "golden" / f"{name}-run.json.gz").read_bytes()),
                f"{name}-run.json.gz")


def _bench_run() -> Run:
    spec = importlib.util.spec_from_file_location("bench_report", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_run(300)


def _eventful_run() -> Run:
    """The full sample merged from two vantages, with waivers (held, run out, blocking),
    an insecure note, an interrupted run and an engineer's and supplier's to-do."""
    results = list(full_run("en").results)
    held = {"reason": "PPTP kept <for> the old scanners", "until": "2027-01-31",
            "expired": False}
    ran_out = {"reason": "Until the upgrade", "until": "2026-10-31", "expired": True}
    results[1] = dataclasses.replace(results[1], waiver=held)
    results[2] = dataclasses.replace(results[2], waiver=ran_out, owner="supplier")
    results[5] = dataclasses.replace(results[5], waiver=held, vantage="customer")
    results[7] = dataclasses.replace(
        results[7], vantage="engineer, customer",
        details={**results[7].details,
                 INSECURE: t("TLS not verified (verify = false).",
                             "TLS verifieras inte (verify = false).").to_json()})
    results.append(dataclasses.replace(results[9], target="sts2.exempel.se",
                                       status=Status.FAIL, due="2026-11-01"))
    return full_run("en", results=tuple(results), vantage="engineer+customer",
                    interrupted=True, sources=(
                        {"vantage": "engineer", "finished_at": "2026-11-25T09:14:14+01:00",
                         "verdict": "not_ready", "file": "/x/engineer.json"},
                        {"vantage": "customer", "self_check": True,
                         "finished_at": "not a time", "verdict": "?", "file": "c.json"}))


CASES: dict[str, Callable[[], tuple[Run, str]]] = {
    "bench-en": lambda: (saved_run("bench"), "en"),
    "bench-sv": lambda: (saved_run("bench"), "sv"),
    "demo-en": lambda: (saved_run("demo"), "en"),
    "demo-sv": lambda: (saved_run("demo"), "sv"),
    "full-en": lambda: (full_run("en"), "en"),
    "full-sv": lambda: (full_run("sv"), "sv"),
    "eventful-en": lambda: (_eventful_run(), "en"),
    "eventful-sv": lambda: (_eventful_run(), "sv"),
    "hostile-en": lambda: (hostile_run("http://127.0.0.1:9"), "en"),
    "hostile-sv": lambda: (hostile_run("http://127.0.0.1:9"), "sv"),
    "synthetic-300-sv": lambda: (_bench_run(), "sv"),
}


def page(name: str, template_dir: Path | None = None) -> str:
    """The case's page; with ``template_dir`` rendered through the user's templates."""
    run, lang = CASES[name]()
    return render_html(run, lang, template_dir)


def digest(text: str) -> str:
    """The SHA-256 of the page's UTF-8 bytes (what :func:`html.render` writes)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _user_folder(path: Path) -> Path:
    for name, text in USER_TEMPLATES.items():
        (path / name).write_text(text, encoding="utf-8")
    return path


def _golden() -> dict[str, str]:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_report_is_byte_identical_to_the_golden(name: str) -> None:
    assert digest(page(name)) == _golden()[name]


@pytest.mark.parametrize("name", ["demo-sv", "eventful-en"])
def test_a_users_templates_render_byte_identical(name: str, tmp_path: Path) -> None:
    got = page(name, _user_folder(tmp_path))
    assert "font-family: serif" in got  # the user's folder was used at all
    assert digest(got) == _golden()[f"user-{name}"]


def test_the_package_templates_are_back_after_a_users_folder(tmp_path: Path) -> None:
    """A user's folder in one render must not stick to the next render without it."""
    page("full-en", _user_folder(tmp_path))
    assert digest(page("full-en")) == _golden()["full-en"]


def write(path: Path = GOLDEN) -> None:
    """Write the hashes of every case with the renderer as it is now."""
    import tempfile

    hashes = {name: digest(page(name)) for name in sorted(CASES)}
    with tempfile.TemporaryDirectory() as folder:
        for name in ("demo-sv", "eventful-en"):
            hashes[f"user-{name}"] = digest(page(name, _user_folder(Path(folder))))
    path.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.reports.test_html_golden --write")
    write()
