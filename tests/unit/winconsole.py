"""A fake kernel32: the console and language functions accessready calls, as ctypes
callbacks with the Windows prototypes, so the same ctypes calls (``byref`` out-parameters,
handle values) run here as on Windows."""

from __future__ import annotations

import ctypes
import io
from ctypes import CFUNCTYPE, POINTER, wintypes

from accessready.agent.core.console import STD_ERROR_HANDLE, STD_OUTPUT_HANDLE

INVALID_HANDLE_VALUE = -1
_HANDLES = {STD_OUTPUT_HANDLE: 0x54, STD_ERROR_HANDLE: 0x58}


class FakeKernel32:
    """One console (or none): ``mode`` is its output mode, ``None`` when the handle is not
    a console (a file, the NUL device, a pipe); ``accept_vt`` whether SetConsoleMode
    succeeds (it fails on Windows before 10 1511). ``langid``: the UI language."""

    def __init__(self, mode: int | None = 0x3, accept_vt: bool = True,
                 langid: int = 0x0409) -> None:
        self.mode, self.accept_vt, self.langid = mode, accept_vt, langid
        self.calls: list[tuple] = []
        self.GetStdHandle = CFUNCTYPE(wintypes.HANDLE, wintypes.DWORD)(self._get_std_handle)
        self.GetConsoleMode = CFUNCTYPE(wintypes.BOOL, wintypes.HANDLE,
                                        POINTER(wintypes.DWORD))(self._get_console_mode)
        self.SetConsoleMode = CFUNCTYPE(wintypes.BOOL, wintypes.HANDLE,
                                        wintypes.DWORD)(self._set_console_mode)
        self.GetUserDefaultUILanguage = CFUNCTYPE(wintypes.WORD)(self._ui_language)

    def _get_std_handle(self, which: int) -> int:
        self.calls.append(("GetStdHandle", which))
        return _HANDLES.get(which, INVALID_HANDLE_VALUE)

    def _get_console_mode(self, handle: int, out: ctypes._Pointer) -> int:
        self.calls.append(("GetConsoleMode", handle))
        if handle not in _HANDLES.values() or self.mode is None:
            return 0
        out[0] = self.mode
        return 1

    def _set_console_mode(self, handle: int, mode: int) -> int:
        self.calls.append(("SetConsoleMode", handle, mode))
        if not self.accept_vt:
            return 0
        self.mode = mode
        return 1

    def _ui_language(self) -> int:
        self.calls.append(("GetUserDefaultUILanguage",))
        return self.langid


class FakeConsoleStream(io.StringIO):
    """A text stream that says it is a terminal on file descriptor ``fd``."""

    def __init__(self, fd: int = 1) -> None:
        super().__init__()
        self.fd = fd

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd
