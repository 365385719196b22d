"""account.login, account.status, account.privileges and service.running against the
WS-Management and SSH simulators (replaying the recordings in
agent/demo/simulators/recordings and tests/fixtures/recordings), plus the parsers they use.

Pins: each failure mode gets its own verdict and remediation; over WinRM a 401 says it
cannot tell a wrong password from a locked account, and account.status then reads the
account's real state over another server; PS 5.1's one-object-not-array output is
normalised; the password never appears in any result.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
from pathlib import Path

import paramiko
import pytest

from accessready.agent.core.model import Status, Verdict
from accessready.agent.core.profile import ProfileError
from accessready.agent.demo.simulators.ssh import LinuxHost, SshSimulator, SshUser
from accessready.agent.demo.simulators.wsman import SimUser, WsmanSimulator
from accessready.agent.io.transports.base import CommandResult
from accessready.agent.plugin.checkapi import Check
from accessready.checks import account, remote
from accessready.checks.account.parse import (
    chage_date,
    parse_chage,
    parse_id,
    parse_net_user,
    parse_sudo,
)
from accessready.checks.service import running as services
from accessready.checks.service.running import names_param, parse_systemctl_show

from .recordings import load_recordings
from .simhelpers import PASSWORD, USER, profile_from, run_profile

ALL = [*account.CHECKS, *services.CHECKS]
ENV = "AR_TEST_PASSWORD"


@pytest.fixture(autouse=True)
def _password_env(monkeypatch):
    monkeypatch.setenv(ENV, PASSWORD)


def iso_in(days: int) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).strftime(
        "%Y-%m-%dT%H:%M:%S.0000000Z")


class Lab:
    """The simulated servers of one test: WinRM adfs01 (+ wap01) and SSH sync01."""

    def __init__(self, tmp_path, *, adfs_recordings=None, wap_recordings=None,
                 wap_state="ok", ssh_state="ok", linux: LinuxHost | None = None,
                 with_wap: bool = False) -> None:
        self.adfs = WsmanSimulator({USER: SimUser(PASSWORD)},
                                   adfs_recordings or load_recordings("win2019-adfs"),
                                   computer="ADFS01").start()
        self.wap = WsmanSimulator({USER: SimUser(PASSWORD, state=wap_state)},
                                  wap_recordings or load_recordings("win2022-wap"),
                                  computer="WAP01").start() if with_wap else None
        self.linux = linux or LinuxHost(units={
            "eventful-sync": ("active", "running", "enabled", "sync"),
            "eventful-import": ("failed", "failed", "enabled", "import")})
        self.ssh = SshSimulator({USER: SshUser(PASSWORD, state=ssh_state)},
                                commands=self.linux.respond).start()
        self.known_hosts = tmp_path / "known_hosts"
        self.known_hosts.write_text(self.ssh.known_hosts_line())
        self.tmp_path = tmp_path

    def toml(self, adfs_services: str = '["adfssrv", "W32Time"]') -> str:
        wap = ""
        if self.wap is not None:
            wap = f"""
[[servers]]
name = "wap01"
address = "127.0.0.1"
roles = ["wap"]
remote = ["winrm"]
services = ["appproxysvc", "adfssrv"]
winrm = {{ transport = "ntlm", https = false, port = {self.wap.port} }}
"""
        return f"""
[account]
username = 'EXEMPEL\\eventful-support'
password = {{ env = "{ENV}" }}
known_hosts = "{self.known_hosts}"
min_password_days = 14

