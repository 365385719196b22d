"""Renderers: a finished run in, report bytes out (HTML, JSON, JUnit, Prometheus, Nagios).

:data:`RENDERERS` maps a format name to ``render(run, lang) -> bytes``; each renderer's
module is imported only when that format is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

_MODULES = {
    "json": "accessready.reports.json_report",
    "html": "accessready.reports.html",
    "junit": "accessready.reports.junit",
    "prometheus": "accessready.reports.prometheus",
    "nagios": "accessready.reports.nagios",
}


class _LazyRenderers(Mapping[str, Callable[[Any, str], bytes]]):
    """A read-only map whose values are imported on first use."""

    def __getitem__(self, name: str) -> Callable[[Any, str], bytes]:
        module = importlib.import_module(_MODULES[name])
        return module.render

    def __iter__(self) -> Iterator[str]:
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)


RENDERERS: Mapping[str, Callable[[Any, str], bytes]] = _LazyRenderers()
