"""Recordings for the WS-Management simulator in tests: the test-only ones in
``tests/fixtures/recordings`` (behaviours, overlays, hosts the demo does not have), then
the demo's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from accessready.agent.demo.simulators import replay

TEST_RECORDINGS = Path(__file__).resolve().parents[1] / "fixtures" / "recordings"


def load_recordings(*names: str) -> dict[str, dict[str, Any]]:
    """:func:`replay.load_recordings` that also finds the tests' recordings."""
    return replay.load_recordings(*names, folders=(TEST_RECORDINGS,))
