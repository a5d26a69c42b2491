"""`sscard tui`: the Textual app from the command line."""

from __future__ import annotations

import click


@click.command("tui")
@click.option("--image", "image", type=click.Path(dir_okay=False), default=None,
              help="Card image (YAML): test it emulated, or describe a physical card with it.")
@click.option("--report", "report", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Open a saved JSON report and browse it as a finished run.")
@click.option("--vectors", "vectors", type=click.Path(exists=True), default=None,
              help="Vector directory or file (default: the suite shipped in vectors/).")
@click.option("--reports-dir", "reports_dir", type=click.Path(file_okay=False), default="reports",
              show_default=True, help="Where runs write their JSON report and APDU trace.")
def tui(image: str | None, report: str | None, vectors: str | None, reports_dir: str) -> None:
    """The interactive tester: targets, live runs, results, case diffs, card explorer, APDU console."""
    from .app import SscardApp

    SscardApp(vectors=vectors, image=image, report=report, reports_dir=reports_dir).run()
