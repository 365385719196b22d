"""The headless Chromium of the report tests talks to loopback only.

Chromium's background services (component updates, the network-time fetch from
clients2.google.com, accounts.google.com) run whatever page is open; the flags of
``browser.py`` stop them resolving any name. Chromium's own NetLog is the witness: every
connection attempt and every byte sent is in it, with the address.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .browser import FLAGS, LOOPBACK_ONLY, browser, off_loopback, recording_server
from .conftest import need_tool

pytestmark = pytest.mark.browser


def test_chromium_sends_nothing_off_loopback(tmp_path: Path) -> None:
    need_tool("chromium", "chromium")
    log = tmp_path / "netlog.json"
    with recording_server({"/": b"<!doctype html><title>t</title><p>x"}) as (base, seen), \
            browser(net_log=log) as b:
        b.open(base + "/")
        b.settle(3.0)  # room for the background services to try (not a speed check)
    assert seen and seen[0] == "/"
    assert off_loopback(log) == []
    assert LOOPBACK_ONLY in FLAGS


def _netlog(path: Path, events: list[tuple[str, int, dict]]) -> Path:
    types = sorted({name for name, _, _ in events} | {"UDP_CONNECT"})
    numbers = {name: i for i, name in enumerate(types)}
    path.write_text(json.dumps({
        "constants": {"logEventTypes": numbers},
        "events": [{"type": numbers[name], "source": {"id": source}, "params": params}
                   for name, source, params in events]}), encoding="utf-8")
    return path


def test_off_loopback_reports_connects_and_bytes_but_not_a_bare_udp_connect(
        tmp_path: Path) -> None:
    """The witness is not blind: a TCP attempt or a DNS query off loopback is reported; the
    IPv6 reachability probe (a UDP connect, no bytes) is not traffic."""
    log = _netlog(tmp_path / "n.json", [
        ("TCP_CONNECT_ATTEMPT", 1, {"address": "127.0.0.1:8080"}),
        ("SOCKET_BYTES_SENT", 1, {"byte_count": 90}),
        ("UDP_CONNECT", 2, {"address": "[2001:4860:4860::8888]:443"}),
        ("TCP_CONNECT_ATTEMPT", 3, {"address": "203.0.113.7:443"}),
        ("UDP_CONNECT", 4, {"address": "192.0.2.53:53"}),
        ("UDP_BYTES_SENT", 4, {"byte_count": 40}),
        ("UDP_CONNECT", 5, {"address": "[::1]:53"}),
        ("UDP_BYTES_SENT", 5, {"byte_count": 40}),
    ])
    assert off_loopback(log) == ["TCP_CONNECT_ATTEMPT 203.0.113.7:443",
                                 "UDP_BYTES_SENT 192.0.2.53:53"]
