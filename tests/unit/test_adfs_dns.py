"""adfs.dns against two DNS simulators playing the internal and the external view.

Node addresses come from the documentation ranges: adfs.dns only compares them, it sends
them nothing.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from accessready.agent.core.model import Status
from accessready.agent.core.profile import parse_profile
from accessready.agent.demo.simulators.dns import DnsSimulator
from accessready.checks.adfs.dns import AdfsDnsCheck
from tests.unit.adfs_farm import FS, run_check, start_dns

ADFS_IP, WAP_IP, PUBLIC_IP = "192.0.2.44", "198.51.100.40", "203.0.113.40"
NODES = {("adfs01.kund.example.", "A"): [ADFS_IP], ("wap01.kund.example.", "A"): [WAP_IP]}


def profile(internal: str | None, external: str, servers: bool = True) -> str:
    lines = ['[customer]', 'name = "Kund"', '[network]']
    if internal:
        lines.append(f'internal_resolvers = ["{internal}"]')
    lines += [f'external_resolvers = ["{external}"]', '[access]', 'methods = ["teamviewer"]']
    if servers:
        for name, role in (("adfs01", "adfs"), ("wap01", "wap")):
            lines += ['[[servers]]', f'name = "{name}"', f'address = "{name}.kund.example"',
                      f'roles = ["{role}"]', 'remote = ["rdp"]']
    lines += ['[adfs]', f'federation_service = "{FS}"']
    return "\n".join(lines) + "\n"


@pytest.fixture
def views() -> Iterator:
    """A factory: (internal records, external records) -> (internal, external) simulators."""
    started: list[DnsSimulator] = []

    def make(internal: dict, external: dict) -> tuple[DnsSimulator, DnsSimulator]:
        pair = (start_dns({**NODES, **internal}), start_dns(external))
        started.extend(pair)
        return pair

    yield make
    for sim in started:
        sim.stop()


def run(internal: DnsSimulator | None, external: DnsSimulator | str, servers: bool = True):
    ext = external if isinstance(external, str) else external.address
    text = profile(internal.address if internal else None, ext, servers)
    (result,) = run_check(AdfsDnsCheck(), parse_profile(text))
    return result


def test_split_brain_as_expected(views) -> None:
    inside, outside = views({(f"{FS}.", "A"): [ADFS_IP]}, {(f"{FS}.", "A"): [WAP_IP]})
    result = run(inside, outside)
    assert result.status is Status.PASS, result.summary.en
    assert result.summary.en == f"{FS}: inside → {ADFS_IP}, outside → {WAP_IP}."
    assert result.details["views"]["internal"]["addresses"] == [ADFS_IP]
    assert {n["name"]: n["resolved"] for n in result.details["nodes"]} == {
        "adfs01": [ADFS_IP], "wap01": [WAP_IP]}


def test_public_nat_address_is_noted_not_judged(views) -> None:
    inside, outside = views({(f"{FS}.", "A"): [ADFS_IP]}, {(f"{FS}.", "A"): [PUBLIC_IP]})
    result = run(inside, outside)
    assert result.status is Status.PASS
    assert "not a listed WAP" in result.summary.en


def test_missing_outside_fails(views) -> None:
    inside, outside = views({(f"{FS}.", "A"): [ADFS_IP]}, {})
    result = run(inside, outside)
    assert result.status is Status.FAIL
    assert result.remediation == AdfsDnsCheck.remediation["missing_external"]
    assert result.details["views"]["external"]["outcome"] == "missing"


def test_missing_inside_fails(views) -> None:
    inside, outside = views({}, {(f"{FS}.", "A"): [PUBLIC_IP]})
    result = run(inside, outside)
    assert result.status is Status.FAIL
    assert result.remediation == AdfsDnsCheck.remediation["missing_internal"]


def test_same_answer_both_sides_warns(views) -> None:
    inside, outside = views({(f"{FS}.", "A"): [PUBLIC_IP]}, {(f"{FS}.", "A"): [PUBLIC_IP]})
    result = run(inside, outside)
    assert result.status is Status.WARN
    assert result.remediation == AdfsDnsCheck.remediation["no_split"]


def test_outside_pointing_at_adfs_warns(views) -> None:
    inside, outside = views({(f"{FS}.", "A"): [ADFS_IP]}, {(f"{FS}.", "A"): [ADFS_IP]})
    result = run(inside, outside)
    assert result.status is Status.WARN
    assert result.remediation == AdfsDnsCheck.remediation["outside_to_adfs"]


def test_inside_pointing_at_wap_warns(views) -> None:
    inside, outside = views({(f"{FS}.", "A"): [WAP_IP]}, {(f"{FS}.", "A"): [PUBLIC_IP]})
    result = run(inside, outside)
    assert result.status is Status.WARN
    assert result.remediation == AdfsDnsCheck.remediation["inside_to_wap"]


def test_cname_inside_warns(views) -> None:
    inside, outside = views({(f"{FS}.", "CNAME"): ["adfs01.kund.example."],
                             (f"{FS}.", "A"): [ADFS_IP]},
                            {(f"{FS}.", "A"): [PUBLIC_IP]})
    result = run(inside, outside)
    assert result.status is Status.WARN
    assert result.remediation == AdfsDnsCheck.remediation["cname"]


def test_silent_external_resolver_is_an_error(views) -> None:
    inside, _ = views({(f"{FS}.", "A"): [ADFS_IP]}, {})
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # bound, never answers
        result = run(inside, f"127.0.0.1:{silent.getsockname()[1]}")
    assert result.status is Status.ERROR
    assert result.details["views"]["external"]["outcome"] == "unanswered"


def test_only_external_view_without_internal_resolvers(views) -> None:
    _, outside = views({}, {(f"{FS}.", "A"): [PUBLIC_IP]})
    result = run(None, outside, servers=False)
    assert result.status is Status.PASS
    assert "no internal resolvers" in result.summary.en
    assert "internal" not in result.details["views"]
