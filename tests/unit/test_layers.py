"""The package's layers, read from the source: imports run one way, and never in a circle.

Every ``import`` is counted, also those inside functions (a lazy import does not make an
upward dependency acceptable; it only delays it). The rule, bottom to top:

====  ==============================  ==========================================================
rank  folder                          what lives there
====  ==============================  ==========================================================
0     agent/core, checks/protocols    result and profile model, verdict rules; pure codecs
1     agent/io                        sockets, TLS, name resolution, transports, local facts
2     agent/plugin                    the check API, the registry, the runner
3     checks/common                   what several check families share
4     checks/<family>                 the checks, one folder per family
5     reports                         renderers of a run's results
6     agent/app                       run, audit, history, init: the jobs behind the commands
7     agent/demo                      the built-in demo and its simulators
8     agent/cli, accessready.__main__ the command line
====  ==============================  ==========================================================

A module may import from its own folder or from a folder of a lower rank. Folders of the
same rank never import each other (one check family never reaches into another: what both
need goes to ``checks/common``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOP_FOLDERS = ("agent", "checks", "reports")
RANKS = {
    "accessready": -1, "agent": 0, "checks": 0, "agent/core": 0, "checks/protocols": 0,
    "agent/io": 1, "agent/plugin": 2, "checks/common": 3, "checks/*": 4, "reports": 5,
    "agent/app": 6, "agent/demo": 7, "agent/cli": 8, "accessready.__main__": 9,
}


def _modules() -> dict[str, Path]:
    found = {"accessready": ROOT / "src/accessready/__init__.py",
             "accessready.__main__": ROOT / "src/accessready/__main__.py"}
    for top in TOP_FOLDERS:
        for path in (ROOT / top).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found["accessready." + ".".join(parts)] = path
    return found


MODULES = _modules()


def folder(module: str) -> str:
    """The layer folder a module belongs to (``agent/io`` for the transports too)."""
    parts = module.split(".")[1:]
    if not parts or parts == ["__main__"]:
        return module
    if parts[0] == "reports":
        return "reports"
    return "/".join(parts[:2]) if len(parts) > 1 else parts[0]


def rank(module: str) -> int:
    """The layer of ``module``; a folder missing from the table is an error, not a pass."""
    name = folder(module)
    if name in RANKS:
        return RANKS[name]
    if name.startswith("checks/"):
        return RANKS["checks/*"]
    raise AssertionError(f"{module}: folder '{name}' has no layer; add it to RANKS")


def _target(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


_MODULE_NAME = re.compile(r"accessready(\.[A-Za-z_][A-Za-z0-9_]*)+")
_DYNAMIC = {"import_module", "__import__"}
# Modules that import by a name computed at run time, and why that is their job.
DYNAMIC_ALLOWED = {
    "accessready.agent.plugin.registry": "finds check families and plugins by name",
    "accessready.reports": "imports a renderer only when its format is asked for "
                           "(the names are constants in _MODULES, which are counted)",
}


def edges(module: str, source: str, *, package: bool = False) -> tuple[set[str], list[str]]:
    """The accessready modules ``source`` (the text of ``module``) depends on, and the
    lines where it imports by a name this test cannot read.

    Counted: every ``import``/``from … import`` at any depth (inside functions, under
    ``if TYPE_CHECKING``), relative ones resolved against the package, and every string
    constant that is exactly an accessready module's dotted name (what
    ``importlib.import_module("…")`` or a table of module names would import).
    """
    anchor_pkg = module if package else module.rpartition(".")[0]
    found: set[str] = set()
    dynamic: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = anchor_pkg.rsplit(".", node.level - 1)[0] if node.level > 1 \
                    else anchor_pkg
                base = f"{anchor}.{base}" if base else anchor
            # ``from pkg import mod`` depends on pkg.mod when it is a module, else on pkg
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                     for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and _MODULE_NAME.fullmatch(node.value):
            names = [node.value]
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else \
                func.id if isinstance(func, ast.Name) else ""
            if called in _DYNAMIC and not (node.args and isinstance(node.args[0], ast.Constant)):
                dynamic.append(f"{module}:{node.lineno}")
            continue
        else:
            continue
        # a module's own packages are imported before it anyway: not an edge
        found.update(t for t in map(_target, names)
                     if t and t != module and not module.startswith(t + "."))
    return found, dynamic


def imports(module: str) -> set[str]:
    """Every accessready module that ``module`` depends on (see :func:`edges`)."""
    path = MODULES[module]
    return edges(module, path.read_text(encoding="utf-8"),
                 package=path.name == "__init__.py")[0]


GRAPH = {m: imports(m) for m in MODULES}


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        rank(module)


def test_imports_run_downwards() -> None:
    wrong = sorted(f"{a} -> {b}" for a, targets in GRAPH.items() for b in targets
                   if folder(a) != folder(b) and rank(b) >= rank(a))
    assert wrong == [], "imports against the layers:\n" + "\n".join(wrong)


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(GRAPH):
        if start in index:
            continue
        work = [(start, iter(sorted(GRAPH[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(GRAPH[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles() -> None:
    assert _cycles() == []


def test_the_rule_catches_what_it_should() -> None:
    """The checker itself, on sources written to break the rule: every way of importing
    is seen, and the rule flags the upward and sideways edges and only those."""
    runner, tls = "accessready.agent.plugin.runner", "accessready.agent.io.tls"
    source = """
