"""Findings and waivers end to end through the real CLI, in both languages: a customer
that keeps PPTP on purpose (the PPTP simulator on loopback answers: weak crypto, a
warning), its waiver while it holds and after it ran out, and what `validate` says."""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path

import jsonschema
import pytest

from accessready.agent.demo.simulators.pptp import PptpSimulator

from .conftest import REPO, accessready, one_line_error
from .test_audit_cli import vpn_profile

RESULT_SCHEMA = json.loads((REPO / "reports" / "schemas" / "result.schema.json").read_text())


def pptp_profile(path: Path, port: int, waivers: str = "") -> Path:
    """The audit tests' PPTP customer (agreement, DPA, the gateway), plus ``waivers``."""
    vpn_profile(path.parent, path.stem, "Skolan", port, timeout=5)
    path.write_text(path.read_text("utf-8") + waivers, encoding="utf-8")
    return path


def waiver(until: dt.date, check: str = "winvpn.pptp", target: str = "") -> str:
    where = f'target = "{target}"\n' if target else ""
    return (f'[[waivers]]\ncheck = "{check}"\n{where}reason = "PPTP is kept for the old '
            f'scanners"\nuntil = {until.isoformat()}\n')


def test_a_waived_finding_does_not_count_until_its_date(tmp_path: Path,
                                                        gateway: PptpSimulator) -> None:
    plain = pptp_profile(tmp_path / "plain.toml", gateway.port)
    out = accessready("run", str(plain), "--json", str(tmp_path / "plain.json"))
    assert out.returncode == 1, out.stderr  # PPTP answers: a warning (weak crypto)
    finding = next(r for r in json.loads((tmp_path / "plain.json").read_text())["results"]
                   if r["check"] == "winvpn.pptp")
    assert (finding["status"], finding["owner"], finding["severity"]) == (
        "warn", "customer", "medium")

    until = dt.date.today() + dt.timedelta(days=30)
    waived = pptp_profile(tmp_path / "waived.toml", gateway.port,
                          waiver(until, target="127.0.0.1"))
    out = accessready("validate", str(waived))
    assert out.returncode == 0, out.stderr
    assert f"waives winvpn.pptp on 127.0.0.1 until {until}" in out.stdout
    out = accessready("run", str(waived), "--json", str(tmp_path / "w.json"), "--html",
                      str(tmp_path / "w.html"), "--lang", "sv")
    assert out.returncode == 0, out.stderr + out.stdout  # ready: the warning is accepted
    assert f"UNDANTAGET till och med {until}: PPTP is kept for the old scanners" in out.stdout
    data = json.loads((tmp_path / "w.json").read_text("utf-8"))
    jsonschema.validate(data, RESULT_SCHEMA)
    assert data["verdict"] == "ready"
    result = next(r for r in data["results"] if r["check"] == "winvpn.pptp")
    assert result["status"] == "warn"  # the finding is shown as it is, with its waiver
    assert result["waiver"] == {"reason": "PPTP is kept for the old scanners",
                                "until": until.isoformat(), "expired": False}
    page = (tmp_path / "w.html").read_text("utf-8")
    assert "Undantagna fynd" in page and f"Undantaget till och med {until}" in page
    # re-rendered in English from the saved result: the same verdict and waiver
    out = accessready("report", str(tmp_path / "w.json"), "--html", str(tmp_path / "en.html"),
                      "--lang", "en")
    assert out.returncode == 0, out.stderr
    english = (tmp_path / "en.html").read_text("utf-8")
    assert "Waived findings" in english and f"Waived until {until}" in english
    assert "WAIVED until" in out.stdout

    # a waiver for another target does not match
    other = pptp_profile(tmp_path / "other.toml", gateway.port,
                         waiver(until, target="vpn9.exempel.se"))
    assert accessready("run", str(other), "-q").returncode == 1


def test_a_waiver_past_its_date_counts_again_and_validate_refuses_it(
        tmp_path: Path, gateway: PptpSimulator) -> None:
    past = dt.date.today() - dt.timedelta(days=1)
    profile = pptp_profile(tmp_path / "old.toml", gateway.port, waiver(past))
    one_line_error(accessready("validate", str(profile)),
                   f"{profile}:", "waivers[0].until: the waiver of winvpn.pptp ran out on "
                   f"{past}", "renew it")
    out = accessready("run", str(profile), "--html", str(tmp_path / "old.html"), "--lang",
                      "en")
    assert out.returncode == 1, out.stderr  # the warning counts again
    assert f"accessready: warning: {profile}:" in out.stderr
    assert "WAIVER RAN OUT" in out.stdout
    page = (tmp_path / "old.html").read_text("utf-8")
    assert f"The waiver ran out on {past}" in page and "Waived findings" not in page


def test_waivers_name_registered_checks(tmp_path: Path) -> None:
    until = dt.date.today() + dt.timedelta(days=30)
    profile = pptp_profile(tmp_path / "typo.toml", 1723, waiver(until, check="winvpn.ppt"))
    for command in ("validate", "run"):
        one_line_error(accessready(command, str(profile)),
                       f"{profile}:", "waivers[0].check: no check is named 'winvpn.ppt'",
                       "did you mean 'winvpn.pptp'?")


