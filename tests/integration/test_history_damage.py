"""A damaged history database (issue 16, item 7), through the real CLI.

The files are real histories with garbage written over their pages, as a failing disk
leaves them: ``history`` says so in one line naming the file and the fix (exit 3); an
``audit`` still runs every profile and writes its overview, and reports that the history
could not be kept.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.unit.runs import damaged_history

from .conftest import REPO, accessready, account_profile, one_line_error

AUDIT_SCHEMA = json.loads((REPO / "reports" / "schemas" / "audit.schema.json").read_text())
PAGES = pytest.mark.parametrize("first_page", [0, 2], ids=["header", "pages"])


@PAGES
def test_history_of_a_damaged_file_is_one_line_naming_it_and_the_fix(tmp_path: Path,
                                                                     first_page: int) -> None:
    db = tmp_path / "audit.db"
    damaged_history(db, first_page=first_page)
    for args in (["Kund A"], [], ["--run", "3", "--json", str(tmp_path / "r.json")],
                 ["--prune", "--keep-days", "1"]):
        out = accessready("history", *args, "--history", str(db))
        one_line_error(out, str(db), "damaged", "move it aside", f"mv {db} {db}.damaged")


@PAGES
def test_an_audit_with_a_damaged_history_still_writes_its_overview(tmp_path: Path,
                                                                   first_page: int) -> None:
    db = tmp_path / "audit.db"
    damaged_history(db, first_page=first_page)
    profile = account_profile(tmp_path / "a.toml", "Kund A",
                              '[checks]\nonly = ["admin.agreement", "admin.dpa"]\n')
    outputs = {"html": tmp_path / "o.html", "json": tmp_path / "o.json",
               "prometheus": tmp_path / "o.prom"}
    args = [a for fmt, path in outputs.items() for a in (f"--{fmt}", str(path))]
    out = accessready("audit", str(profile), "--history", str(db), *args, "--keep-days", "30",
                      "--reports-dir", str(tmp_path / "reports"))
    assert out.returncode == 0, out.stderr  # the customer is ready; the history is reported
    assert "Traceback" not in out.stderr and "internal error" not in out.stderr
    [warning] = [line for line in out.stderr.splitlines() if str(db) in line]
    assert warning.startswith("accessready: warning: ") and "damaged" in warning
    data = json.loads(outputs["json"].read_text("utf-8"))
    jsonschema.validate(data, AUDIT_SCHEMA)
    assert "damaged" in data["history_error"] and data["pruned"] is None
    assert [c["verdict"] for c in data["customers"]] == ["ready"]
    html = outputs["html"].read_text("utf-8")
    assert "The history failed" in html and "Kund A" in html
    assert outputs["prometheus"].read_text("utf-8")
    sv = accessready("audit", str(profile), "--history", str(db), "--lang", "sv",
                     "--html", str(outputs["html"]))
    assert "Historiken fungerade inte" in outputs["html"].read_text("utf-8"), sv.stderr
