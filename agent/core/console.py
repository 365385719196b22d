"""What the user's console and shell can take: UTF-8 output, colour, language, hints.

- Output: a redirected stdout on Windows is encoded in the ANSI code page (cp1252), which
  cannot hold ``→`` or ``…``; :func:`utf8_streams` makes stdout and stderr UTF-8 once, at
  start, whatever the console, pipe or ``PYTHONIOENCODING`` says.
- Colour: Windows 10's conhost prints ``ESC[32m`` as text until the program switches on
  virtual-terminal processing; :func:`enable_vt` does that through the console API.
- Language: Windows sets no ``LANG``; :func:`ui_language` reads the user's display language.
- Hints: commands we suggest are written for the user's shell — PowerShell on Windows,
  a POSIX shell elsewhere (:func:`quote_arg`, :func:`env_password_hint`).

Windows cannot run here, so everything that asks Windows takes the kernel32 function table
and the platform as arguments; tests pass fakes with the same signatures.
"""

from __future__ import annotations

import functools
import re
import shlex
import sys
from typing import Any

from accessready.agent.core.model import Text, t
from accessready.agent.core.powershell import quote  # every quote character PowerShell has

ENABLE_VIRTUAL_TERMINAL_PROCESSING = 0x0004
STD_OUTPUT_HANDLE = 0xFFFFFFF5  # (DWORD)-11
STD_ERROR_HANDLE = 0xFFFFFFF4  # (DWORD)-12
_STD_HANDLES = {1: STD_OUTPUT_HANDLE, 2: STD_ERROR_HANDLE}
LANG_SWEDISH = 0x1D  # primary language id: the low 10 bits of a LANGID (0x041D sv-SE, 0x081D sv-FI)


def is_windows(platform: str | None = None) -> bool:
    """Whether ``platform`` (default: this machine's ``sys.platform``) is Windows."""
    return (platform or sys.platform) == "win32"


# -- output encoding ---------------------------------------------------------------------

def utf8_streams() -> None:
    """Make ``sys.stdout`` and ``sys.stderr`` write UTF-8, never raising on a character.

    ``errors="replace"`` is the last resort: UTF-8 encodes every character except lone
    surrogates (undecodable file names), and a stream that refuses a new encoding keeps
    its own but stops raising. A missing stream (pythonw) or one without ``reconfigure``
    is left alone.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)  # None under pythonw
        if reconfigure is None:
            continue
        try:
            stream.flush()
            reconfigure(encoding="utf-8", errors="replace")
        except (ValueError, OSError):
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):
                continue


# -- Windows console API -----------------------------------------------------------------

@functools.cache
def kernel32() -> Any | None:
    """kernel32 with the prototypes used here, on Windows; ``None`` elsewhere."""
    if not is_windows():
        return None
    import ctypes
    from ctypes import wintypes

    lib = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    lib.GetStdHandle.argtypes = [wintypes.DWORD]
    lib.GetStdHandle.restype = wintypes.HANDLE
    lib.GetConsoleMode.argtypes = [wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD)]
    lib.GetConsoleMode.restype = wintypes.BOOL
    lib.SetConsoleMode.argtypes = [wintypes.HANDLE, wintypes.DWORD]
    lib.SetConsoleMode.restype = wintypes.BOOL
    lib.GetUserDefaultUILanguage.argtypes = []
    lib.GetUserDefaultUILanguage.restype = wintypes.WORD
    return lib


def enable_vt(fd: int, k32: Any) -> bool:
    """Switch on VT processing for the console on ``fd`` (1 or 2); True when ANSI escapes
    written there will be shown as colour. False — emit no colour — when ``fd`` is not a
    console or the console refuses (Windows before 10 1511)."""
    import ctypes
    from ctypes import wintypes

    std = _STD_HANDLES.get(fd)
    if std is None or k32 is None:
        return False
    try:
        handle = k32.GetStdHandle(std)
        if not handle or handle == ctypes.c_void_p(-1).value:  # NULL or INVALID_HANDLE_VALUE
            return False
        mode = wintypes.DWORD()
        if not k32.GetConsoleMode(handle, ctypes.byref(mode)):
            return False  # not a console: a file, a pipe, mintty
        if mode.value & ENABLE_VIRTUAL_TERMINAL_PROCESSING:
            return True  # Windows Terminal, or someone switched it on already
        return bool(k32.SetConsoleMode(handle, mode.value | ENABLE_VIRTUAL_TERMINAL_PROCESSING))
    except (OSError, AttributeError, ctypes.ArgumentError):
        return False


# -- language ----------------------------------------------------------------------------

def ui_language(k32: Any = None) -> str | None:
    """``"sv"`` or ``"en"`` from the Windows display language; ``None`` off Windows or when
    Windows does not say. ``k32`` defaults to the real kernel32 (``None`` off Windows)."""
    lib = k32 if k32 is not None else kernel32()
    if lib is None:
        return None
    try:
        langid = int(lib.GetUserDefaultUILanguage())
    except (OSError, AttributeError, ValueError, TypeError):
        return None
    if not langid:
        return None
    return "sv" if langid & 0x3FF == LANG_SWEDISH else "en"


# -- hints for the user's shell ----------------------------------------------------------

_SAFE_ARG = re.compile(r"^[A-Za-z0-9_./:=@+,-]+$")


def quote_arg(arg: str, platform: str | None = None) -> str:
    """``arg`` quoted for the user's shell: POSIX quoting off Windows; on Windows double
    quotes, which cmd.exe and PowerShell both read the same way, or PowerShell's single
    quotes when ``arg`` holds a character either would expand."""
    if not is_windows(platform):
        return shlex.quote(arg)
    if _SAFE_ARG.match(arg):
        return arg
    if not re.search(r'["$`%!]', arg):
        return f'"{arg}"'

    return quote(arg)


def pip_install_hint(requirement: str, platform: str | None = None) -> str:
    """The ``pip install`` command for ``requirement`` (brackets need quotes in zsh and
    PowerShell; single quotes mean nothing to cmd.exe)."""
    return f"pip install {quote_arg(requirement, platform)}"


def env_password_hint(name: str, platform: str | None = None) -> Text:
    """How to put a password into environment variable ``name`` without echoing it."""
    if is_windows(platform):
        # Read-Host -AsSecureString does not echo; NetworkCredential turns the SecureString
        # back into text. ::new() needs PowerShell 5.0+, shipped with Windows 10.
        command = ("$env:{name} = [Net.NetworkCredential]::new('', "
                   "(Read-Host -AsSecureString '{prompt}')).Password")
        return t(f"in PowerShell: {command.format(name=name, prompt='Password')}",
                 f"i PowerShell: {command.format(name=name, prompt='Lösenord')}")
    command = f"read -rs {name} && export {name}"
    return t(f"e.g. {command}", f"t.ex. {command}")