[[servers]]
name = "adfs01"
address = "127.0.0.1"
roles = ["adfs"]
remote = ["winrm"]
services = {adfs_services}
winrm = {{ transport = "ntlm", https = false, port = {self.adfs.port} }}
{wap}
[[servers]]
name = "sync01"
address = "127.0.0.1"
roles = ["sync"]
remote = ["ssh"]
services = ["eventful-sync", "eventful-import"]
ssh = {{ port = {self.ssh.port} }}
"""

    def run(self, checks=ALL, password: str = PASSWORD, toml: str | None = None):
        return run_profile(profile_from(toml or self.toml(), self.tmp_path), checks,
                           password=password)

    def stop(self) -> None:
        self.adfs.stop()
        if self.wap is not None:
            self.wap.stop()
        self.ssh.stop()


@pytest.fixture
def lab(tmp_path):
    made: list[Lab] = []

    def make(**kw) -> Lab:
        made.append(Lab(tmp_path, **kw))
        return made[-1]

    yield make
    for item in made:
        item.stop()


def results_by(results):
    return {(r.check_id, r.target): r for r in results}


# --- the happy path --------------------------------------------------------------------

def test_everything_over_both_transports(lab) -> None:
    sims = lab()
    got = results_by(sims.run())
    login_w, login_s = got["account.login", "adfs01"], got["account.login", "sync01"]
    assert login_w.status is Status.PASS, login_w.summary.en
    assert "EXEMPEL\\eventful-support" in login_w.summary.en
    assert "Windows Server 2019" in login_w.summary.en
    assert login_s.status is Status.PASS and "eventful-support" in login_s.summary.en
    status_w = got["account.status", "adfs01"]
    assert status_w.status is Status.WARN and status_w.details["account"]["Source"] == "ADSI"
    assert "expires in 10 days" in status_w.summary.en
    assert "går ut om 10 dagar" in status_w.summary.sv
    assert got["account.status", "sync01"].status is Status.PASS
    assert got["account.privileges", "adfs01"].status is Status.PASS
    assert got["account.privileges", "adfs01"].details["effective_admin"] is True
    priv_s = got["account.privileges", "sync01"]
    assert priv_s.status is Status.PASS and priv_s.details["sudo"]["nopasswd"] is True
    assert got["service.running", "adfs01"].status is Status.PASS
    svc = got["service.running", "sync01"]
    assert svc.status is Status.FAIL and "eventful-import (failed/failed)" in svc.summary.en


def test_password_never_appears_in_results(lab) -> None:
    sims = lab()
    results = sims.run(password="Wr0ng-Pass#1") + sims.run()
    text = json.dumps([r.to_json() for r in results], ensure_ascii=False)
    assert PASSWORD not in text and "Wr0ng-Pass#1" not in text


# --- failure modes of the login -----------------------------------------------------------

def test_wrong_password_fails_login_everywhere_and_blocks(lab) -> None:
    from accessready.agent.app.run import run_checks
    from accessready.agent.io.secrets import Secret
    from accessready.agent.io.transports.sessions import SessionOptions, Sessions
    from accessready.agent.plugin.runner import RunOptions

    sims = lab()
    profile = profile_from(sims.toml(), sims.tmp_path)
    sessions = Sessions(profile, Secret("Wr0ng-Pass#1"), SessionOptions(use_agent=False))
    run = run_checks(profile, RunOptions(timeout=8), checks=[c() for c in ALL],
                     services={"sessions": sessions}, interactive=False)
    got = results_by(run.results)
    win, lin = got["account.login", "adfs01"], got["account.login", "sync01"]
    assert win.status is Status.FAIL and lin.status is Status.FAIL
    assert "Windows does not say which" in win.summary.en
    assert win.details["distinguishable"].startswith("no")
    assert "Get-ADUser" in win.remediation.en and "Get-ADUser" in win.remediation.sv
    assert "passwd -S" in lin.remediation.en
    assert got["account.status", "adfs01"].status is Status.ERROR
    assert run.verdict is Verdict.NOT_READY
    # one login attempt per server and method, however many checks asked
    failed = [e for e in sims.adfs.log if e["op"] == "auth-failed"]
    assert len(failed) == 1


def test_locked_on_one_server_is_explained_over_another(lab) -> None:
    adfs = load_recordings("win2019-adfs")
    adfs = copy.deepcopy(adfs)
    adfs["scripts"]["account.status"]["json"].update({"LockedOut": True})
    sims = lab(with_wap=True, wap_state="locked", adfs_recordings=adfs)
    got = results_by(sims.run(checks=[account.LoginCheck, account.StatusCheck]))
    assert got["account.login", "wap01"].status is Status.FAIL
    status = got["account.status", "wap01"]
    assert status.status is Status.FAIL
    assert status.details["read_over"] == "adfs01"
    assert "locked out" in status.summary.en and "utelåst" in status.summary.sv
    assert "Unlock-ADAccount" in status.remediation.en


def test_linux_expired_password(lab) -> None:
    sims = lab(ssh_state="expired")
    got = results_by(sims.run(checks=[account.LoginCheck]))
    result = got["account.login", "sync01"]
    assert result.status is Status.FAIL
    assert result.details["failure"] == "password_expired"
    assert "har gått ut" in result.summary.sv


def test_unknown_host_key_means_login_not_tried(lab) -> None:
    sims = lab()
    sims.known_hosts.write_text("")
    got = results_by(sims.run(checks=[account.LoginCheck, remote.SshCheck]))
    login = got["account.login", "sync01"]
    assert login.status is Status.ERROR
    assert sims.ssh.fingerprint in login.summary.en
    assert got["remote.ssh", "sync01"].status is Status.FAIL
    assert not [e for e in sims.ssh.log if e["op"] == "password"]


def test_not_allowed_to_use_winrm(lab) -> None:
    sims = lab()
    sims.adfs.users[USER.lower()].state = "no_access"
    got = results_by(sims.run(checks=[account.LoginCheck]))
    result = got["account.login", "adfs01"]
    assert result.status is Status.FAIL and result.details["failure"] == "access_denied"
    assert "Remote Management Users" in result.remediation.en


def test_key_works_but_password_rejected_warns(lab, tmp_path) -> None:
    key = paramiko.ECDSAKey.generate(bits=256)
    key_file = tmp_path / "id_support"
    key.write_private_key_file(str(key_file))
    sims = lab()
    sims.ssh.users[USER].keys.append(key)
    sims.ssh.users[USER].password = "S0mething-else#1"
    toml = sims.toml().replace("min_password_days = 14",
                               f'min_password_days = 14\nssh_key = "{key_file}"')
    got = results_by(sims.run(checks=[account.LoginCheck], toml=toml))
    # the key is tried first and works: the password is not even needed here
    assert got["account.login", "sync01"].status is Status.PASS
    assert got["account.login", "sync01"].details["login"]["auth"][0]["method"] == "publickey"


# --- status details ------------------------------------------------------------------------

def test_local_account_via_get_localuser(lab) -> None:
    sims = lab(adfs_recordings=load_recordings("win2022-local"))
    got = results_by(sims.run(checks=[account.StatusCheck]))
    result = got["account.status", "adfs01"]
    assert result.status is Status.PASS, result.summary.en
    assert result.details["account"]["Source"] == "Get-LocalUser"
    assert "39 more days" in result.summary.en


def test_net_user_fallback_when_powershell_cannot_tell(lab) -> None:
    recordings = copy.deepcopy(load_recordings("win2019-adfs"))
    recordings["scripts"]["account.status"] = {"json": {"Source": "none", "Name": "x"}}
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    text = recordings["commands"]["net user eventful-support /domain"]["stdout"]
    text = text.replace("12/15/2025 8:02:11 AM", soon.strftime("%m/%d/%Y %I:%M:%S %p"))
    text = text.replace("Account active               Yes", "Account active               Locked")
    recordings["commands"]["net user eventful-support /domain"]["stdout"] = text
    sims = lab(adfs_recordings=recordings)
    result = results_by(sims.run(checks=[account.StatusCheck]))["account.status", "adfs01"]
    assert result.status is Status.FAIL
    assert result.details["account"]["Source"] == "net user"
    assert "locked out" in result.summary.en and "expires in 3 days" in result.summary.en


@pytest.mark.parametrize("changes,status,words", [
    ({"Enabled": False}, Status.FAIL, "disabled"),
    ({"PasswordExpired": True}, Status.FAIL, "password has expired"),
    ({"PasswordExpires": "{{now-1d}}"}, Status.FAIL, "password has expired"),
    ({"PasswordExpires": None, "PasswordNeverExpires": True}, Status.PASS, "never expires"),
    ({"PasswordExpires": "{{now+60d}}", "AccountExpires": "{{now+5d}}"}, Status.WARN,
     "account ends in 5 days"),
    ({"PasswordExpires": "{{now+60d}}", "AccountExpires": "{{now-2d}}"}, Status.FAIL,
     "end date"),
    # a state the server did not give is never reported as "enabled" (a false pass)
    ({"Enabled": None, "PasswordExpires": "{{now+60d}}"}, Status.WARN,
     "did not say whether the account is enabled"),
])
def test_windows_status_rules(lab, changes, status, words) -> None:
    recordings = copy.deepcopy(load_recordings("win2019-adfs"))
    recordings["scripts"]["account.status"]["json"].update(changes)
    sims = lab(adfs_recordings=recordings)
    result = results_by(sims.run(checks=[account.StatusCheck]))["account.status", "adfs01"]
    assert result.status is status, result.summary.en
    assert words in result.summary.en
    # the account's end date is the due date of an ending account (not the password's)
    ends = {"account ends in 5 days": 5, "end date": -2}.get(words)
    if ends is not None:
        day = dt.datetime.now(dt.UTC) + dt.timedelta(days=ends)
        assert result.due in (day.date().isoformat(),
                              (day - dt.timedelta(days=1)).date().isoformat()), result.due


def test_linux_status_rules(lab) -> None:
    sims = lab(linux=LinuxHost(password_changed_days_ago=85, max_days=90,
                               account_expires_in_days=300, passwd_state="P"))
    result = results_by(sims.run(checks=[account.StatusCheck]))["account.status", "sync01"]
    assert result.status is Status.WARN and "expires in 5 days" in result.summary.en
    assert result.owner == "customer"
    assert result.due == (dt.datetime.now(dt.UTC) + dt.timedelta(days=5)).date().isoformat()
    sims2 = lab(linux=LinuxHost(passwd_state="L"))
    locked = results_by(sims2.run(checks=[account.StatusCheck]))["account.status", "sync01"]
    assert locked.status is Status.FAIL and "locked out" in locked.summary.en


# --- privileges ------------------------------------------------------------------------------

def test_wap_without_admin_warns(lab) -> None:
    sims = lab(with_wap=True)
    result = results_by(sims.run(checks=[account.PrivilegesCheck]))["account.privileges",
                                                                     "wap01"]
    assert result.status is Status.WARN
    assert "not a local administrator" in result.summary.en
    assert result.details["remote_management_users"] is True
    assert "Administrators" in result.remediation.en


def test_deny_only_administrators_is_named(lab) -> None:
    recordings = copy.deepcopy(load_recordings("win2019-adfs"))
    data = recordings["scripts"]["account.privileges"]["json"]
    data["IsAdmin"] = False
    data["DenyOnlySids"] = ["S-1-5-32-544"]
    sims = lab(adfs_recordings=recordings)
    result = results_by(sims.run(checks=[account.PrivilegesCheck]))["account.privileges",
                                                                     "adfs01"]
    assert result.status is Status.WARN and "deny-only" in result.summary.en
    assert result.details["administrators_deny_only"] is True


# --- Windows Server 2012 R2, Swedish display language --------------------------------------

WINDOWS_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "windows"


def server_2012r2_swedish() -> dict:
    """The reconstructed 2012 R2 (PowerShell 4.0, Swedish) recording, in the simulator's
    shape."""
    data = json.loads((WINDOWS_FIXTURES / "win2012r2-sv-local.json").read_text("utf-8"))
    return {"scripts": data["scripts"],
            "commands": {k.lower(): v for k, v in data["commands"].items()}}


def test_status_script_asks_get_command_before_get_localuser() -> None:
    """Pins issue 15: under $ErrorActionPreference='Stop' a missing Get-LocalUser (2012 R2)
    is a terminating error that -ErrorAction on the call does not catch."""
    script = account.status.STATUS_SCRIPT
    probe = script.index("Get-Command -Name 'Get-LocalUser' -ErrorAction SilentlyContinue")
    assert probe < script.index("Get-LocalUser -Name")
    assert "[ADSI]\"WinNT://$env:COMPUTERNAME/$sam,user\"" in script


def test_2012r2_local_account_via_adsi(lab) -> None:
    sims = lab(adfs_recordings=server_2012r2_swedish())
    result = results_by(sims.run(checks=[account.StatusCheck]))["account.status", "adfs01"]
    assert result.status is Status.PASS, result.summary.en
    assert result.details["account"]["Source"] == "ADSI WinNT"
    assert "not locked out" in result.summary.en and "39 more days" in result.summary.en
    assert "39 dagar till" in result.summary.sv


@pytest.mark.parametrize("flags,status,words", [
    (0x221 | 0x10, Status.FAIL, "locked out"),
    (0x221 | 0x2, Status.FAIL, "disabled"),
    (0x221 | 0x10000, Status.PASS, "never expires"),
])
def test_2012r2_user_flags_decide(lab, flags, status, words) -> None:
    recordings = server_2012r2_swedish()
    recordings["scripts"]["account.status"]["json"]["UserFlags"] = flags
    sims = lab(adfs_recordings=recordings)
    result = results_by(sims.run(checks=[account.StatusCheck]))["account.status", "adfs01"]
    assert result.status is status and words in result.summary.en, result.summary.en


def test_winnt_password_age_against_the_servers_clock() -> None:
    now = "2026-03-01T12:00:00.0000000Z"
    got = account.parse.winnt_account({"Source": "ADSI WinNT", "UserFlags": 0x201,
                                 "PasswordAge": 86400 * 40, "MaxPasswordAge": 86400 * 42,
                                 "PasswordExpired": 0, "Now": now})
    assert got["PasswordExpires"].startswith("2026-03-03T12:00:00")
    assert got["PasswordLastSet"].startswith("2026-01-20T12:00:00")
    assert got["Enabled"] is True and got["LockedOut"] is False
    forever = account.parse.winnt_account({"UserFlags": 0x201, "PasswordAge": 5,
                                     "MaxPasswordAge": 0xFFFFFFFF, "Now": now})
    assert forever["PasswordNeverExpires"] is True and forever["PasswordExpires"] is None
    unknown = account.parse.winnt_account({"Source": "ADSI WinNT"})
    assert unknown["Enabled"] is None and unknown["PasswordExpires"] is None


def test_swedish_deny_only_administrators_found_by_sid(lab) -> None:
    sims = lab(with_wap=True, wap_recordings=server_2012r2_swedish())
    result = results_by(sims.run(checks=[account.PrivilegesCheck]))["account.privileges",
                                                                     "wap01"]
    assert result.status is Status.WARN and "deny-only" in result.summary.en
    assert result.details["administrators_deny_only"] is True
    assert "Administratörer" in result.summary.sv


def test_deny_only_is_not_read_from_english_words(lab) -> None:
    """Attribute text is localised display text: only the token's deny-only SIDs count."""
    recordings = copy.deepcopy(load_recordings("win2019-adfs"))
    data = recordings["scripts"]["account.privileges"]["json"]
    data["IsAdmin"] = False
    data["DenyOnlySids"] = []
    for group in data["Groups"]:
        if group["Sid"] == "S-1-5-32-544":
            group["Attributes"] = "Group used for deny only"
    sims = lab(adfs_recordings=recordings)
    result = results_by(sims.run(checks=[account.PrivilegesCheck]))["account.privileges",
                                                                     "adfs01"]
    assert result.details["administrators_deny_only"] is False
    assert "not a local administrator" in result.summary.en


