"""Several cards at once (issue 14: `sscard run --reader A --reader B` in the TUI): one progress row
per card, each card run by its own thread worker with its own connection, as conformance/parallel.py
does for the command line. A card that cannot be opened or whose run fails says so in its own row;
the others go on. Esc stops every run after its current case (the reports are still written);
Enter on a finished row opens that card's results.
"""

from __future__ import annotations

import threading

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Static

from conformance.events import CaseDone, Event, SuiteStarted
from conformance.textsafe import printable
from conformance.verdict import ORDER

from ..run_job import RunOutcome, report_stamp, run_suite
from ..targets import Target
from ..widgets import counts_text
from .run import _Batcher


class _Row:
    """What one card's row shows."""

    def __init__(self, target: Target):
        self.target = target
        self.done, self.total = 0, 0
        self.counts = {v.value: 0 for v in ORDER}
        self.status = "starting…"
        self.outcome: RunOutcome | None = None


class ParallelScreen(Screen):
    BINDINGS = [Binding("escape", "stop", "Stop every run"), Binding("enter", "results", "Results of the card")]

    def __init__(self, targets: list[Target], chosen: list[str] | None = None, expression: str = "") -> None:
        super().__init__()
        self.rows = [_Row(target) for target in targets]
        self.chosen, self.expression = chosen, expression
        self.cancel = threading.Event()

    @property
    def running(self) -> bool:
        return any(row.outcome is None and not row.status.startswith("✗") for row in self.rows)

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="parallel"):
            yield Label(Text(f"Running on {len(self.rows)} cards at once", style="bold"), id="parallel-title")
            yield DataTable(id="parallel-rows", cursor_type="row", zebra_stripes=True)
            yield Static("", id="parallel-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#parallel-rows", DataTable)
        for key, label in (("card", "card"), ("progress", "progress"), ("counts", "verdicts"), ("status", "status")):
            table.add_column(label, key=key)
        for index, row in enumerate(self.rows):
            table.add_row(*self._cells(row), key=str(index))
        stamp = report_stamp(self.app.now())
        for index in range(len(self.rows)):
            self.run_worker(lambda i=index: self._work(i, stamp), thread=True, group=f"parallel-{index}",
                            exit_on_error=False)

    @staticmethod
    def _cells(row: _Row) -> tuple:
        progress = f"{row.done}/{row.total}" if row.total else "–"
        style = "red" if row.status.startswith("✗") else "green" if row.outcome else ""
        return printable(row.target.label), progress, counts_text(row.counts, zeros=False), Text(printable(row.status), style=style)

    def _show(self, index: int) -> None:
        table = self.query_one("#parallel-rows", DataTable)
        for column, value in zip(("card", "progress", "counts", "status"), self._cells(self.rows[index])):
            table.update_cell(str(index), column, value, update_width=True)
        if not self.running:
            done = sum(row.outcome is not None for row in self.rows)
            self.query_one("#parallel-status", Static).update(
                f"all runs ended: {done} of {len(self.rows)} cards ran; Enter on a row for its results")

    # --- the workers (threads) ----------------------------------------------------------------

    def _work(self, index: int, stamp: str) -> None:
        app, row = self.app, self.rows[index]
        try:
            connection = app.connect(row.target)
        except Exception as exc:  # TargetError, and whatever a reader or a driver raises
            app.call_from_thread(self._failed, index, f"cannot open: {exc}")
            return
        batch = _Batcher(lambda events: self._deliver(index, events))
        try:
            outcome = run_suite(app.suite, connection, chosen=self.chosen, expression=self.expression,
                                emit=batch.add, cancel=self.cancel, reports_dir=app.reports_dir, stamp=stamp)
            batch.flush()
        except Exception as exc:  # this card's run only: the others go on
            app.call_from_thread(self._failed, index, f"the run failed: {type(exc).__name__}: {exc}")
            return
        finally:
            connection.close()
        try:
            app.call_from_thread(self._finished, index, outcome)
        except Exception:  # the app quit meanwhile: the report is written
            pass

    def _deliver(self, index: int, events: list[Event]) -> None:
        try:
            self.app.call_from_thread(self._on_events, index, events)
        except Exception:
            self.cancel.set()

    # --- in the UI thread ------------------------------------------------------------------------

    def _on_events(self, index: int, events: list[Event]) -> None:
        row = self.rows[index]
        for event in events:
            if isinstance(event, SuiteStarted):
                row.total, row.status = event.total, "running"
            elif isinstance(event, CaseDone):
                row.done = event.index + 1
                row.counts[event.case.verdict.value] += 1
        self._show(index)

    def _finished(self, index: int, outcome: RunOutcome) -> None:
        row = self.rows[index]
        row.outcome = outcome
        row.status = ("stopped" if outcome.cancelled else f"done: {outcome.result.verdict.value}") + \
            (f", report {outcome.report.name}" if outcome.report is not None else "")
        self._show(index)

    def _failed(self, index: int, message: str) -> None:
        self.rows[index].status = f"✗ {message}"
        self._show(index)

    def action_stop(self) -> None:
        if self.running:
            self.cancel.set()
            self.query_one("#parallel-status", Static).update("stopping after the current cases…")
        else:
            self.app.pop_screen()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row (the table takes the key itself)."""
        self.action_results()

    def action_results(self) -> None:
        table = self.query_one("#parallel-rows", DataTable)
        row = self.rows[table.cursor_row] if self.rows else None
        if row is not None and row.outcome is not None:
            self.app.show_results(row.outcome.result, row.outcome.report)
