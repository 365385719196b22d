"""No secret or escape leaks: remediation passes the redactor; programs we start get an
environment without the password variable (or any copy of the password); an env variable
*name* that looks like a password is a profile error that does not echo it; every message
that echoes input neutralises terminal escapes (validate's line, profile and result-file
errors).
"""

from __future__ import annotations

import dataclasses
import json
import sys

import pytest
from click.testing import CliRunner

from accessready.agent.app.run import run_checks
from accessready.agent.cli.main import cli
from accessready.agent.core.model import Requirement, Status, t
from accessready.agent.core.profile import ProfileError, looks_like_a_password, parse_profile
from accessready.agent.io.localsys import run_command
from accessready.agent.io.secrets import REDACTOR, Secret, child_environment, hide_env
from accessready.agent.plugin.checkapi import Check
from accessready.agent.plugin.runner import RunOptions

PASSWORD = "Leak-Canary-5f0e!"
ENV = "AR_LEAK_TEST_PASSWORD"
BASE = '[customer]\nname = "K"\n[access]\nmethods = ["teamviewer"]\n'
PROFILE = BASE + f'[account]\nusername = "u"\npassword = {{ env = "{ENV}" }}\n'

PRINT_ENV = "import json, os; print(json.dumps(dict(os.environ)))"


class _Echo(Check):
    """Needs the password; puts it into its remediation and starts a program."""

    id = "test.echo"
    requirement = Requirement.SERVERS
    title = t("Echo", "Eko")
    needs = ("password",)
    remediation = {"default": t("", "")}

    def run(self, ctx, target):
        said = ctx.password.reveal()
        child = run_command([sys.executable, "-c", PRINT_ENV], 10.0)
        result = self.result(target, Status.WARN, t("echo", "eko"),
                             {"child_env": json.loads(child.stdout or "{}")})
        return dataclasses.replace(result, remediation=t(f"Try {said}.", f"Prova {said}."))


@pytest.fixture(autouse=True)
def _clean_redactor():
    yield
    REDACTOR.clear()


def test_remediation_is_masked_and_children_do_not_get_the_password(monkeypatch):
    monkeypatch.setenv(ENV, PASSWORD)
    monkeypatch.setenv("AR_LEAK_COPY", PASSWORD)  # a copy under another name
    run = run_checks(parse_profile(PROFILE, "p.toml"), RunOptions(timeout=15),
                     checks=[_Echo()], services={}, interactive=False)
    [result] = run.results
    assert result.status is Status.WARN, result.summary.en
    assert result.remediation.en == "Try ***." and result.remediation.sv == "Prova ***."
    child_env = result.details["child_env"]
    assert child_env and "PATH" in child_env  # the rest of the environment is passed on
    assert ENV not in child_env and "AR_LEAK_COPY" not in child_env
    assert PASSWORD not in json.dumps(child_env)


def test_the_password_variable_is_hidden_even_when_never_read(monkeypatch):
    """A self-check never reads the password, and still starts no program with it."""
    monkeypatch.setenv(ENV, PASSWORD)
    run_checks(parse_profile(PROFILE, "p.toml"), RunOptions(timeout=5), checks=[],
               services={}, interactive=False, self_check=True)
    assert ENV not in child_environment()
    out = run_command([sys.executable, "-c", PRINT_ENV], 10.0)
    assert ENV not in json.loads(out.stdout) and PASSWORD not in out.stdout


def test_hidden_names_ignore_case_as_windows_does():
    hide_env("Ar_Leak_Mixed")
    assert child_environment({"AR_LEAK_MIXED": "x", "OTHER": "y"}) == {"OTHER": "y"}
    Secret("Another-Secret-77")
    assert child_environment({"A": "pre Another-Secret-77 post", "B": "b"}) == {"B": "b"}


@pytest.mark.parametrize("name", ["Sommar2026", "p4ssw0rd", "Vinter2026x", "a" * 65,
                                  "ACCESSREADY_Pass123word"])
def test_a_password_pasted_as_the_variable_name_is_refused_unechoed(name):
    assert looks_like_a_password(name)
    with pytest.raises(ProfileError) as info:
        parse_profile(BASE + f'[account]\npassword = {{ env = "{name}" }}\n', "p.toml")
    assert name not in str(info.value)
    assert "it may be the password itself" in str(info.value)


@pytest.mark.parametrize("name", ["ACCESSREADY_PASSWORD", "accessready_password", "PW2",
                                  "ProgramFiles", "X509_CERT", "AR_PW_2", "pw"])
def test_ordinary_variable_names_pass(name):
    assert not looks_like_a_password(name)
    assert parse_profile(BASE + f'[account]\npassword = {{ env = "{name}" }}\n',
                         "p.toml").account.password.name == name


ESC = "\\u001b]0;pwned\\u0007\\u001b[2J"  # TOML escapes: OSC title, clear screen