def test_swedish_whoami_csv_matches_the_json_projection() -> None:
    recordings = server_2012r2_swedish()
    text = recordings["commands"]["whoami /groups /fo csv"]["stdout"]
    rows = list(csv.reader(io.StringIO(text)))[1:]
    groups = recordings["scripts"]["account.privileges"]["json"]["Groups"]
    assert [(r[0], r[2], r[3]) for r in rows] == [(g["Name"], g["Sid"], g["Attributes"])
                                                  for g in groups]


def test_linux_without_sudo_on_a_sync_server_warns(lab) -> None:
    sims = lab(linux=LinuxHost(sudo="none"))
    result = results_by(sims.run(checks=[account.PrivilegesCheck]))["account.privileges",
                                                                     "sync01"]
    assert result.status is Status.WARN and "may not use sudo" in result.summary.en


# --- services ----------------------------------------------------------------------------------

def test_windows_service_stopped_and_missing(lab) -> None:
    recordings = copy.deepcopy(load_recordings("win2019-adfs"))
    recordings["scripts"]["service.status"]["cases"]['["adfssrv","nosuch"]'] = {"json": [
        {"Query": "adfssrv", "Found": True, "Name": "adfssrv", "DisplayName": "AD FS",
         "Status": "Stopped", "StartType": "Automatic"},
        {"Query": "nosuch", "Found": False, "Name": None, "DisplayName": None,
         "Status": None, "StartType": None}]}
    sims = lab(adfs_recordings=recordings)
    toml = sims.toml(adfs_services='["adfssrv", "nosuch"]')
    result = results_by(sims.run(checks=services.CHECKS, toml=toml))["service.running",
                                                                      "adfs01"]
    assert result.status is Status.FAIL
    assert "Not installed: nosuch" in result.summary.en
    assert "not running: adfssrv (Stopped)" in result.summary.en


