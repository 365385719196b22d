"""Benchmarks time accessready as it is installed: with its modules' bytecode compiled.

``pip install .`` compiles every module to bytecode at install time. An editable install
(``pip install -e .``, as the tests make) does not, and where ``PYTHONDONTWRITEBYTECODE``
is set (this machine sets it) Python never writes what it compiles either: every process
then compiles about 190 modules from source before its first line, about 0.25 s of CPU,
in the audit and again in its report process. A benchmark that compares us with a
stdlib-only reference (whose bytecode ships with Python) would count that against us.
"""

from __future__ import annotations

import compileall
import importlib
import os
from pathlib import Path

# the package's top-level parts; an editable install maps each to a folder of its own
_PARTS = ("accessready", "accessready.agent", "accessready.checks", "accessready.reports")


def compile_package() -> str:
    """Compile every accessready module's bytecode beside its source (``__pycache__``,
    as Python itself would write it) and say so in one line. Sources newer than their
    bytecode are recompiled; nothing else is written."""
    folders: list[str] = []
    for name in _PARTS:
        for folder in importlib.import_module(name).__path__:
            if folder not in folders:
                folders.append(folder)
    ok = all(compileall.compile_dir(folder, quiet=1) for folder in folders)
    where = ", ".join(str(Path(f)) for f in folders)
    said = "PYTHONDONTWRITEBYTECODE is set" if os.environ.get("PYTHONDONTWRITEBYTECODE") \
        else "PYTHONDONTWRITEBYTECODE is not set"
    return (f"bytecode: accessready's modules compiled, as pip install compiles them "
            f"({said}; {where}){'' if ok else ' - SOME FAILED TO COMPILE'}")
