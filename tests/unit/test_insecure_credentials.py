"""Fail closed, loudly: the support account's credentials never go over unverified TLS or
cleartext unless the profile opts in per server (``winrm.allow_insecure_credentials``);
with the opt-in ``account.login`` is at best ``warn`` and every report says so at its top
(HTML, terminal, JSON, Nagios), through the same mechanism that shows ``verify = false``
of the gateways (``model.INSECURE``). ``validate`` warns about such settings.

Against the WS-Management and AnyConnect simulators on loopback.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from accessready.agent.app.run import run_checks
from accessready.agent.cli.main import cli
from accessready.agent.core.model import INSECURE, Status, Verdict, insecure_notes
from accessready.agent.core.profile import parse_profile
from accessready.agent.demo.simulators import pki
from accessready.agent.demo.simulators.anyconnect import AnyConnectSimulator
from accessready.agent.demo.simulators.wsman import SimUser, WsmanSimulator
from accessready.agent.io.secrets import Secret
from accessready.agent.io.transports.sessions import SessionOptions, Sessions
from accessready.agent.plugin.runner import RunOptions
from accessready.checks import account, remote
from accessready.checks.anyconnect import gateway as anyconnect
from accessready.reports import RENDERERS
from accessready.reports.json_report import from_dict, to_dict
from accessready.reports.terminal import render_table

from .recordings import load_recordings
from .simhelpers import PASSWORD, USER, profile_from

ENV = "AR_TEST_PASSWORD"


@pytest.fixture(autouse=True)
def _password_env(monkeypatch):
    monkeypatch.setenv(ENV, PASSWORD)


@pytest.fixture(scope="module")
def sim():
    server = WsmanSimulator({USER: SimUser(PASSWORD)}, load_recordings("win2019-adfs"),
                            computer="ADFS01").start()
    yield server
    server.stop()


def winrm_profile(port: int, tmp_path, winrm_extra: str = ""):
    return profile_from(f"""
[account]
username = 'EXEMPEL\\eventful-support'
password = {{ env = "{ENV}" }}

[[servers]]
name = "adfs01"
address = "127.0.0.1"
roles = ["adfs"]
remote = ["winrm"]
winrm = {{ transport = "basic", https = false, port = {port}{winrm_extra} }}
""", tmp_path)


def run(profile, checks):
    sessions = Sessions(profile, Secret(PASSWORD), SessionOptions(use_agent=False))
    return run_checks(profile, RunOptions(timeout=8.0), checks=[c() for c in checks],
                      services={"sessions": sessions}, interactive=False)


def login(result_run):
    return next(r for r in result_run.results if r.check_id == "account.login")


def test_basic_over_http_is_not_sent_without_the_opt_in(sim, tmp_path):
    start = len(sim.log)
    result_run = run(winrm_profile(sim.port, tmp_path), [account.LoginCheck])
    result = login(result_run)
    # The profile is at fault, not the server: the login was not tried, so "could not
    # decide" (error) — and the verdict can never be "ready" on it.
    assert result.status is Status.ERROR, result.summary.en
    assert result.details["failure"] == "insecure"
    assert "allow_insecure_credentials" in result.remediation.en
    assert "allow_insecure_credentials" in result.remediation.sv
    assert not [e for e in sim.log[start:] if e["op"].startswith("auth")]
    assert result_run.verdict is Verdict.UNKNOWN
    assert insecure_notes(result_run.results) == []  # nothing went out unprotected


def test_with_the_opt_in_login_warns_and_every_report_says_so_at_the_top(sim, tmp_path):
    profile = winrm_profile(sim.port, tmp_path, ", allow_insecure_credentials = true")
    result_run = run(profile, [account.LoginCheck, remote.WinrmCheck])
    result = login(result_run)
    assert result.status is Status.WARN, result.summary.en
    assert "cleartext" in result.summary.en and "klartext" in result.summary.sv
    assert result.details[INSECURE]["en"].startswith("The profile lets the support account's")
    assert result_run.verdict is Verdict.READY_WITH_WARNINGS
    winrm = next(r for r in result_run.results if r.check_id == "remote.winrm")
    assert winrm.status is Status.WARN and "plain HTTP" in winrm.summary.en

    notes = insecure_notes(result_run.results)
    assert [(n["check"], n["target"]) for n in notes] == [("account.login", "adfs01")]
    data = json.loads(RENDERERS["json"](result_run, "en"))
    assert data["insecure"] == notes
    # a saved result re-derives the notice from its results: it cannot be dropped alone
    data["insecure"] = []
    assert insecure_notes(from_dict(data).results) == notes

    for lang, heading, word in (("en", "Security settings turned off", "cleartext"),
                                ("sv", "Säkerhetsinställningar avstängda", "klartext")):
        page = RENDERERS["html"](result_run, lang).decode()
        top = page.index('id="insecure"')
        assert top < page.index('id="verdict"')
        assert heading in page[top:] and word in page[top:page.index('id="verdict"')]
        table = render_table(result_run, lang)
        assert table.startswith("!! ") and word in table.splitlines()[1]
        assert "INSECURE" in RENDERERS["nagios"](result_run, lang).decode() or \
            "OSÄKERT" in RENDERERS["nagios"](result_run, lang).decode()


def test_gateway_verify_false_uses_the_same_notice(tmp_path):
    ca = pki.make_ca("Test CA")
    files = pki.write_tls_files(tmp_path, "gw", ca, *pki.issue(ca, ["127.0.0.1"]))
    with AnyConnectSimulator(pki.server_context(files)) as gateway:
        profile = parse_profile(
            '[customer]\nname = "K"\n[access]\nmethods = ["anyconnect"]\n'
            f'[access.anyconnect]\ngateway = "127.0.0.1"\nport = {gateway.port}\n'
            "verify = false\n", str(tmp_path / "p.toml"))
        result_run = run_checks(profile, RunOptions(timeout=5.0),
                                checks=[anyconnect.AnyConnectGatewayCheck()],
                                services=None, interactive=False)
    notes = insecure_notes(result_run.results)
    assert len(notes) == 1 and notes[0]["check"] == "anyconnect.gateway"
    assert "verify = false" in notes[0]["text"]["en"] and "avstängd" in notes[0]["text"]["sv"]
    assert to_dict(result_run)["insecure"] == notes


def test_validate_warns_about_basic_over_http(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[customer]\nname = "K"\n[access]\nmethods = ["teamviewer"]\n'
                    "[account]\nusername = 'u'\npassword = { env = \"PW\" }\n"
                    '[[servers]]\nname = "adfs01"\naddress = "127.0.0.1"\nroles = ["adfs"]\n'
                    'remote = ["winrm"]\nwinrm = { transport = "basic", https = false }\n')
    out = CliRunner().invoke(cli, ["validate", str(path)])
    assert out.exit_code == 0
    assert "warning: servers[0].winrm (adfs01): Basic authentication over plain HTTP" in \
        out.stderr
    assert "allow_insecure_credentials" in out.stderr
