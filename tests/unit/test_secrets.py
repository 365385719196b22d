"""Secrets: masked in every form, resolved from env, keyring or prompt, never leaked."""

from __future__ import annotations

import base64
import contextlib
import logging
from collections.abc import Iterator

import pytest

from accessready.agent.core.model import Status
from accessready.agent.core.profile_types import SecretRef
from accessready.agent.io.secrets import (
    REDACTOR,
    RedactingFilter,
    Secret,
    SecretUnavailable,
    resolve_secret,
)

CANARY = "canary-Pw-7f3e9c!"


def test_secret_never_shows_itself() -> None:
    secret = Secret(CANARY)
    assert str(secret) == "***" and CANARY not in repr(secret)
    assert f"{secret}" == "***"
    assert secret.reveal() == CANARY


def test_redactor_masks_encodings() -> None:
    Secret(CANARY)
    b64 = base64.b64encode(CANARY.encode()).decode()
    text = f"pw={CANARY} url=canary-Pw-7f3e9c%21 b64={b64}"
    masked = REDACTOR.text(text)
    assert CANARY not in masked and b64 not in masked and "%21" not in masked
    assert REDACTOR.data({"k": [CANARY, {CANARY: 1}]}) == {"k": ["***", {"***": 1}]}


def test_redactor_copies_nothing_until_a_secret_is_registered() -> None:
    from accessready.agent.io.secrets import Redactor

    fresh, evidence = Redactor(), {"k": [CANARY, {CANARY: 1}]}
    assert fresh.data(evidence) is evidence  # an audit without passwords: no copy
    fresh.register(CANARY)
    masked = fresh.data(evidence)
    assert masked == {"k": ["***", {"***": 1}]} and evidence["k"][0] == CANARY


def test_logging_filter_masks(caplog: pytest.LogCaptureFixture) -> None:
    Secret(CANARY)
    logger = logging.getLogger("accessready.test")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="accessready.test"):
        logger.info("login with %s failed", CANARY)
    assert CANARY not in caplog.text and "***" in caplog.text


def test_env_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AR_TEST_PW", CANARY)
    assert resolve_secret(SecretRef("env", "AR_TEST_PW")).reveal() == CANARY
    monkeypatch.delenv("AR_TEST_PW")
    with pytest.raises(SecretUnavailable, match="AR_TEST_PW is not set"):
        resolve_secret(SecretRef("env", "AR_TEST_PW"))


@contextlib.contextmanager
def memory_keyring(passwords: dict[tuple[str, str], str]) -> Iterator[None]:
    """The keyring answers from ``passwords`` ((service, user) → password) for a while."""
    import keyring  # the test extra installs it
    from keyring.backend import KeyringBackend

    class Memory(KeyringBackend):
        priority = 1

        def get_password(self, service: str, username: str) -> str | None:
            return passwords.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            raise NotImplementedError

        def delete_password(self, service: str, username: str) -> None:
            raise NotImplementedError

    previous = keyring.get_keyring()
    keyring.set_keyring(Memory())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


def test_keyring_source() -> None:
    with memory_keyring({("exempel", "support"): CANARY}):
        assert resolve_secret(SecretRef("keyring", "exempel"), username="support").reveal() \
            == CANARY
        with pytest.raises(SecretUnavailable, match="no password in keyring"):
            resolve_secret(SecretRef("keyring", "other"), username="support")


def test_prompt_needs_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SecretUnavailable, match="no terminal"):
        resolve_secret(SecretRef("prompt"), interactive=False)
    asked: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or CANARY)
    assert resolve_secret(SecretRef("prompt"), interactive=True).reveal() == CANARY
    resolve_secret(SecretRef("prompt"), interactive=True, username="EXEMPEL\\support",
                   lang="sv")
    assert asked == ["Password for the support account: ", "Lösenord för EXEMPEL\\support: "]


def test_logged_tracebacks_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    import io

    Secret(CANARY)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("accessready.test.tb")
    logger.addHandler(handler)
    try:
        raise RuntimeError(f"server said {CANARY}")
    except RuntimeError:
        logger.error("crashed", exc_info=True)
    finally:
        logger.removeHandler(handler)
    assert "RuntimeError: server said ***" in stream.getvalue()
    assert CANARY not in stream.getvalue()


# -- hints for the user's shell, in both languages (issue 15, item 4) ----------------------

POWERSHELL_READ = ("$env:AR_TEST_PW = [Net.NetworkCredential]::new('', "
                   "(Read-Host -AsSecureString '{}')).Password")


