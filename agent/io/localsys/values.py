"""Small pure helpers the parsers share: JSON shapes, PowerShell dates, typed coercions.

The one place in this package for "make this a list" (:func:`json_list`) and "read a
PowerShell date" (:func:`parse_ps_date`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any


def json_list(value: Any) -> list[Any]:
    """Normalise ``ConvertTo-Json`` output to a list.

    Windows PowerShell 5.1 writes a bare ``{…}`` for a single object and nothing at all for
    none; PowerShell 7 and ``-InputObject @(...)`` write ``[…]``.
    """
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    return [value]


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


_MS_DATE = re.compile(r"/Date\((-?\d+)(?:[+-]\d{4})?\)/")


def parse_ps_date(value: Any) -> dt.date | None:
    """A date as Windows PowerShell writes it to JSON, in any of its shapes.

    * PowerShell 5.1 ``ConvertTo-Json`` of a ``[datetime]``: ``"\\/Date(1715644800000)\\/"``
      (JSON's ``\\/`` decodes to ``/``), or, for an object that carries extended
      properties, ``{"value": "\\/Date(…)\\/", "DateTime": "…"}``;
    * PowerShell 7: ISO 8601 ``"2024-05-14T00:00:00+02:00"``;
    * ``Win32_QuickFixEngineering.InstalledOn`` raw text: ``"5/14/2024"`` (US order).
    """
    if isinstance(value, dict):
        value = value.get("value", value.get("DateTime"))
    text = as_text(value).strip()
    if not text:
        return None
    match = _MS_DATE.search(text)
    if match:
        return dt.datetime.fromtimestamp(int(match[1]) / 1000, dt.UTC).date()
    with contextlib.suppress(ValueError):
        return dt.date.fromisoformat(text[:10])
    with contextlib.suppress(ValueError):
        return dt.datetime.strptime(text.split()[0], "%m/%d/%Y").date()
    return None
