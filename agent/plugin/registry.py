"""Finding the checks: built-in families by scanning ``accessready.checks``, plugins by entry point.

A built-in family is a subpackage of ``accessready.checks`` whose ``__init__`` has a ``CHECKS``
list; scanning the folder (not installed metadata) means a new family or check module works
from a source checkout without reinstalling. Third-party plugins register under the
``accessready.checks`` entry-point group.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import logging
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import accessready.checks as builtin_checks
from accessready.agent.core.model import Requirement, Text
from accessready.agent.plugin.capture import capturing
from accessready.agent.plugin.checkapi import Check

log = logging.getLogger("accessready.registry")

ENTRY_POINT_GROUP = "accessready.checks"
_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_REQ_ORDER = {r: i for i, r in enumerate(Requirement)}


class PluginError(Exception):
    """A plugin could not be loaded or declares a bad check."""


@dataclass(frozen=True)
class Registry:
    """The loaded checks, in catalogue order (requirement, then as each plugin lists them)."""

    checks: tuple[Check, ...]
    problems: tuple[str, ...] = ()

    def by_id(self, check_id: str) -> Check:
        """The check with ``check_id``."""
        for check in self.checks:
            if check.id == check_id:
                return check
        raise KeyError(check_id)


def _as_classes(obj: object) -> list[type[Check]]:
    if isinstance(obj, type):
        return [obj]
    if isinstance(obj, Iterable):
        return list(obj)  # type: ignore[arg-type]
    raise PluginError(f"{obj!r} is neither a check class nor a list of them")


def _validate(cls: type[Check], source: str) -> Check:
    if not (isinstance(cls, type) and issubclass(cls, Check)):
        raise PluginError(f"{source}: {cls!r} is not a subclass of accessready Check")
    for attr in ("id", "title", "requirement"):
        if not hasattr(cls, attr):
            raise PluginError(f"{source}: {cls.__name__} has no '{attr}'")
    if not _ID.match(cls.id):
        raise PluginError(f"{source}: check id '{cls.id}' must be dotted lower case, "
                          "e.g. family.name")
    if not isinstance(cls.requirement, Requirement):
        raise PluginError(f"{source}: {cls.id} has an unknown requirement")
    texts = [cls.title, cls.description, *dict(cls.remediation).values()]
    if not all(isinstance(x, Text) and isinstance(x.en, str) and isinstance(x.sv, str)
               for x in texts):
        raise PluginError(f"{source}: {cls.id}: title, description and remediation must be "
                          "texts in English and Swedish, t(\"…\", \"…\")")
    try:  # the catalogue goes into every JSON result as it is
        json.dumps(cls.catalogue_entry(), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PluginError(f"{source}: {cls.id}: its catalogue entry is not plain JSON "
                          f"({exc})") from None
    return cls()


def build_registry(classes: Iterable[tuple[str, type[Check]]]) -> Registry:
    """A registry from ``(source, class)`` pairs; duplicate ids are an error."""
    return _build((source, _validate(cls, source)) for source, cls in classes)


def _build(loaded: Iterable[tuple[str, Check]]) -> Registry:
    seen: dict[str, str] = {}
    checks: list[Check] = []
    for source, check in loaded:
        if check.id in seen:
            raise PluginError(f"check id '{check.id}' is declared by both {seen[check.id]} "
                              f"and {source}")
        seen[check.id] = source
        checks.append(check)
    order = {c.id: i for i, c in enumerate(checks)}
    checks.sort(key=lambda c: (_REQ_ORDER[c.requirement], order[c.id]))
    return Registry(tuple(checks))


def _builtin_sources() -> list[tuple[str, Callable[[], object]]]:
    """``(source, loader)`` for each built-in family, in folder-name order."""
    families = sorted(m.name for m in pkgutil.iter_modules(builtin_checks.__path__) if m.ispkg)
    out: list[tuple[str, Callable[[], object]]] = []
    for name in families:
        module = f"{builtin_checks.__name__}.{name}"
        out.append((f"built-in family '{name}' ({module})",
                    lambda module=module: getattr(importlib.import_module(module), "CHECKS", ())))
    return out


def _plugin_sources() -> list[tuple[str, Callable[[], object]]]:
    """``(source, loader)`` for each third-party entry point, by name."""
    eps = sorted((ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
                  if not (ep.dist and ep.dist.name == "accessready")), key=lambda ep: ep.name)
    return [(f"plugin '{ep.name}' ({ep.value})", ep.load) for ep in eps]


def load_registry() -> Registry:
    """Load the built-in families, then every plugin under the ``accessready.checks`` group.

    A plugin that fails to import (``SystemExit`` included) or declares a bad check is
    reported in ``problems`` and left out, so one broken third-party package cannot stop
    the built-in checks. What a plugin prints while loading goes to the log (stderr),
    never to stdout.
    """
    loaded: list[tuple[str, Check]] = []
    problems: list[str] = []
    for source, load in [*_builtin_sources(), *_plugin_sources()]:
        with capturing() as sink:
            try:
                checks = [(source, _validate(cls, source)) for cls in _as_classes(load())]
            except (Exception, SystemExit) as exc:  # a broken plugin must not end the run
                problems.append(str(exc) if isinstance(exc, PluginError) else
                                f"{source} failed to load: {type(exc).__name__}: {exc}")
                checks = []
        printed = sink.printed()
        if printed:
            log.warning("%s printed while loading (a plugin must not print): %s", source,
                        " ".join((printed.stdout + printed.stderr).split())[:300])
        loaded.extend(checks)
    registry = _build(loaded)
    return Registry(registry.checks, tuple(problems))