def _unavailable(ref: SecretRef, platform: str, **kwargs: object) -> SecretUnavailable:
    with pytest.raises(SecretUnavailable) as caught:
        resolve_secret(ref, platform=platform, interactive=False, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_missing_env_hint_is_powershell_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AR_TEST_PW", raising=False)
    text = _unavailable(SecretRef("env", "AR_TEST_PW"), "win32").text
    assert POWERSHELL_READ.format("Password") in text.en
    assert POWERSHELL_READ.format("Lösenord") in text.sv
    assert "miljövariabeln AR_TEST_PW är inte satt" in text.sv and "i PowerShell" in text.sv
    assert 'keyring = "…"' in text.en and "Autentiseringshanteraren" in text.sv
    assert "read -rs" not in text.en + text.sv and "export" not in text.en + text.sv


def test_missing_env_hint_is_posix_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AR_TEST_PW", raising=False)
    text = _unavailable(SecretRef("env", "AR_TEST_PW"), "linux").text
    assert "e.g. read -rs AR_TEST_PW && export AR_TEST_PW" in text.en
    assert "t.ex. read -rs AR_TEST_PW && export AR_TEST_PW" in text.sv
    assert "$env:" not in text.en + text.sv
    assert str(_unavailable(SecretRef("env", "AR_TEST_PW"), "linux")) == text.en


@pytest.mark.parametrize(("platform", "command"), [
    ("win32", 'pip install "accessready[keyring]"'),   # cmd.exe keeps '…' as part of the word
    ("linux", "pip install 'accessready[keyring]'"),
])
def test_keyring_install_hint_quotes_for_the_shell(monkeypatch: pytest.MonkeyPatch,
                                                   platform: str, command: str) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "keyring", None)  # import keyring → ImportError
    text = _unavailable(SecretRef("keyring", "exempel"), platform).text
    assert command in text.en and command in text.sv
    assert "paketet keyring är inte installerat" in text.sv


@pytest.mark.parametrize(("platform", "command"), [
    ("win32", 'keyring set exempel "EXEMPEL\\support"'),
    ("linux", "keyring set exempel 'EXEMPEL\\support'"),  # unquoted, sh drops the backslash
])
def test_keyring_store_hint_quotes_a_domain_user(platform: str, command: str) -> None:
    with memory_keyring({}):
        text = _unavailable(SecretRef("keyring", "exempel"), platform,
                            username="EXEMPEL\\support").text
    assert command in text.en and command in text.sv
    # the interpreter that has keyring: pipx/uv/venv installs put no `keyring` on PATH
    import sys as _sys

    assert f" -m {command}" in text.en and _sys.executable in text.en
    assert "inget lösenord i nyckelringstjänsten 'exempel'" in text.sv


def test_posix_quoting_survives_a_real_shell() -> None:
    import subprocess

    from accessready.agent.core.console import quote_arg

    for arg in ("EXEMPEL\\support", "accessready[keyring]", "it's $HOME `x` *"):
        out = subprocess.run(["sh", "-c", f"printf %s {quote_arg(arg, 'linux')}"],
                             capture_output=True, text=True, check=True).stdout
        assert out == arg


def test_windows_quoting_for_cmd_and_powershell() -> None:
    from accessready.agent.core.console import quote_arg

    assert quote_arg("exempel", "win32") == "exempel"
    assert quote_arg("EXEMPEL\\support", "win32") == '"EXEMPEL\\support"'
    # "$" would expand inside PowerShell's double quotes: single quotes, ' doubled
    assert quote_arg("svc$'x", "win32") == "'svc$''x'"


def test_prompt_and_other_problems_are_in_swedish_too() -> None:
    text = _unavailable(SecretRef("prompt"), "linux").text
    assert "det finns ingen terminal" in text.sv and "no terminal" in text.en


def test_swedish_report_explains_the_missing_password_in_swedish(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from accessready.agent.app.run import run_checks
    from accessready.agent.core.model import Requirement
    from accessready.agent.core.profile import parse_profile
    from accessready.agent.plugin.runner import RunOptions
    from accessready.reports import RENDERERS

    from .fakes import make_check

    monkeypatch.delenv("AR_TEST_PW", raising=False)
    profile = parse_profile("""[customer]
name = "Exempel kommun"
[access]
methods = ["teamviewer"]
[account]
username = 'EXEMPEL\\support'
password = { env = "AR_TEST_PW" }
""")
    check = make_check("account.x", Requirement.ACCOUNT)
    type(check).needs = ("password",)
    run = run_checks(profile, RunOptions(), checks=[check], services={}, interactive=False,
                     lang="sv")
    [result] = run.results
    assert result.status is Status.ERROR
    assert result.summary.sv.startswith("Kan inte hämta supportkontots lösenord: miljövariabeln "
                                        "AR_TEST_PW är inte satt — sätt den före körningen")
    assert "is not set" not in result.summary.sv
    page = RENDERERS["html"](run, "sv").decode("utf-8")
    assert "miljövariabeln AR_TEST_PW är inte satt" in page and "is not set" not in page
