"""A simulated Linux TeamViewer host for tests: :class:`SimulatedTeamViewerHost` answers
``teamviewer_facts()`` — the interface of the ``teamviewer_host`` service — from a recorded
``teamviewer --info`` output, parsed by the same parser that reads the real command.

The recorded output is shaped after TeamViewer 15 on Linux (a version line, the
``teamviewerd`` systemd status, ``TeamViewer ID:`` with ANSI colour codes around it, as
GLPI agent's parser expects); the ID and dates are made up.
"""

from __future__ import annotations

from accessready.agent.io.tvhost import TeamViewerFacts, facts_from_linux

INFO_OUTPUT = (
    "\n \x1b[1mTeamViewer                           15.51.5\x1b[0m\n\n"
    " teamviewerd status   \x1b[0;1;32m●\x1b[0m teamviewerd.service - TeamViewer remote "
    "control daemon\n"
    "     Loaded: loaded (/etc/systemd/system/teamviewerd.service; enabled; preset: enabled)\n"
    "     Active: \x1b[0;1;32mactive (running)\x1b[0m since Mon 2026-03-02 07:58:12 CET; "
    "2h 3min ago\n"
    "   Main PID: 812 (teamviewerd)\n"
    "      Tasks: 18 (limit: 18964)\n"
    "     CGroup: /system.slice/teamviewerd.service\n"
    "             └─812 /opt/teamviewer/tv_bin/teamviewerd -d\n\n"
    " \x1b[1mTeamViewer ID:\x1b[0m \x1b[1m 987 654 321 \x1b[0m\n"
)
"""A recorded-style ``teamviewer --info`` output (ID 987 654 321)."""


class SimulatedTeamViewerHost:
    """A TeamViewer host on Linux whose ``teamviewer --info`` prints ``info_output``."""

    def __init__(self, info_output: str = INFO_OUTPUT, *, running: bool = True) -> None:
        self.info_output = info_output
        self.running = running

    def teamviewer_facts(self, timeout: float) -> TeamViewerFacts:
        """The facts, parsed from the recorded output."""
        return facts_from_linux(
            binary="/usr/bin/teamviewer", paths=["/opt/teamviewer"],
            unit_state="running" if self.running else "stopped",
            info_text=self.info_output, conf_text=None,
            processes=["teamviewerd"] if self.running else [],
            commands=[{"command": "teamviewer --info (simulated host)", "exit_code": 0}])