def test_single_service_object_is_normalised(lab) -> None:
    sims = lab()
    toml = sims.toml(adfs_services='["adfssrv"]')
    result = results_by(sims.run(checks=services.CHECKS, toml=toml))["service.running",
                                                                      "adfs01"]
    assert result.status is Status.PASS and result.summary.en == "Running: adfssrv."


def test_wap_services(lab) -> None:
    sims = lab(with_wap=True)
    result = results_by(sims.run(checks=services.CHECKS))["service.running", "wap01"]
    assert result.status is Status.FAIL and "adfssrv (Stopped)" in result.summary.en


def test_service_without_command_method(tmp_path) -> None:
    toml = """
[account]
username = "x"
password = { env = "AR_TEST_PASSWORD" }
[[servers]]
name = "rdponly"
address = "127.0.0.1"
roles = ["sync"]
remote = ["rdp"]
services = ["x"]
"""
    # The one decision (issue 12): the profile is refused, no run ends in "error" for it.
    with pytest.raises(ProfileError, match="no command method"):
        profile_from(toml, tmp_path)


# --- parsers and recordings ------------------------------------------------------------------

def test_parse_id() -> None:
    parsed = parse_id("uid=1001(support) gid=1001(support) groups=1001(support),27(sudo),4(adm)")
    assert parsed["user"] == "support" and parsed["groups"] == ["support", "sudo", "adm"]


