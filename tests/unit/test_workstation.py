"""The workstation family against a fake ``local`` service fed by recorded outputs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import pytest

from accessready.agent.core.model import Requirement, Result, Status
from accessready.agent.core.profile import parse_profile
from accessready.agent.io import localsys as ls
from accessready.agent.io.localsys import InstalledApp, OsInfo, ServiceInfo
from accessready.agent.plugin.checkapi import CheckContext
from accessready.checks.workstation import checks as ws
from tests.unit.fake_local import FakeLocal, fixture

PROFILE = """
[customer]
name = "Exempel kommun"
[access]
methods = ["anyconnect", "teamviewer", "checkpoint", "windows_vpn"]
[access.anyconnect]
gateway = "vpn.exempel.se"
[access.checkpoint]
gateway = "cp.exempel.se"
[access.windows_vpn]
server = "vpn2.exempel.se"
"""


def run(check_cls, local: FakeLocal, today: dt.date = dt.date(2024, 7, 20),
        methods: str | None = None) -> list[Result]:
    text = PROFILE if methods is None else PROFILE.replace(
        'methods = ["anyconnect", "teamviewer", "checkpoint", "windows_vpn"]',
        f"methods = {methods}")
    profile = parse_profile(text)
    check = check_cls()
    now = dt.datetime.combine(today, dt.time(12), dt.UTC)
    ctx = CheckContext(profile, time.monotonic() + 10, {"local": local}, now=lambda: now)
    return [check.run(ctx, target) for target in check.targets(profile)]


def win_os(name: str) -> OsInfo:
    return ls.parse_windows_os_json(fixture("windows", name))


# --- workstation.os -------------------------------------------------------------------------


def test_windows_11_recently_updated_passes() -> None:
    [result] = run(ws.OsCheck, FakeLocal("windows", os=win_os("os-info-win11.json")))
    assert result.status is Status.PASS
    assert "Windows 11 Pro 23H2 (build 22631.3880)" in result.summary.en
    assert "KB5040442" in result.summary.en and "10 days ago" in result.summary.en
    assert "för 10 dagar sedan" in result.summary.sv
    assert result.details["last_update"] == "2024-07-10"
    assert result.details["update_age_days"] == 10


def test_update_older_than_45_days_warns() -> None:
    [result] = run(ws.OsCheck, FakeLocal("windows", os=win_os("os-info-win11.json")),
                   today=dt.date(2024, 8, 25))
    assert result.status is Status.WARN and "46 days old" in result.summary.en
    assert result.remediation is not None and "Windows Update" in result.remediation.en
    [edge] = run(ws.OsCheck, FakeLocal("windows", os=win_os("os-info-win11.json")),
                 today=dt.date(2024, 8, 24))
    assert edge.status is Status.PASS  # 45 days is still fine


def test_windows_10_single_hotfix_and_server_and_unknown_dates() -> None:
    [win10] = run(ws.OsCheck, FakeLocal("windows", os=win_os("os-info-win10.json")),
                  today=dt.date(2024, 4, 30))
    assert win10.status is Status.PASS and "Windows 10 Enterprise" in win10.summary.en
    [server] = run(ws.OsCheck, FakeLocal("windows", os=win_os("os-info-server2022.json")))
    assert server.status is Status.WARN and "not a Windows 10/11 workstation" in server.summary.en
    undated = dataclasses.replace(win_os("os-info-win11.json"), last_update=None,
                                  error="Get-HotFix: access denied")
    [unknown] = run(ws.OsCheck, FakeLocal("windows", os=undated))
    assert unknown.status is Status.WARN and "access denied" in unknown.summary.en
    old = OsInfo("windows", "Windows 8.1 Pro", "6.3.9600", "9600", "")
    [legacy] = run(ws.OsCheck, FakeLocal("windows", os=old))
    assert legacy.status is Status.WARN


def test_non_windows_is_reported_and_skipped() -> None:
    [result] = run(ws.OsCheck, FakeLocal("linux"))
    assert result.status is Status.SKIP and result.details["reason"] == "not_windows"
    assert result.summary.en.startswith("Debian GNU/Linux 12 (bookworm) (6.1.0-21-amd64)")
    mac = OsInfo("macos", "macOS 14.5", "14.5", "23F79", "14.5")
    [result] = run(ws.OsCheck, FakeLocal("macos", os=mac))
    assert result.status is Status.SKIP and "macOS 14.5 (23F79)" in result.summary.en


def test_windows_generation() -> None:
    assert ws.windows_generation(win_os("os-info-win11.json")) == "11"
    assert ws.windows_generation(win_os("os-info-win10.json")) == "10"
    assert ws.windows_generation(OsInfo("windows", "x", "6.1.7601", "7601")) is None
    assert ws.windows_generation(OsInfo("windows", "x", "10.0", "")) is None


# --- workstation.no_admin ----------------------------------------------------------------------


@pytest.mark.parametrize(("system", "elevated", "status", "words"), [
    ("windows", True, Status.WARN, "as Administrator"),
    ("linux", True, Status.WARN, "as root"),
    ("windows", False, Status.PASS, "without admin rights"),
    ("macos", None, Status.PASS, "could not be determined"),
])
def test_no_admin(system: str, elevated: bool | None, status: Status, words: str) -> None:
    [result] = run(ws.NoAdminCheck, FakeLocal(system, elevated=elevated))
    assert result.status is status and words in result.summary.en
    assert result.details["elevated"] is elevated
    if status is Status.WARN:
        assert result.remediation is not None and result.remediation.sv


# --- workstation.clients -----------------------------------------------------------------------


def by_target(results: list[Result]) -> dict[str, Result]:
    return {r.target: r for r in results}


def test_targets_follow_the_offered_methods() -> None:
    results = by_target(run(ws.ClientsCheck, FakeLocal("windows")))
    assert set(results) == {"anyconnect", "teamviewer", "checkpoint"}  # windows_vpn: built in
    profile = parse_profile(PROFILE.replace(
        'methods = ["anyconnect", "teamviewer", "checkpoint", "windows_vpn"]',
        'methods = ["windows_vpn"]'))
    assert ws.ClientsCheck().applies(profile) is not None


def test_windows_clients_installed_running_stopped_missing() -> None:
    local = FakeLocal(
        "windows",
        installed=[InstalledApp("Cisco Secure Client - AnyConnect VPN", "5.1.2.42", "HKLM"),
                   InstalledApp("TeamViewer", "15.54.3", "HKLM (32-bit)")],
        service_list=[ServiceInfo("csc_vpnagent", "Cisco Secure Client - AnyConnect VPN Agent",
                                  "running"),
                      ServiceInfo("TeamViewer", "TeamViewer", "stopped")])
    results = by_target(run(ws.ClientsCheck, local))
    assert results["anyconnect"].status is Status.PASS
    assert "csc_vpnagent" in results["anyconnect"].summary.en
    assert results["teamviewer"].status is Status.WARN
    assert "not running" in results["teamviewer"].summary.en
    assert results["teamviewer"].remediation is not None
    assert "services.msc" in results["teamviewer"].remediation.en
    assert results["checkpoint"].status is Status.WARN
    assert "not installed" in results["checkpoint"].summary.en
    assert "inte installerat" in results["checkpoint"].summary.sv


def test_linux_clients_from_recorded_dpkg_and_systemd() -> None:
    local = FakeLocal(
        "linux",
        installed=ls.parse_dpkg_query(fixture("linux", "dpkg-query.txt")),
        service_list=ls.parse_systemctl_units(fixture("linux", "systemctl-units.txt")),
        on_path={"openconnect": "/usr/sbin/openconnect"})
    results = by_target(run(ws.ClientsCheck, local))
    assert results["teamviewer"].status is Status.PASS
    assert "teamviewerd" in results["teamviewer"].summary.en
    ac = results["anyconnect"]
    assert ac.status is Status.PASS and "openconnect" in ac.summary.en
    assert ac.details["compatible_clients"] == ["openconnect (/usr/sbin/openconnect)"]
    assert results["checkpoint"].status is Status.WARN


def test_clients_without_systemd_use_processes_and_paths() -> None:
    local = FakeLocal(
        "linux", service_list=ls.CommandFailed("System has not been booted with systemd"),
        paths={"/opt/teamviewer/tv_bin/TeamViewer", "/opt/cisco/secureclient/bin/vpn"},
        process_list=["teamviewerd", "bash"])
    results = by_target(run(ws.ClientsCheck, local))
    assert results["teamviewer"].status is Status.PASS
    assert results["teamviewer"].details["service_error"].startswith("System has not")
    assert results["anyconnect"].status is Status.WARN  # installed, vpnagentd not running


def test_macos_clients_from_launchd() -> None:
    local = FakeLocal(
        "macos",
        installed=[InstalledApp("Cisco Secure Client", "", "/Applications/Cisco")],
        service_list=ls.parse_launchctl_list(fixture("macos", "launchctl-list.txt")),
        paths={"/Applications/TeamViewer.app"})
    results = by_target(run(ws.ClientsCheck, local))
    assert results["anyconnect"].status is Status.PASS
    assert results["teamviewer"].status is Status.WARN  # the job is loaded but not running


def test_find_client_is_pure_and_case_insensitive() -> None:
    found = ws.find_client(ws.CLIENTS["teamviewer"], "windows",
                           [InstalledApp("TeamViewer Host", "15")], [], {},
                           [ServiceInfo("teamviewer", "", "running")], ["TEAMVIEWER.EXE"])
    assert found.installed == ("TeamViewer Host 15",) and found.running
    assert found.processes == ("TEAMVIEWER.EXE",)


@pytest.mark.parametrize("cls", ws.CHECKS)
def test_metadata_in_both_languages(cls) -> None:  # type: ignore[no-untyped-def]
    assert cls.requirement is Requirement.WORKSTATION and cls.method is None
    for text in (cls.title, cls.description):
        assert text.en and text.sv and text.en != text.sv
    for key, text in cls.remediation.items():
        assert text.en and text.sv and text.en != text.sv, key
    assert ws.__doc__ and "proves" in ws.__doc__
