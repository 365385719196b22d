"""Every PowerShell script accessready sends parses (issue 15 item 8).

No PowerShell runs on this machine (no registry it reaches ships one), so the scripts are
parsed with the tree-sitter PowerShell grammar (``tree-sitter-powershell`` from PyPI): a
community grammar, not Microsoft's parser. It is stricter than PowerShell in one known
place — bare-word lists in command arguments (``Select-Object A,B``) — so the scripts
quote such names (``'A','B'``), which means the same to PowerShell.

The scripts are found through :data:`accessready.agent.core.powershell.SCRIPTS`, filled as the
modules that own them are imported; a second test fails when a module holds a script that
was never registered.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import pytest
import tree_sitter
import tree_sitter_powershell

from accessready.agent.core import powershell

# One value for every parameter any script takes, with everything PowerShell could expand
# or end a literal on: the parameter line must stay one single-quoted literal.
HOSTILE = "EXEMPEL\\O'Brien'; Remove-Item C:\\x $(whoami) `n \"q\"\nnext"
PARAMS = {name: HOSTILE for name in ("User", "Destination", "Names", "FederationService",
                                     "FsPort")}


def _import_everything() -> None:
    for package in ("accessready.agent", "accessready.checks", "accessready.reports"):
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, package + "."):
            importlib.import_module(info.name)


_import_everything()
PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def problems(text: str) -> list[str]:
    """ERROR and MISSING nodes of ``text``'s parse tree, as 'line:column: snippet'."""
    data = text.encode("utf-8")
    found: list[str] = []
    stack = [PARSER.parse(data).root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            row, column = node.start_point
            what = "missing" if node.is_missing else "error"
            snippet = data[node.start_byte:node.end_byte][:60].decode("utf-8", "replace")
            found.append(f"{row + 1}:{column + 1}: {what} {snippet!r}")
        stack.extend(node.children)
    return found


def test_the_registry_holds_every_script_family() -> None:
    assert {"account.status", "account.privileges", "account.identity", "adfs.service",
            "wap.proxy_trust", "service.status", "localsys.routes", "localsys.os",
            "tvhost.teamviewer"} <= set(powershell.SCRIPTS)


@pytest.mark.parametrize("name", sorted(powershell.SCRIPTS))
def test_script_parses(name: str) -> None:
    text = powershell.script(powershell.SCRIPTS[name], PARAMS)
    assert problems(text) == [], f"{name} does not parse"


@pytest.mark.parametrize("bad", [
    "if ($a { 'x' }\n",
    "$h = @{ a = 1\n",
    "Get-Item | Where-Object { $_.Name -eq 'x' \n",
])
def test_the_parser_rejects_broken_scripts(bad: str) -> None:
    """The check can fail: unbalanced brackets are reported."""
    assert problems(powershell.script(bad)) != []


def test_a_hostile_parameter_stays_one_literal() -> None:
    text = powershell.script("$User | ConvertTo-Json\n", {"User": HOSTILE})
    tree = PARSER.parse(text.encode("utf-8"))
    literals = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "string_literal":
            literals.append(text.encode("utf-8")[node.start_byte:node.end_byte].decode())
        stack.extend(node.children)
    assert powershell.quote(HOSTILE) in literals
    assert not any(n.type == "sub_expression" for n in _walk(tree.root_node))


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


def _script_values() -> list[tuple[str, str]]:
    """(where, text) of every string a module or class of accessready holds that looks
    like a whole script: it prints JSON and is not a docstring."""
    out = []
    for name, module in sorted(sys.modules.items()):
        if not name.startswith("accessready."):
            continue
        holders = [(name, vars(module))] + [
            (f"{name}.{k}", vars(v)) for k, v in vars(module).items()
            if isinstance(v, type) and v.__module__ == name]
        for where, namespace in holders:
            for key, value in namespace.items():
                if isinstance(value, str) and "ConvertTo-Json" in value and key != "__doc__" \
                        and "\n" in value.strip():
                    out.append((f"{where}.{key}", value))
    return out


def test_no_script_escapes_the_registry() -> None:
    found = _script_values()
    assert len(found) >= len(powershell.SCRIPTS)
    registered = set(powershell.SCRIPTS.values())
    stray = sorted({where for where, value in found if value not in registered})
    assert stray == [], "PowerShell scripts not registered with powershell.register: " + \
        ", ".join(stray)