def test_parse_chage_real_debian_output() -> None:
    # LC_ALL=C chage -l on Debian 12 (shadow 4.13), tabs as printed.
    text = ("Last password change\t\t\t\t\t: May 20, 2025\n"
            "Password expires\t\t\t\t\t: never\n"
            "Password inactive\t\t\t\t\t: never\n"
            "Account expires\t\t\t\t\t\t: never\n"
            "Minimum number of days between password change\t\t: 0\n"
            "Maximum number of days between password change\t\t: 99999\n"
            "Number of days of warning before password expires\t: 7\n")
    parsed = parse_chage(text)
    assert parsed["password_expires"] == "never" and parsed["max_days"] == "99999"
    assert chage_date(parsed["last_change"]) == dt.date(2025, 5, 20)
    assert chage_date("password must be changed") == "must_change"


@pytest.mark.parametrize("out,err,code,state", [
    ("User s may run the following commands on h:\n    (ALL : ALL) ALL\n", "", 0, "rules"),
    ("", "sudo: a password is required\n", 1, "password_required"),
    ("", "Sorry, user s may not run sudo on h.\n", 1, "none"),
    ("", "bash: sudo: command not found\n", 127, "unavailable"),
])
def test_parse_sudo(out, err, code, state) -> None:
    assert parse_sudo(CommandResult(out, err, code))["state"] == state


