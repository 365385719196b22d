"""A profile's ``[[waivers]]``: read with their lines, and refused when they cannot hold.

A waiver of a condition for support (agreement, DPA) is refused when the profile is read;
one past its ``until`` date or naming no known check is refused by :func:`expired_waivers`
and :func:`check_waivers`, which ``validate`` and the runs call.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Collection
from typing import Any

from accessready.agent.core.findings import GATING_CHECKS
from accessready.agent.core.profile_text import LineIndex, ProfileError
from accessready.agent.core.profile_types import Profile, Waiver


def read_waivers(index: LineIndex, data: dict[str, Any]) -> tuple[Waiver, ...]:
    """The validated ``[[waivers]]`` entries, each with the lines its messages point at."""
    return tuple(Waiver(check=w["check"], reason=w["reason"], until=w["until"],
                        target=w.get("target"), line=index.line_of(f"waivers[{i}]"),
                        check_line=index.line_of(f"waivers[{i}].check"),
                        until_line=index.line_of(f"waivers[{i}].until"))
                 for i, w in enumerate(data.get("waivers", [])))


def refuse_unwaivable(profile: Profile) -> None:
    """Raise :class:`ProfileError` for a waiver of a condition for support."""
    for i, w in enumerate(profile.waivers):
        if w.check in GATING_CHECKS:  # conditions for support, not risks to accept
            raise ProfileError(profile.path, w.check_line, f"waivers[{i}].check",
                               f"{w.check} cannot be waived: a support agreement and a signed "
                               "DPA are conditions for support; they cannot be waived",
                               "remove this waiver and put the agreement or DPA in place")


def expired_waivers(profile: Profile, today: dt.date | None = None) -> list[ProfileError]:
    """One error per waiver whose ``until`` lies before ``today`` (default: today here)."""
    day = today or dt.date.today()
    return [ProfileError(profile.path, w.until_line, f"waivers[{i}].until",
                         f"the waiver of {w.check} ran out on {w.until} (today is {day}); its "
                         "finding counts again", "renew it with a new until date and reason, "
                         "or remove it")
            for i, w in enumerate(profile.waivers) if w.until < day]


def check_waivers(profile: Profile, known: Collection[str]) -> None:
    """Raise :class:`ProfileError` for a waiver naming no check in ``known`` (the
    registered check ids), with the closest id as a hint."""
    for i, w in enumerate(profile.waivers):
        if w.check in known:
            continue
        close = difflib.get_close_matches(w.check, sorted(known), n=1, cutoff=0.6)
        hint = (f"did you mean '{close[0]}'?" if close else
                "use an id that `accessready checks` lists, e.g. winvpn.pptp")
        raise ProfileError(profile.path, w.check_line, f"waivers[{i}].check",
                           f"no check is named '{w.check}'", hint)