from __future__ import annotations
from typing import TYPE_CHECKING
import importlib
from accessready.agent.core import model
from . import checkapi
from ..io import net
if TYPE_CHECKING:
    from accessready.reports import terminal
def later():
    from accessready.agent.app import run
    importlib.import_module("accessready.checks.adfs.tls")
    name = "accessready.agent.cli.main"
    return __import__(name)
"""
    found, dynamic = edges(runner, source)
    assert found == {"accessready.agent.core.model", "accessready.agent.plugin.checkapi",
                     "accessready.agent.io.net", "accessready.reports.terminal",
                     "accessready.agent.app.run", "accessready.checks.adfs.tls",
                     "accessready.agent.cli.main"}
    assert dynamic == [f"{runner}:14"]
    upward = {b for b in found if folder(b) != folder(runner) and rank(b) >= rank(runner)}
    assert upward == {"accessready.reports.terminal", "accessready.agent.app.run",
                      "accessready.checks.adfs.tls", "accessready.agent.cli.main"}
    # sideways between families, and downward from io to core, inside a package
    assert rank("accessready.checks.adfs.tls") == rank("accessready.checks.wap")
    assert folder("accessready.checks.adfs.tls") != folder("accessready.checks.wap")
    assert folder("accessready.agent.io.transports.ssh") == folder(tls) == "agent/io"
    assert rank("accessready.agent.core.model") < rank(tls)


def test_imports_by_computed_name_only_where_that_is_the_job() -> None:
    wrong = []
    for module, path in MODULES.items():
        dynamic = edges(module, path.read_text(encoding="utf-8"),
                        package=path.name == "__init__.py")[1]
        if dynamic and module not in DYNAMIC_ALLOWED:
            wrong.extend(dynamic)
    assert wrong == [], "imports by a computed name (add a reason to DYNAMIC_ALLOWED or " \
                        "import by name): " + ", ".join(wrong)


def test_no_module_is_too_long_to_read() -> None:
    """~500 lines is where a module stops being readable in one sitting; the exceptions
    are codecs whose length is the protocol's, each with its reason."""
    allowed = {
        "checks/protocols/ike.py": "IKEv1 and IKEv2 share one codec; the payload tables are "
                                   "the RFCs' own length",
        "checks/protocols/checkpoint.py": "Check Point's CCC topology codec and its fuzz "
                                          "hooks",
    }
    long = sorted(f"{p.relative_to(ROOT)}: {n} lines" for p in MODULES.values()
                  if (n := len(p.read_text(encoding="utf-8").splitlines())) > 550
                  and str(p.relative_to(ROOT)) not in allowed)
    assert long == [], long