def test_parse_net_user_recording() -> None:
    text = load_recordings("win2019-adfs")["commands"]["net user eventful-support /domain"][
        "stdout"]
    parsed = parse_net_user(text)
    assert parsed == {"name": "eventful-support", "active": "Yes", "account_expires": "Never",
                      "password_last_set": "9/16/2025 8:02:11 AM",
                      "password_expires": "12/15/2025 8:02:11 AM"}


def test_systemctl_show_blocks() -> None:
    units = parse_systemctl_show("Id=a.service\nLoadState=loaded\n\nId=b.service\n"
                                 "LoadState=not-found\n")
    assert [u["Id"] for u in units] == ["a.service", "b.service"]
    assert names_param(("a", "b")) == '["a","b"]'


def test_whoami_csv_recording_matches_the_json_projection() -> None:
    recordings = load_recordings("win2019-adfs")
    text = recordings["commands"]["whoami /groups /fo csv"]["stdout"]
    rows = list(csv.reader(io.StringIO(text)))[1:]  # positional, like ConvertFrom-Csv -Header
    groups = recordings["scripts"]["account.privileges"]["json"]["Groups"]
    assert [(r[0], r[2]) for r in rows] == [(g["Name"], g["Sid"]) for g in groups]


def test_recordings_have_a_source() -> None:
    """Every recording, the demo's and the tests', says what host it records and is in
    its folder's README."""
    from accessready.agent.demo.simulators.replay import RECORDINGS

    from .recordings import TEST_RECORDINGS

    for folder in (RECORDINGS, TEST_RECORDINGS):
        readme = (folder / "README.md").read_text(encoding="utf-8")
        for item in folder.iterdir():
            if item.name.endswith(".json"):
                data = json.loads(item.read_text(encoding="utf-8"))
                assert data.get("host"), f"{item.name} does not say what host it records"
                assert f"`{item.name}`" in readme, f"{item.name} is not described in the README"


