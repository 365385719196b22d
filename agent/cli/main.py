"""The ``accessready`` command: the command group, its logging, and the exit codes.

Each command lives in a module of its own in this folder (``run_cmd``, ``audit_cmd``,
``history_cmd``, ...); what they share is in :mod:`accessready.agent.cli.common`. Only
report bytes go to stdout; progress and diagnostics go to stderr. Every expected problem
(bad profile, bad usage, unreadable file) is one line and exit code 3. Heavy modules are
imported inside the commands so ``--help`` starts fast.
"""

from __future__ import annotations

import logging
import sys
from typing import NoReturn

import click

from accessready.agent.cli.audit_cmd import audit
from accessready.agent.cli.checks_cmd import checks
from accessready.agent.cli.common import EXIT_HELP, UserError, fail
from accessready.agent.cli.demo_cmd import demo
from accessready.agent.cli.history_cmd import history
from accessready.agent.cli.profile_cmd import init, schema, validate
from accessready.agent.cli.report_cmd import merge, report
from accessready.agent.cli.run_cmd import run

COMMANDS = (run, validate, checks, report, demo, init, schema, merge, audit, history)


def _setup_logging(debug: bool) -> None:
    from accessready.agent.io.secrets import log_to_stderr

    log_to_stderr(logging.DEBUG if debug else logging.WARNING)


@click.group(epilog=EXIT_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="accessready")
@click.option("--debug", is_flag=True, help="Log details (secrets masked) to stderr.")
def cli(debug: bool) -> None:
    """Check that a customer's environment is ready for remote support, and write a
    readiness report the customer can act on."""
    _setup_logging(debug)


for _command in COMMANDS:
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point of the ``accessready`` console script."""
    if argv is None:  # the console script: the interpreter ends after this
        import atexit
        import gc

        # its final garbage collection walked every object an audit kept (0.1-0.2 s at
        # 1,000 targets) only to free them all anyway; frozen, they are just freed. At
        # exit, not here: a caller that goes on (catching SystemExit) keeps collecting
        atexit.register(gc.freeze)
    _main(argv)


def _main(argv: list[str] | None) -> NoReturn:
    from click.exceptions import Abort, ClickException, Exit

    from accessready.agent.core.console import utf8_streams

    utf8_streams()  # before anything is written: a cp1252 pipe cannot hold "→"
    try:
        code = cli.main(args=argv, prog_name="accessready", standalone_mode=False)
    except Exit as exc:
        sys.exit(exc.exit_code)
    except ClickException as exc:  # usage errors: one line, exit 3 (not click's 2)
        fail(exc.format_message().replace("\n", " ") + " — see accessready --help")
    except Abort:
        fail("aborted")
    except KeyboardInterrupt:
        fail("interrupted")
    except UserError as exc:
        fail(str(exc))
    except Exception as exc:
        _handle(exc)
    sys.exit(code if isinstance(code, int) else 0)


def _handle(exc: Exception) -> NoReturn:
    from accessready.agent.app.audit import AuditError
    from accessready.agent.app.history import HistoryError
    from accessready.agent.app.lock import LockBusy
    from accessready.agent.core.merge import MergeError
    from accessready.agent.core.profile import ProfileError
    from accessready.agent.plugin.registry import PluginError
    from accessready.reports.json_report import ResultFileError

    if isinstance(exc, ProfileError | ResultFileError | PluginError | AuditError
                  | HistoryError | LockBusy | MergeError):
        fail(str(exc))
    if logging.getLogger("accessready").isEnabledFor(logging.DEBUG):
        logging.getLogger("accessready").exception("internal error")
    fail(f"internal error: {type(exc).__name__}: {exc} — please report this; "
         "--debug shows details")
