"""The farm checks (adfs.probe, adfs.metadata, adfs.clock_skew) name the first connection
to every node (``first_contact`` as a tuple): the runner opens them side by side while the
check waits without a thread, and the check's own connects take them. Loopback only: the
AD FS simulator farm on 127.0.0.2…, and a node that never answers a SYN (a listener whose
accept queue is full)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from accessready.agent.core.model import Requirement, Result, Status, t
from accessready.agent.core.profile import parse_profile
from accessready.agent.io.connector import Connector
from accessready.agent.io.dns import Resolvers
from accessready.agent.plugin.checkapi import Check, Contact, Target
from accessready.agent.plugin.pool import Workers
from accessready.agent.plugin.runner import ContextFactory, RunOptions, execute, plan
from accessready.checks.adfs.clock_skew import AdfsClockSkewCheck
from accessready.checks.adfs.metadata import AdfsMetadataCheck
from accessready.checks.adfs.probe import AdfsProbeCheck
from tests.unit.adfs_farm import FS, Farm, NodeSpec, by_target, farm

from .test_runner_ahead import Counting, reach_check


def _through_runner(f: Farm, checks: list[Check], connector: Connector | None = None,
                    workers: Workers | None = None, timeout: float = 10.0) -> list[Result]:
    options = RunOptions(timeout=timeout)
    return execute(plan(checks, f.profile, options),
                   ContextFactory(f.profile, {"dns": Resolvers(f.profile.network)}), options,
                   connector=connector, workers=workers)


@pytest.mark.parametrize("make", [AdfsProbeCheck, AdfsMetadataCheck, AdfsClockSkewCheck])
def test_each_nodes_first_connection_is_opened_ahead_and_the_results_are_the_same(
        tmp_path: Path, taken: list[tuple[str, int]], make: type[Check]) -> None:
    check = make()
    with farm(tmp_path, [NodeSpec("adfs01", "adfs"), NodeSpec("adfs02", "adfs"),
                         NodeSpec("wap01", "wap")]) as f:
        alone = by_target(f.run(check))
        (target,) = check.targets(f.profile)
        contacts = check.first_contact(target)
        ran = by_target(_through_runner(f, [check]))
    assert target.name == FS
    assert isinstance(contacts, tuple) and len(contacts) == 3
    assert {c.host for c in contacts} == set(f.addresses.values())
    assert sorted(taken) == sorted((c.host, c.port) for c in contacts)
    assert {k: r.status for k, r in ran.items()} == {k: r.status for k, r in alone.items()}
    if make is not AdfsClockSkewCheck:  # its summaries carry the measured offsets
        assert {k: r.summary.en for k, r in ran.items()} == \
            {k: r.summary.en for k, r in alone.items()}


@contextmanager
def _silent(address: str, port: int) -> Iterator[None]:
    """``address:port`` stops answering SYNs: a listener with a full accept queue."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address, port))
    server.listen(0)
    filler = socket.create_connection((address, port), timeout=2)
    try:
        yield
    finally:
        filler.close()
        server.close()


class _Probe(AdfsProbeCheck):
    """adfs.probe, saying when it gets its thread."""

    def __init__(self, order: list[str]) -> None:
        self.order = order

    def run(self, ctx, target):  # type: ignore[no-untyped-def]
        self.order.append("probe")
        return super().run(ctx, target)


def test_a_silent_node_waits_on_the_connector_not_on_a_worker(
        tmp_path: Path, taken: list[tuple[str, int]]) -> None:
    """One worker thread: while the silent node's SYNs go unanswered, another check runs
    on it; then the probe check runs and reports the node's own timeout (the target's
    fault), the live node up."""
    live = socket.create_server(("127.0.0.1", 0))
    order: list[str] = []
    counting = Counting()
    one = Workers(1)
    try:
        with farm(tmp_path, [NodeSpec("adfs01", "adfs"),
                             NodeSpec("wap01", "wap", listen=False)]) as f:
            assert f.profile.adfs is not None
            http = f.profile.adfs.ports["http"]
            with _silent(f.addresses["wap01"], http):
                results = _through_runner(
                    f, [_Probe(order), reach_check({"live": live.getsockname()[1]}, order)],
                    counting, one, timeout=2.0)
    finally:
        one.close()
        counting.close()
        live.close()
    got = by_target(results)
    assert got["live"].status is Status.PASS
    assert order == ["live", "probe"]  # planned second, it had the thread meanwhile
    assert got["wap01"].status is Status.FAIL, got["wap01"].summary.en
    assert got["wap01"].details["probe"]["failure"] == "timeout"
    assert got["adfs01"].status is Status.PASS, got["adfs01"].summary.en
    assert (f.addresses["wap01"], http) in taken  # the failure came from the connector
    assert http in counting.asked


def test_contacts_the_connector_has_no_room_for_are_made_by_the_check(
        tmp_path: Path, taken: list[tuple[str, int]]) -> None:
    """A connector at its limit opens what it can; the check connects the rest itself."""
    small = Connector(limit=1)
    try:
        with farm(tmp_path, [NodeSpec("adfs01", "adfs"), NodeSpec("wap01", "wap")]) as f:
            alone = by_target(f.run(AdfsProbeCheck()))
            ran = by_target(_through_runner(f, [AdfsProbeCheck()], small))
    finally:
        small.close()
    assert len(taken) == 1
    assert {k: (r.status, r.summary.en) for k, r in ran.items()} == \
        {k: (r.status, r.summary.en) for k, r in alone.items()}


def _named(contacts: object) -> Check:
    class Named(Check):
        id = "fam.named"
        title = t("Named", "Namngiven")
        requirement = Requirement.REMOTE

        def targets(self, profile):  # type: ignore[no-untyped-def]
            return [Target("x")]

        def first_contact(self, target):  # type: ignore[no-untyped-def]
            return contacts

        def run(self, ctx, target):  # type: ignore[no-untyped-def]
            return self.result(target, Status.PASS, t("ok", "ok"))

    return Named()


def test_contacts_are_one_per_host_and_port_and_must_be_contacts() -> None:
    profile = parse_profile('[customer]\nname = "X"\n[access]\nmethods = ["teamviewer"]\n')
    first, again, other = Contact("h", 1, 2.0), Contact("h", 1, 5.0), Contact("h", 2)
    (job,) = plan([_named((first, again, other))], profile, RunOptions())
    assert job.contacts == (first, other)  # type: ignore[union-attr]
    (bad,) = plan([_named((first, ("h", 3)))], profile, RunOptions())
    assert isinstance(bad, Result) and bad.status is Status.ERROR
    assert "first_contact() returned something that is not a Contact" in bad.summary.en
