"""Small pure helpers the parsers share: JSON text, typed coercions, addresses.

"Make this a list" and "read a PowerShell date" are ``as_list`` and ``ps_date`` in
:mod:`accessready.agent.core.powershell`, shared with the server checks.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
from collections.abc import Iterable, Mapping
from typing import Any


def load_json(text: str) -> Any:
    """Parse PowerShell/iproute2 JSON output; empty output is ``None``. Raises ValueError."""
    text = text.strip().lstrip("\ufeff")
    if not text:
        return None
    return json.loads(text)


def strip_scope(address: str) -> str:
    """``fe80::1%eth0`` → ``fe80::1``."""
    return address.split("%", 1)[0]


def interfaces_with_address(if_addrs: Mapping[str, Iterable[str]], source: str) -> list[str]:
    """The interfaces that carry ``source`` (normally exactly one)."""
    try:
        wanted = ipaddress.ip_address(strip_scope(source))
    except ValueError:
        return []
    out = []
    for name, addresses in if_addrs.items():
        for addr in addresses:
            with contextlib.suppress(ValueError):
                if ipaddress.ip_address(strip_scope(addr)) == wanted:
                    out.append(name)
                    break
    return sorted(out)


def as_int(value: Any) -> int | None:
    """``value`` as an int, or None when it is not one."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_text(value: Any) -> str:
    """``value`` as text; None is empty."""
    return "" if value is None else str(value)


def as_cidr(destination: str, family: int = 4) -> str:
    """Normalise a route destination to CIDR; ``default`` becomes 0.0.0.0/0 or ::/0."""
    if destination == "default":
        return "0.0.0.0/0" if family == 4 else "::/0"
    return str(ipaddress.ip_network(destination, strict=False))


def as_bool(value: Any) -> bool | None:
    """A JSON boolean, or its text ("True", "0" …); None when it is neither."""
    if isinstance(value, bool):
        return value
    if as_text(value).lower() in ("true", "1"):
        return True
    if as_text(value).lower() in ("false", "0"):
        return False
    return None