def test_validate_success_line_neutralises_escapes(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(f'[customer]\nname = "K{ESC}"\n[access]\nmethods = ["teamviewer"]\n')
    out = CliRunner().invoke(cli, ["validate", str(path)])
    assert out.exit_code == 0 and "valid" in out.stdout
    assert "\x1b" not in out.stdout and "\x07" not in out.stdout


def run_main(capsys, *args):
    from accessready.agent.cli.main import main

    with pytest.raises(SystemExit) as ended:
        main(list(args))
    return ended.value.code, capsys.readouterr().err


def test_profile_errors_echoing_values_neutralise_escapes(tmp_path, capsys):
    path = tmp_path / "p.toml"
    path.write_text(f'[customer]\nname = "K"\nlang = "x{ESC}"\n[access]\n'
                    'methods = ["teamviewer"]\n')
    code, err = run_main(capsys, "validate", str(path))
    assert code == 3 and "is not allowed" in err
    assert "\x1b" not in err and "\x07" not in err and err.count("\n") == 1


def test_result_file_errors_echoing_keys_neutralise_escapes(tmp_path, capsys):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"schema": "accessready.result/1", "customer": "K",
                                "started_at": "2026-01-01T00:00:00+00:00",
                                "finished_at": "2026-01-01T00:00:00+00:00",
                                "results": [], "verdict": "ready", "requirements": [],
                                "checks": {"\x1b]0;t\x07": 1}}))
    code, err = run_main(capsys, "report", str(path), "--json", str(tmp_path / "o"))
    assert code == 3 and "broken result file: checks." in err, err
    assert "\x1b" not in err and "\x07" not in err


def test_debug_log_lines_neutralise_escapes_and_mask_secrets():
    import logging

    from accessready.agent.io.secrets import RedactingFilter

    Secret("Log-Secret-4242")
    record = logging.LogRecord("accessready.x", logging.DEBUG, __file__, 1,
                               "banner %s from %s", ("\x1b]0;t\x07", "Log-Secret-4242"), None)
    assert RedactingFilter().filter(record)
    assert "\x1b" not in record.msg and "\x07" not in record.msg and "***" in record.msg


def test_a_short_password_does_not_strip_ordinary_variables():
    Secret("bin")  # three characters: masked in text, but PATH must still reach programs
    env = child_environment({"PATH": "/usr/bin:/bin", "COPY": "bin"})
    assert env == {"PATH": "/usr/bin:/bin"}



class _Snoop(Check):
    """A plugin-like check that does not need the password, yet looks for it: in a child
    process it starts itself (not through run_command), in os.environ, and by resolving
    the profile's reference itself."""

    id = "test.snoop"
    requirement = Requirement.SERVERS
    title = t("Snoop", "Snoka")
    remediation = {"default": t("", "")}

    def run(self, ctx, target):
        import os
        import subprocess

        from accessready.agent.core.profile_types import SecretRef
        from accessready.agent.io.secrets import SecretUnavailable, resolve_secret

        child = subprocess.run(["sh", "-c", f"echo ${ENV}"], capture_output=True,
                               text=True, timeout=10, check=False)
        try:
            resolvable = bool(resolve_secret(SecretRef("env", ENV)).reveal())
        except SecretUnavailable:
            resolvable = False
        return self.result(target, Status.PASS, t("snoop", "snoka"),
                           {"child": child.stdout, "pw": os.environ.get(ENV, ""),
                            "resolvable": resolvable})


def test_a_run_that_never_needs_the_password_leaks_it_nowhere(monkeypatch):
    """The variable is withheld for every run: a plugin's own child process does not get
    it, os.environ does not hold it, and evidence that copies it is masked in the result
    JSON; a check that needs the password still gets it."""
    import os

    from accessready.reports.json_report import render

    monkeypatch.setenv(ENV, PASSWORD)
    run = run_checks(parse_profile(PROFILE, "p.toml"), RunOptions(timeout=15),
                     checks=[_Snoop()], services={}, interactive=False)
    [result] = run.results
    assert result.status is Status.PASS, result.summary.en
    assert PASSWORD not in result.details["child"] and result.details["pw"] == ""
    assert result.details["resolvable"] is True
    assert PASSWORD not in render(run).decode("utf-8")
    assert os.environ[ENV] == PASSWORD  # back once no run is under way (demo, tests)


def test_copied_evidence_is_masked_even_unresolved(monkeypatch):
    """A plugin that copied the value before the run (at import) still cannot write it
    into the result: the value is registered with the redactor at the run's start."""
    from accessready.reports.json_report import render

    class _Copied(Check):
        id = "test.copied"
        requirement = Requirement.SERVERS
        title = t("Copied", "Kopierat")
        remediation = {"default": t("", "")}

        def run(self, ctx, target):
            return self.result(target, Status.PASS, t("c", "c"), {"pw": PASSWORD})

    monkeypatch.setenv(ENV, PASSWORD)
    run = run_checks(parse_profile(PROFILE, "p.toml"), RunOptions(timeout=15),
                     checks=[_Copied()], services={}, interactive=False)
    assert run.results[0].details["pw"] == "***"
    assert PASSWORD not in render(run).decode("utf-8")


def test_a_self_check_drops_the_password_variable(monkeypatch):
    monkeypatch.setenv(ENV, PASSWORD)
    run = run_checks(parse_profile(PROFILE, "p.toml"), RunOptions(timeout=5),
                     checks=[_Snoop()], services={}, interactive=False, self_check=True)
    [result] = run.results
    assert result.status is Status.PASS, result.summary.en
    assert result.details["pw"] == "" and PASSWORD not in result.details["child"]
    assert result.details["resolvable"] is False  # dropped, not kept for any check


def test_the_variable_stays_withheld_while_another_run_is_under_way(monkeypatch):
    """An audit runs profiles concurrently in one process: one run ending must not put
    the variable back while another still runs plugin code."""
    import os

    from accessready.agent.io.secrets import env_withheld

    monkeypatch.setenv(ENV, PASSWORD)
    with env_withheld(ENV):  # the other run
        run = run_checks(parse_profile(PROFILE, "p.toml"), RunOptions(timeout=15),
                         checks=[_Snoop()], services={}, interactive=False)
        assert run.results[0].details["resolvable"] is True
        assert ENV not in os.environ
    assert os.environ[ENV] == PASSWORD
