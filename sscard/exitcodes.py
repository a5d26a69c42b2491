"""The exit codes of every `sscard` subcommand, and the one place that maps errors to them.

`handled()` wraps each subcommand (sscard.cli does it for everything in its COMMANDS table, so
a new subcommand gets it by being listed there): the domain errors below become one clean line
on stderr and their code, Ctrl-C becomes 130, and only a bug in sscard prints a traceback (with
its own code, so that 1 always means a FAIL or ERROR verdict and nothing else).
"""

from __future__ import annotations

import sys
import traceback
from contextlib import contextmanager

import click

PASSED = 0        # every case PASS (or INCONCLUSIVE / NOT_APPLICABLE), every check ok
FAILED = 1        # a FAIL or ERROR verdict (doctor: a check failed)
BAD_INPUT = 2     # bad usage or input: option, file, image, vector, -k, a selection of no case
UNREACHABLE = 3   # the card, the reader or pcscd cannot be reached (or the image is in use)
NOT_WRITTEN = 4   # a report (or another output file) could not be written; none was left half-written
INTERNAL = 5      # a bug in sscard: the traceback is printed, please report it
INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), or the output pipe closed; no partial report is written

MEANINGS = {
    PASSED: "all passed: no case FAIL or ERROR",
    FAILED: "a FAIL or ERROR verdict",
    BAD_INPUT: "bad usage or input (option, file, card image, vectors, -k, no case selected)",
    UNREACHABLE: "the card or reader cannot be reached (an image in use by another process)",
    NOT_WRITTEN: "a report or output file could not be written (none half-written)",
    INTERNAL: "internal error: a bug in sscard (traceback printed)",
    INTERRUPTED: "interrupted (Ctrl-C, or the output closed): no partial report",
}

# Domain errors by module and class name: a module that was never imported cannot have raised
# its error, so nothing is imported here (`sscard --help` stays quick, no layer is pulled in).
_BY_CLASS = (
    ("simulator.image", "ImageInUse", UNREACHABLE),  # the card is held by another process: try later
    ("simulator.image", "ImageError", BAD_INPUT),
    ("conformance.vectors", "VectorError", BAD_INPUT),
    ("conformance.selection", "SelectionError", BAD_INPUT),
    ("conformance.transport", "TransportError", UNREACHABLE),
    ("conformance.reports.writing", "ReportError", NOT_WRITTEN),
)


class CodedError(click.ClickException):
    """An error with its exit code; its message is shown with control characters escaped."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.exit_code = code

    def format_message(self) -> str:
        from conformance.textsafe import printable

        return printable(self.message)


def epilog() -> str:
    """The exit codes as `sscard --help` shows them."""
    return "\b\nExit codes:\n" + "\n".join(f"  {code:<4} {text}" for code, text in MEANINGS.items())


def code_for(exc: BaseException) -> int | None:
    for module_name, class_name, code in _BY_CLASS:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(exc, getattr(module, class_name)):
            return code
    return None


@contextmanager
def handled():
    """Run a subcommand; turn what it raises into its documented exit code."""
    try:
        yield
    except (click.exceptions.Exit, click.UsageError):
        raise  # click's own: a normal end, or a usage error it reports with exit 2
    except CodedError:
        raise
    except click.ClickException as exc:  # the subcommands raise a plain one for bad input only
        raise CodedError(exc.message, BAD_INPUT) from None
    except (KeyboardInterrupt, click.Abort):
        click.echo("\nsscard: interrupted", err=True)
        sys.exit(INTERRUPTED)
    except BrokenPipeError:  # whoever read the output stopped (`| head`): the command is cut short
        _stdout_to_devnull()
        sys.exit(INTERRUPTED)
    except Exception as exc:
        code = code_for(exc)
        if code is None:
            traceback.print_exc()
            click.echo(f"sscard: internal error ({type(exc).__name__}); this is a bug in sscard, "
                       f"please report it with the traceback above", err=True)
            sys.exit(INTERNAL)
        raise CodedError(str(exc), code) from None


def _stdout_to_devnull() -> None:
    """Nothing more can reach a closed pipe; later writes (Python's own flush at exit) go nowhere."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def exits(function):
    """Decorator form of handled() for a command callback used outside the `sscard` group."""
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with handled():
            return function(*args, **kwargs)
    return wrapper
