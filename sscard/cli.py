"""The `sscard` command: the one place that wires simulator, conformance and tui together."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sscard")
def cli() -> None:
    """Simulator and conformance tester for the PRC social security card (社会保障卡)."""


from .doctor import doctor  # noqa: E402  (PC/SC readiness check)
from .serve import serve  # noqa: E402  (vpcd virtual reader)
from .card_cmd import card  # noqa: E402  (card new|show|read)
from conformance.cli_run import run, vectors  # noqa: E402  (conformance suite: run, vectors check|from-session)
from tui.cli import tui  # noqa: E402  (the Textual app)
from conformance.record import record  # noqa: E402  (relay a physical card and record its session)
from .apdu_cmd import apdu  # noqa: E402  (send APDUs to a card)

cli.add_command(serve)
cli.add_command(doctor)
cli.add_command(card)
cli.add_command(run)
cli.add_command(vectors)
cli.add_command(tui)
cli.add_command(record)
cli.add_command(apdu)


def main() -> None:
    cli()
