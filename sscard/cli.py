"""The `sscard` command: the one place that wires simulator, conformance and tui together."""

from __future__ import annotations

import importlib

import click

from . import exitcodes

# Subcommand -> "module:attribute", imported only when that subcommand runs (a `sscard run` need
# not load Textual, and `sscard --help` stays quick).
COMMANDS = {
    "run": "sscard.run_cmd:run",                   # the conformance suite, one card or many
    "vectors": "sscard.run_cmd:vectors",           # vectors check | from-session
    "serve": "sscard.serve:serve",                 # cards in pcscd's vpcd virtual readers
    "doctor": "sscard.doctor:doctor",              # PC/SC readiness check
    "card": "sscard.card_cmd:card",                # card new | show | read
    "tui": "tui.cli:tui",                          # the Textual app
    "record": "sscard.record_cmd:record",          # relay a physical card and record its session
    "apdu": "sscard.apdu_cmd:apdu",                # send APDUs to a card
    "terminal": "sscard.terminal_cmd:terminal",    # the LD/T 33 terminal functions (card + PSAM)
    "report": "sscard.report_cmd:report",          # report merge | diff: many JSON reports together
}


class LazyGroup(click.Group):
    def list_commands(self, ctx) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attribute = target.split(":")
        return getattr(importlib.import_module(module), attribute)

    def invoke(self, ctx):
        # Every subcommand (and its subcommands) ends with a documented exit code: sscard/exitcodes.py.
        with exitcodes.handled():
            return super().invoke(ctx)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=exitcodes.epilog())
@click.version_option(package_name="sscard")
def cli() -> None:
    """Simulator and conformance tester for the PRC social security card (社会保障卡)."""


def main() -> None:
    cli()
