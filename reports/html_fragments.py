"""Reusing report fragments across an audit's reports: the ``{% cache %}`` tag and the
keys that say when a kept fragment prints exactly what rendering it again would."""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import fields
from operator import attrgetter
from typing import Any

from accessready.agent.core.textsafe import EVIDENCE_LIMIT
from accessready.reports.html_views import CheckView, RequirementView, ResultView

# A check's article is kept for reuse when its texts total at most FRAGMENT_TEXT characters
# (a row's markup counted as ROW_TEXT), a section when its checks' total at most
# SECTION_TEXT; FRAGMENTS of them at most, the least recently used dropped first. An
# audit's "not selected" checks print the same for every customer; a few MB at worst.
FRAGMENT_TEXT = 2_000
SECTION_TEXT = 8_000
ROW_TEXT = 200
FRAGMENTS = 256


def _printed(view: type, *besides: str) -> Callable[[Any], tuple[Any, ...]]:
    """A view's printed fields as one tuple: every field, whatever fields are added later,
    but the nested lists and fragment keys (``besides``)."""
    return attrgetter(*(f.name for f in fields(view) if f.name not in besides))


_RESULT_PRINTED = _printed(ResultView)
_CHECK_PRINTED = _printed(CheckView, "results", "fragment")
_SECTION_PRINTED = _printed(RequirementView, "checks", "fragment")


def fragment_keys(sections: Iterable[RequirementView], lang: str) -> None:
    """Key each requirement's section and check's article by all it prints, for the
    ``{% cache %}`` tag (:func:`fragment_cache_tag`): an audit's skipped checks print the same
    for every customer. A key holds the language (the labels) and every field of the
    views inside it, so a kept fragment is only reused where it would print the same bytes.
    Longer views get None (not kept, see :data:`FRAGMENT_TEXT`): such a check seldom
    repeats from one report to the next, and memory stays bounded.
    """
    for section in sections:
        keys: list[Any] = [lang, EVIDENCE_LIMIT, tuple(
            tuple(v) if isinstance(v, list) else v for v in _SECTION_PRINTED(section))]
        total = 0
        for check in section.checks:
            size = 0
            rows = []
            for result in check.results:
                size += (ROW_TEXT + len(result.summary) + len(result.remediation)
                         + len(result.evidence))
                rows.append(_RESULT_PRINTED(result))
            total += size
            if size > FRAGMENT_TEXT:
                keys = []
            else:
                check.fragment = (lang, EVIDENCE_LIMIT, _CHECK_PRINTED(check), tuple(rows))
                if keys:
                    keys.append(check.fragment)
        section.fragment = tuple(keys) if keys and total <= SECTION_TEXT else None


@functools.cache
def fragment_cache_tag() -> type:
    """The ``{% cache key %}…{% endcache %}`` tag (a class made on first use, so that
    Jinja2 is imported only when a report is rendered)."""
    from jinja2 import nodes
    from jinja2.ext import Extension

    class _FragmentCache(Extension):
        """The block's output rendered once per key and environment, then reused: the
        template still escapes every value, the cache only skips doing it again. A None
        key renders the block every time, and so does an environment whose templates may
        change on disk (a user's folder: a kept fragment would outlive its template)."""

        tags = {"cache"}

        def __init__(self, environment: Any) -> None:
            super().__init__(environment)
            self.kept: OrderedDict[Any, Any] = OrderedDict()
            self.lock = threading.Lock()

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            key = parser.parse_expression()
            body = parser.parse_statements(("name:endcache",), drop_needle=True)
            return nodes.CallBlock(self.call_method("_render", [key]), [], [], body
                                   ).set_lineno(lineno)

        def _render(self, key: Any, caller: Any) -> Any:
            if key is None or self.environment.auto_reload:
                return caller()
            with self.lock:
                kept = self.kept.get(key)
                if kept is not None:
                    self.kept.move_to_end(key)
                    return kept
            kept = caller()
            with self.lock:
                self.kept[key] = kept
                if len(self.kept) > FRAGMENTS:
                    self.kept.popitem(last=False)
            return kept

    return _FragmentCache
