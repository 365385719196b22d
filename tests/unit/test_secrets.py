"""Secrets: masked in every form, resolved from env, keyring or prompt, never leaked."""

from __future__ import annotations

import base64
import logging

import pytest

from accessready.agent.profile_types import SecretRef
from accessready.agent.secrets import (
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


def test_keyring_source(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring  # the test extra installs it
    from keyring.backend import KeyringBackend

    class Memory(KeyringBackend):
        priority = 1

        def get_password(self, service: str, username: str) -> str | None:
            return CANARY if (service, username) == ("exempel", "support") else None

        def set_password(self, service: str, username: str, password: str) -> None:
            raise NotImplementedError

        def delete_password(self, service: str, username: str) -> None:
            raise NotImplementedError

    previous = keyring.get_keyring()
    keyring.set_keyring(Memory())
    try:
        assert resolve_secret(SecretRef("keyring", "exempel"), username="support").reveal() \
            == CANARY
        with pytest.raises(SecretUnavailable, match="no password in keyring"):
            resolve_secret(SecretRef("keyring", "other"), username="support")
    finally:
        keyring.set_keyring(previous)


def test_prompt_needs_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SecretUnavailable, match="no terminal"):
        resolve_secret(SecretRef("prompt"), interactive=False)
    monkeypatch.setattr("getpass.getpass", lambda prompt: CANARY)
    assert resolve_secret(SecretRef("prompt"), interactive=True).reveal() == CANARY


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
