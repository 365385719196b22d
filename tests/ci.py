"""Where the tests run: in CI (``CI=true``) a missing tool or lab is a failure, never a skip.

Used by every test module that depends on something outside Python (Chromium, promtool,
the namespace lab), so "CI" means the same everywhere.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """True when the environment says we run in CI (``CI`` is ``true``, ``1`` or ``yes``)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def unavailable(reason: str) -> NoReturn:
    """Fail the calling test in CI, skip it elsewhere, with ``reason`` as the one line."""
    if in_ci():
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)