@pytest.mark.parametrize("lang,supplier,customer", [
    ("en", "What the supplier must do", "What the customer must do"),
    ("sv", "Det här behöver leverantören göra", "Det här behöver kunden göra"),
])
def test_each_party_sees_its_own_actions(tmp_path: Path, gateway: PptpSimulator, lang: str,
                                         supplier: str, customer: str) -> None:
    """No agreement recorded (the supplier's profile) and PPTP (the customer's gateway)."""
    profile = pptp_profile(tmp_path / "p.toml", gateway.port)
    profile.write_text(profile.read_text().replace('agreement = "SA-2"\n', ""))
    out = accessready("run", str(profile), "--json", str(tmp_path / "r.json"), "--html",
                      str(tmp_path / "r.html"), "--lang", lang)
    # a failure; whether the agreement also gates the verdict is the verdict's rule
    assert out.returncode in (1, 2), out.stderr
    data = json.loads((tmp_path / "r.json").read_text("utf-8"))
    owners = {r["check"]: (r["owner"], r["severity"]) for r in data["results"]
              if r["status"] in ("warn", "fail", "error")}
    assert owners["admin.agreement"] == ("supplier", "critical")
    assert owners["winvpn.pptp"] == ("customer", "medium")
    page = (tmp_path / "r.html").read_text("utf-8")
    customer_part = page[page.index('data-owner="customer"'):page.index('data-owner="supplier"')]
    supplier_part = page[page.index('data-owner="supplier"'):page.index('id="checks-h"')]
    assert customer in customer_part and supplier in supplier_part
    assert "127.0.0.1" in customer_part and "127.0.0.1" not in supplier_part  # PPTP
    assert "Skolan" in supplier_part and "Skolan" not in customer_part  # the agreement
    assert 'data-owner="engineer"' not in page  # nothing for the engineer: no section


def test_audit_honours_waivers_and_reports_a_mistyped_one(tmp_path: Path,
                                                          gateway: PptpSimulator) -> None:
    until = dt.date.today() + dt.timedelta(days=30)
    folder = tmp_path / "profiles"
    folder.mkdir()
    pptp_profile(folder / "a.toml", gateway.port, waiver(until))
    pptp_profile(folder / "b.toml", gateway.port, waiver(until, check="winvpn.pptpp"))
    (folder / "b.toml").write_text((folder / "b.toml").read_text().replace("Skolan", "Byn"))
    out = accessready("audit", str(folder), "--json", str(tmp_path / "audit.json"), "-q")
    data = json.loads((tmp_path / "audit.json").read_text("utf-8"))
    rows = {c["customer"]: c for c in data["customers"]}
    assert rows["Skolan"]["verdict"] == "ready"  # the PPTP warning is waived
    assert rows["Skolan"]["findings"] == []  # a waived finding is not among the worst
    assert rows["Byn"]["verdict"] == "unknown"
    assert "no check is named 'winvpn.pptpp' — did you mean 'winvpn.pptp'?" in \
        rows["Byn"]["error"]
    assert out.returncode == 3, out.stderr


def test_a_waiver_never_makes_a_blocking_failure_ready(tmp_path: Path) -> None:
    """Nothing answers on the PPTP port: the only access method fails. A waiver for it
    does not make the customer ready (Nagios, exit code, JSON)."""
    until = dt.date.today() + dt.timedelta(days=30)
    with socket.socket() as closed:  # a port nobody listens on: bound, never listening
        closed.bind(("127.0.0.1", 0))
        profile = pptp_profile(tmp_path / "down.toml", closed.getsockname()[1],
                               waiver(until))
        out = accessready("run", str(profile), "--nagios", "--json", str(tmp_path / "d.json"))
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stdout.startswith("ACCESSREADY CRITICAL - Not ready"), out.stdout
    data = json.loads((tmp_path / "d.json").read_text("utf-8"))
    pptp = next(r for r in data["results"] if r["check"] == "winvpn.pptp")
    assert (pptp["status"], pptp["severity"], pptp["waiver"]["expired"]) == (
        "fail", "critical", False)
    access = next(o for o in data["requirements"] if o["requirement"] == "access")
    assert access["blocking"] and access["status"] == "fail"
    # a waiver that lifts nothing leaves the failure counted as one, in every output
    assert data["counts"]["fail"] >= 1 and data["counts"]["waived"] == 0, data["counts"]
    assert "waived" not in out.stdout.split("|")[0] and "fail=0;" not in out.stdout, out.stdout


def test_the_agreement_and_the_dpa_cannot_be_waived(tmp_path: Path) -> None:
    """The reviewer's case: the agreement ended, no DPA, both waived."""
    until = dt.date.today() + dt.timedelta(days=30)
    profile = pptp_profile(tmp_path / "p.toml", 1723,
                           waiver(until, check="admin.agreement") +
                           waiver(until, check="admin.dpa"))
    profile.write_text(profile.read_text().replace("2099-12-31", "2020-01-31")
                       .replace("dpa_signed = 2025-01-01\n", ""))
    line = profile.read_text().splitlines().index('check = "admin.agreement"') + 1
    why = (f"{profile}:{line}: waivers[0].check: admin.agreement cannot be waived: a "
           "support agreement and a signed DPA are conditions for support; they cannot be "
           "waived — ")
    out = accessready("audit", str(profile), "--json", str(tmp_path / "a.json"))
    assert out.returncode == 3 and "UNKNOWN" in out.stdout, out  # the row says why
    [row] = json.loads((tmp_path / "a.json").read_text("utf-8"))["customers"]
    assert row["verdict"] == "unknown" and row["error"].startswith(why)
    for command in ("validate", "run"):
        args = ["--only", "admin.agreement", "--only", "admin.dpa", "--nagios"] \
            if command == "run" else []
        out = accessready(command, str(profile), *args)
        one_line_error(out, f"{profile}:{line}: waivers[0].check: admin.agreement cannot be "
                       "waived: a support agreement and a signed DPA are conditions for "
                       "support; they cannot be waived")