# --- metadata -----------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [*account.CHECKS, *services.CHECKS, *remote.CHECKS])
def test_metadata_in_both_languages(cls: type[Check]) -> None:
    assert cls.title.en and cls.title.sv and cls.description.en and cls.description.sv
    assert cls.__module__ and (cls.__doc__ or "").strip()
    assert "default" in cls.remediation
    for key, text in cls.remediation.items():
        assert text.en.strip() and text.sv.strip(), f"{cls.id}: {key}"
        assert text.en != text.sv, f"{cls.id}: {key} is not translated"


def test_parse_passwd_status() -> None:
    from accessready.checks.account.parse import parse_passwd_status

    # Debian 12 (shadow 4.13) prints ISO dates; older releases MM/DD/YYYY.
    assert parse_passwd_status("support P 2026-11-25 0 99999 7 -1")["expires"] == "never"
    old = parse_passwd_status("u L 11/01/2025 0 90 7 -1")
    assert old["state"] == "L" and old["expires"] == dt.date(2026, 1, 30)
    assert parse_passwd_status("") == {}


def test_status_from_passwd_when_chage_cannot_read_shadow(lab) -> None:
    class NoShadow(LinuxHost):
        def respond(self, argv, user):
            if argv[:3] == ["env", "LC_ALL=C", "chage"]:
                return "", "chage: cannot open /etc/shadow\n", 1
            return super().respond(argv, user)

    sims = lab(linux=NoShadow(password_changed_days_ago=80, max_days=90))
    result = results_by(sims.run(checks=[account.StatusCheck]))["account.status", "sync01"]
    assert result.status is Status.WARN, result.summary.en
    assert result.summary.en.startswith("passwd -S:") and "expires in 10 days" in result.summary.en


def test_rdp_only_server_login_is_reported_as_not_tested(tmp_path) -> None:
    toml = f"""
[account]
username = "x"
password = {{ env = "{ENV}" }}
[[servers]]
name = "adfs02"
address = "127.0.0.1"
roles = ["adfs"]
remote = ["rdp"]
"""
    [result] = run_profile(profile_from(toml, tmp_path), [account.LoginCheck])
    assert result.status is Status.SKIP and result.details["reason"] == "rdp_only"
