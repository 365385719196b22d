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


def imports(module: str) -> set[str]:
    """Every accessready module that ``module`` imports, at any depth of its code."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # ``from pkg import mod`` depends on pkg.mod when it is a module, else on pkg
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                     for a in node.names]
        else:
            continue
        out.update(t for t in map(_target, names) if t and t != module)
    return out


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
    """The checker itself: an upward edge and a sideways edge between families are wrong,
    a downward edge and an edge inside a folder are fine."""
    assert rank("accessready.reports.terminal") > rank("accessready.agent.plugin.runner")
    assert rank("accessready.agent.io.net") > rank("accessready.agent.core.model")
    assert folder("accessready.agent.io.transports.ssh") == "agent/io"
    assert folder("accessready.checks.adfs.tls") != folder("accessready.checks.wap")
    assert rank("accessready.checks.adfs.tls") == rank("accessready.checks.wap")


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
