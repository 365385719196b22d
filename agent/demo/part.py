"""What each family's demo part contributes: profile TOML, access methods, stops.

Kept apart from :mod:`accessready.agent.demo.environment`, which starts the parts, so the
simulators' part builders can use it without importing the environment back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEMO_DOMAIN = "exempel.se"


@dataclass
class DemoPart:
    """One family's contribution: profile TOML, offered access methods, how to stop.

    ``services`` replace the run's shared services of the same name (e.g. a simulated
    ``local`` system). ``fallback_toml`` is added only when no other part wrote the table
    its first line names, for tables several parts may need.
    """

    toml: str = ""
    methods: list[str] = field(default_factory=list)
    stops: list[Callable[[], None]] = field(default_factory=list)
    services: dict[str, Any] = field(default_factory=dict)
    fallback_toml: str = ""


def q(value: str) -> str:
    """A TOML basic string (JSON's escaping is valid TOML for these values)."""
    return json.dumps(value, ensure_ascii=False)
