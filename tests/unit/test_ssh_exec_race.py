"""A busy SSH server whose exec reply comes late must not break the command.

Regression (issue "Audits at the speed of the network", item 6): under load the demo once
reported ``account.login`` as "the SSH channel ... broke: SSHException". The cause was the
simulator, not the transport: paramiko sends the exec request's reply on the transport's
thread after ``check_channel_exec_request`` returns, while the simulator answered on its own
thread after a fixed 20 ms and then *closed* the channel; a CLOSE that overtakes the reply
makes the client's ``exec_command`` raise "Channel closed.". A real sshd ends a command with
EOF and closes after the client. ``exec_reply_delay`` holds the reply back as a busy
transport thread would.

What remained was on the transport's side: paramiko waits for that reply without a bound
(whatever the channel timeout), so a reply later than the command's budget held the
command, and its check, past the deadline; and "broke" named only the exception class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from accessready.agent.demo.simulators.ssh import SshSimulator, SshUser
from accessready.agent.io.secrets import Secret
from accessready.agent.io.transports.base import TransportError
from accessready.agent.io.transports.ssh import KnownHosts, SshCredentials, SshTransport, login

from .simhelpers import PASSWORD

USER = "eventful-support"


def _login(server: SshSimulator, tmp_path: Path) -> SshTransport:
    known = tmp_path / "known_hosts"
    known.write_text(server.known_hosts_line())
    return login(server.host, server.port, KnownHosts(known, system_path=None),
                 SshCredentials(USER, Secret(PASSWORD)), 10)


def test_late_exec_reply_still_gives_the_whole_answer(tmp_path: Path) -> None:
    server = SshSimulator({USER: SshUser(PASSWORD)}, exec_reply_delay=0.3).start()
    try:
        session = _login(server, tmp_path)
        try:
            for _ in range(3):
                result = session.run(["id"], 10)
                assert result.exit_code == 0, result
                assert "uid=1001(eventful-support)" in result.stdout
        finally:
            session.close()
    finally:
        server.stop()


def test_an_exec_reply_later_than_the_budget_is_a_timeout(tmp_path: Path) -> None:
    # The reply comes 20 s late; the command has 2 s. Before the fix run() kept waiting
    # for it, far past its deadline, until the simulator gave up on the client (10 s) and
    # closed the channel: "broke", a protocol error, instead of a timeout. (The budget also
    # bounds opening the channel: 0.3 s was not always enough for that on a busy machine.)
    server = SshSimulator({USER: SshUser(PASSWORD)}, exec_reply_delay=20.0).start()
    try:
        session = _login(server, tmp_path)
        try:
            with pytest.raises(TransportError) as caught:
                session.run(["id"], 2.0)
            assert caught.value.kind == "timeout", caught.value
            assert caught.value.details["stage"] == "exec"
        finally:
            session.close()
    finally:
        server.stop()


class _ClosesBeforeReplying(SshSimulator):
    """The old simulator's race made certain: the channel is closed before the exec reply."""

    def _exec(self, channel: Any, command: str, user: str) -> None:
        channel.close()


def test_a_channel_closed_before_the_reply_says_how_it_broke(tmp_path: Path) -> None:
    server = _ClosesBeforeReplying({USER: SshUser(PASSWORD)}, exec_reply_delay=2.0).start()
    try:
        session = _login(server, tmp_path)
        try:
            with pytest.raises(TransportError) as caught:
                session.run(["id"], 10)
            assert caught.value.kind == "protocol"
            assert "Channel closed" in str(caught.value)
            assert caught.value.details["library_message"] == "Channel closed."
        finally:
            session.close()
    finally:
        server.stop()


def test_the_watchdog_runs_due_actions_once_and_never_disarmed_ones() -> None:
    import threading
    import time

    from accessready.agent.io import watchdog

    fired: list[str] = []
    done = threading.Event()
    # The watchdog's lock (a Condition over an RLock) is held from arming to disarming, so
    # a stall here cannot let the watchdog run the action before it is disarmed. Same time,
    # armed first: the disarmed one surfaces before "due" runs (it would be fired[0]).
    with watchdog._lock:
        due = time.monotonic() + 0.05
        dropped = watchdog.arm(due, lambda: fired.append("disarmed"))
        keep = watchdog.arm(due, lambda: (fired.append("due"), done.set()))
        assert watchdog.disarm(dropped)
    assert done.wait(10)
    assert not watchdog.disarm(keep)  # it already ran
    assert fired == ["due"]
