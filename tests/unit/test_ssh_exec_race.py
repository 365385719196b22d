"""A busy SSH server whose exec reply comes late must not break the command.

Regression (issue "Audits at the speed of the network", item 6): under load the demo once
reported ``account.login`` as "the SSH channel ... broke: SSHException". The cause was the
simulator, not the transport: paramiko sends the exec request's reply on the transport's
thread after ``check_channel_exec_request`` returns, while the simulator answered on its own
thread after a fixed 20 ms and then *closed* the channel; a CLOSE that overtakes the reply
makes the client's ``exec_command`` raise "Channel closed.". A real sshd ends a command with
EOF and closes after the client. ``exec_reply_delay`` holds the reply back as a busy
transport thread would.
"""

from __future__ import annotations

from pathlib import Path

from accessready.agent.demo.simulators.ssh import SshSimulator, SshUser
from accessready.agent.io.secrets import Secret
from accessready.agent.io.transports.ssh import KnownHosts, SshCredentials, login

from .simhelpers import PASSWORD

USER = "eventful-support"


def test_late_exec_reply_still_gives_the_whole_answer(tmp_path: Path) -> None:
    server = SshSimulator({USER: SshUser(PASSWORD)}, exec_reply_delay=0.3).start()
    try:
        known = tmp_path / "known_hosts"
        known.write_text(server.known_hosts_line())
        session = login(server.host, server.port, KnownHosts(known),
                        SshCredentials(USER, Secret(PASSWORD)), 10)
        try:
            for _ in range(3):
                result = session.run(["id"], 10)
                assert result.exit_code == 0, result
                assert "uid=1001(eventful-support)" in result.stdout
        finally:
            session.close()
    finally:
        server.stop()
