"""Loading a profile: TOML in, :class:`Profile` out, or one clear error.

Every mistake becomes a :class:`ProfileError` whose text is one line:
``FILE:LINE: KEY: what is wrong — how to fix it``. Values of secret keys are never echoed.
The jobs are in modules of their own: :mod:`~accessready.agent.core.profile_text` (TOML
syntax, lines of keys), :mod:`~accessready.agent.core.profile_validate` (the spec and the
rules across keys), :mod:`~accessready.agent.core.profile_build` (final values: defaults,
ports, paths, TLS) and :mod:`~accessready.agent.core.profile_waivers`.
"""

from __future__ import annotations

from pathlib import Path

from accessready.agent.core.profile_build import build_profile
from accessready.agent.core.profile_spec import SPEC
from accessready.agent.core.profile_text import (
    BACKSLASH_FIX,
    MAX_DOTS_PER_LINE,
    LineIndex,
    ProfileError,
    read_toml,
)
from accessready.agent.core.profile_types import Profile
from accessready.agent.core.profile_validate import (
    Validator,
    cross_check,
    is_hostname,
    looks_like_a_password,
    parse_endpoint,
)
from accessready.agent.core.profile_waivers import (
    check_waivers,
    expired_waivers,
    read_waivers,
    refuse_unwaivable,
)
from accessready.agent.core.safefile import read_capped

__all__ = ["BACKSLASH_FIX", "MAX_DOTS_PER_LINE", "MAX_PROFILE_BYTES", "LineIndex", "ProfileError",
           "check_waivers", "expired_waivers", "is_hostname", "load_profile",
           "looks_like_a_password", "parse_endpoint", "parse_profile"]

MAX_PROFILE_BYTES = 1 << 20


def parse_profile(text: str, path: str = "profile.toml", *,
                  allow_expired_waivers: bool = False) -> Profile:
    """Validate ``text`` (the profile's TOML) and return the typed :class:`Profile`.

    A waiver past its ``until`` date is an error (what ``validate`` reports) unless
    ``allow_expired_waivers``: a run goes on, and the finding counts again.
    """
    text = text.removeprefix("\ufeff")  # Windows PowerShell 5.1 writes UTF-8 with a BOM
    raw = read_toml(text, path)
    index = LineIndex(text)
    validator = Validator(path, index)
    data = validator.table("", raw, SPEC)
    cross_check(validator, data)
    profile = build_profile(path, data, read_waivers(index, data))
    refuse_unwaivable(profile)
    expired = expired_waivers(profile)
    if expired and not allow_expired_waivers:
        raise expired[0]
    return profile


def load_profile(path: str | Path, *, allow_expired_waivers: bool = False) -> Profile:
    """Read and validate the profile at ``path`` (see :func:`parse_profile`)."""
    p = Path(path)
    try:
        if p.is_dir():
            raise ProfileError(str(p), 0, "", "is a folder, not a profile file",
                               "pass the .toml file itself")
        data = read_capped(p, MAX_PROFILE_BYTES)
        if len(data) > MAX_PROFILE_BYTES:
            raise ProfileError(str(p), 0, "", f"is larger than {MAX_PROFILE_BYTES // 1024} KiB"
                               ", far more than any profile", "pass the right file")
    except FileNotFoundError:
        raise ProfileError(str(p), 0, "", "no such file",
                           "check the path, or create one with `accessready init`") from None
    except OSError as exc:
        raise ProfileError(str(p), 0, "", f"cannot read the file: {exc.strerror}",
                           "check the path and its permissions") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ProfileError(str(p), line, "", "the file is not UTF-8",
                           "save it as UTF-8") from None
    return parse_profile(text, str(p), allow_expired_waivers=allow_expired_waivers)
