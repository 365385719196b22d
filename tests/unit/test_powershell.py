"""The one PowerShell builder: quoting, scripts with parameters, ``-EncodedCommand`` argv —
and that every place that runs PowerShell (local collectors, WinRM, SSH) uses it."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accessready.agent.core import powershell
from accessready.agent.io import localsys
from accessready.agent.io.transports import base, winrm

_QUOTES = powershell.SINGLE_QUOTES


def ps_single_quoted(text: str) -> tuple[str, str]:
    """Tokenise one PowerShell single-quoted literal at the start of ``text``.

    PowerShell's rule: any of the five single-quote characters opens/closes; inside, a
    quote character immediately followed by another is one literal quote. Returns
    (value, rest after the literal).
    """
    assert text[0] in _QUOTES
    out, i = [], 1
    while i < len(text):
        ch = text[i]
        if ch in _QUOTES:
            if i + 1 < len(text) and text[i + 1] in _QUOTES:
                out.append(text[i + 1])
                i += 2
                continue
            return "".join(out), text[i + 1:]
        out.append(ch)
        i += 1
    raise AssertionError("unterminated literal")


HOSTILE = [
    "Exempel VPN", "O'Brien VPN", "it’s mine", "‘quoted’", "a‚b‛c", "''", "'", "’",
    "$(Remove-Item -Recurse C:\\)", "`whoami`", "x'; Stop-Computer; '", "line\nbreak",
    "Kund-VPN Örebro", "\"double\"", "${env:USERNAME}", "@(1,2)",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_quote_round_trips_hostile_names(value: str) -> None:
    parsed, rest = ps_single_quoted(powershell.quote(value))
    assert parsed == value
    assert rest == ""  # nothing after the literal: no injected code


@given(st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=40))
def test_quote_never_ends_early(value: str) -> None:
    parsed, rest = ps_single_quoted(powershell.quote(value))
    assert parsed == value and rest == ""


def test_quote_refuses_nul_and_non_strings() -> None:
    with pytest.raises(ValueError):
        powershell.quote("a\x00b")
    with pytest.raises(TypeError):
        powershell.quote(5)  # type: ignore[arg-type]


def test_script_puts_values_only_in_literals_after_the_prelude() -> None:
    text = powershell.script("Find-NetRoute -RemoteIPAddress $Destination",
                             {"Destination": "x'; Stop-Computer; ’"})
    assert text.startswith(powershell.PRELUDE)
    assert "$Destination = 'x''; Stop-Computer; ’’'\n" in text
    assert text.endswith("Find-NetRoute -RemoteIPAddress $Destination")
    for bad in ("bad name", "1x", "a-b", "x" * 65, "$x"):
        with pytest.raises(ValueError):
            powershell.script("x", {bad: "v"})
    with pytest.raises(ValueError):
        powershell.script("x", {"Name": "a\x00b"})


def test_script_length_is_capped_for_the_command_line() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        powershell.script("#" * powershell.MAX_SCRIPT_CHARS)
    longest = powershell.argv(powershell.script(
        "#" * (powershell.MAX_SCRIPT_CHARS - len(powershell.PRELUDE))))
    assert len(" ".join(longest)) < 32767  # CreateProcess's limit


def test_argv_encodes_utf16_base64() -> None:
    text = powershell.script("Write-Output $N", {"N": "Åsa Öberg"})
    argv = powershell.argv(text, r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe")
    assert argv[0].endswith("powershell.exe")
    assert argv[1:-1] == [*powershell.SWITCHES, "-EncodedCommand"]
    assert base64.b64decode(argv[-1]).decode("utf-16-le") == text
    assert powershell.argv(text)[0] == "powershell.exe"


def test_every_caller_builds_the_same_script() -> None:
    """Local collectors, WinRM and SSH (which reuses WinRM's helpers) share one builder."""
    params = {"Name": "O’Brien"}
    expected = powershell.argv(powershell.script("Get-Thing $Name", params))
    assert winrm.powershell_argv(winrm.encode_powershell("Get-Thing $Name", params)) == expected
    assert base.powershell_quote("O’Brien") == powershell.quote("O’Brien")
    with pytest.raises(ValueError):
        base.powershell_quote("a\x00b")  # the transports' quote refuses NUL too now

    seen: list[list[str]] = []

    def runner(argv: list[str], timeout: float) -> localsys.CommandResult:
        seen.append(list(argv))
        return localsys.CommandResult("powershell", 0, "{}", "", 0.0)

    local = localsys.WindowsLocalSystem(runner)  # type: ignore[arg-type]
    local.run_powershell_json("Get-Thing $Name", 5, params)
    assert seen == [powershell.argv(powershell.script("Get-Thing $Name", params),
                                    local.powershell)]


# --- what scripts send back: one date parser, one "make this a list" -----------------

@pytest.mark.parametrize(("value", "expected"), [
    ("2027-01-02T03:04:05.1234567Z", dt.datetime(2027, 1, 2, 3, 4, 5, 123456, dt.UTC)),
    ("2025-12-05T09:12:44.1234567+00:00",
     dt.datetime(2025, 12, 5, 9, 12, 44, 123456, dt.UTC)),
    ("2024-05-14T00:00:00+02:00", dt.datetime(2024, 5, 13, 22, 0, tzinfo=dt.UTC)),
    ("2027-01-02T03:04:05", dt.datetime(2027, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
    ("2024-05-14", dt.datetime(2024, 5, 14, tzinfo=dt.UTC)),
    ("/Date(1579124588000)/", dt.datetime(2020, 1, 15, 21, 43, 8, tzinfo=dt.UTC)),
    ("\\/Date(1579124588000)\\/", dt.datetime(2020, 1, 15, 21, 43, 8, tzinfo=dt.UTC)),
    ("/Date(1707865200000+0100)/", dt.datetime(2024, 2, 13, 23, 0, tzinfo=dt.UTC)),
    ("/Date(-86400000)/", dt.datetime(1969, 12, 31, tzinfo=dt.UTC)),
    ({"value": "/Date(0)/", "DateTime": "Thursday, January 1, 1970"},
     dt.datetime(1970, 1, 1, tzinfo=dt.UTC)),
    (" 2027-01-02T03:04:05Z ", dt.datetime(2027, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
    ("/Date(99999999999999999999)/", None), ("5/14/2024", None), ("yesterday", None),
    ("", None), (None, None), (42, None), (["2027-01-02"], None),
])
def test_ps_datetime_reads_every_shape_as_utc(value: object,
                                              expected: dt.datetime | None) -> None:
    got = powershell.ps_datetime(value)
    assert got == expected
    if got is not None:
        assert got.utcoffset() == dt.timedelta(0)  # always aware, always UTC


@given(st.datetimes(min_value=dt.datetime(1601, 1, 2), max_value=dt.datetime(9999, 1, 1),
                    timezones=st.just(dt.UTC)))
def test_ps_datetime_round_trips_dotnet_o_format(when: dt.datetime) -> None:
    """.NET's ``ToString('o')`` of a UTC date: seven fractional digits and ``Z``."""
    text = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond:06d}7Z"
    assert powershell.ps_datetime(text) == when


def test_as_list_normalises_what_powershell_51_flattens() -> None:
    assert powershell.as_list(None) == []
    assert powershell.as_list({"a": 1}) == [{"a": 1}]
    assert powershell.as_list([1, 2]) == [1, 2]
    assert powershell.as_list("x") == ["x"]
    assert powershell.as_list([]) == [] and powershell.as_list("") == []
