"""The live run: progress bar, counts per verdict, elapsed time, the current case, and the cases
as they finish. The runner works in a Textual thread worker; its events come to the UI through
`call_from_thread`, in small batches. Esc sets the cancel flag: the run stops after the current case and the
report is still written. When the run ends the results screen takes its place.
"""

from __future__ import annotations

import threading
import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, ProgressBar, Static
from textual.worker import Worker, WorkerState

from conformance.events import CaseDone, CaseStarted, Event, StepDone, SuiteDone, SuiteStarted
from conformance.textsafe import printable
from conformance.verdict import ORDER

from ..run_job import RunOutcome, report_stamp, run_suite
from ..targets import Target
from ..widgets import counts_text, markup_free, plain, verdict_text


class _Batcher:
    """Hands the runner's events to the UI in batches (at most every 50 ms): one round trip per
    event would slow a fast emulated run several times over. Step events are not shown here."""

    def __init__(self, deliver, interval: float = 0.05):
        self.deliver, self.interval = deliver, interval
        self.pending: list[Event] = []
        self.last = 0.0

    def add(self, event: Event) -> None:
        if isinstance(event, StepDone):
            return
        self.pending.append(event)
        now = time.monotonic()
        if isinstance(event, (SuiteStarted, SuiteDone)) or now - self.last >= self.interval:
            self.last = now
            self.flush()

    def flush(self) -> None:
        if self.pending:
            events, self.pending = self.pending, []
            self.deliver(events)


class RunScreen(Screen):
    BINDINGS = [Binding("escape", "stop", "Stop the run")]

    def __init__(self, target: Target, chosen: list[str] | None, expression: str) -> None:
        super().__init__()
        self.target, self.chosen, self.expression = target, chosen, expression
        self.cancel = threading.Event()
        self.running = True
        self.counts = {v.value: 0 for v in ORDER}
        self.total = 0
        self.started_at = 0.0
        self.outcome: RunOutcome | None = None
        self.failure = ""  # why the run could not go on, when it could not
        self.finished_cases: list = []  # the table's rows, to lay out again on a resize

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="run"):
            yield Label(Text.assemble("Running on ", (printable(self.target.label), "bold")), id="run-title")
            with Horizontal(id="run-progress-row"):
                yield ProgressBar(total=None, show_eta=False, id="run-progress")
                yield Static("", id="run-elapsed")
            yield Static(counts_text(self.counts), id="run-counts")
            yield Static("starting…", id="run-current")
            yield DataTable(id="run-cases", cursor_type="row", zebra_stripes=True)
            yield Static("", id="run-status")
        yield Footer()

    def on_mount(self) -> None:
        self._add_columns()
        self.started_at = self.app.clock()
        self._tick = self.set_interval(0.1, self._show_elapsed)
        self._show_elapsed()
        self.run_worker(self._work, thread=True, group="run", exit_on_error=False)

    def _title_width(self) -> int:
        """The title column takes the width the other columns leave (padding 2 per column, the
        screen's 1+1 and a scrollbar); titles longer than that wrap."""
        return max(20, self.app.size.width - (14 + 16) - 2 * 3 - 2 - 2)

    def _add_columns(self) -> None:
        table = self.query_one("#run-cases", DataTable)
        self._title_columns = self._title_width()
        table.add_column("case", key="id", width=14)
        table.add_column("verdict", key="verdict", width=16)
        table.add_column("title", key="title", width=self._title_columns)  # fixed: rows arrive in batches

    def on_resize(self) -> None:
        if self.query("#run-cases") and self._title_width() != getattr(self, "_title_columns", None):
            table = self.query_one("#run-cases", DataTable)
            table.clear(columns=True)
            self._add_columns()
            for case in self.finished_cases:
                self._add_row(table, case)

    @staticmethod
    def _add_row(table: DataTable, case) -> None:
        table.add_row(plain(case.case_id), verdict_text(case.verdict), plain(case.title), key=case.case_id, height=None)

    # --- the worker (a thread) -----------------------------------------------------------

    def _work(self) -> None:
        app = self.app
        try:
            connection = app.connect(self.target)
        except Exception as exc:  # TargetError, and whatever else a reader or a driver raises
            app.call_from_thread(self._failed, f"cannot open {self.target.label}: {exc}")
            return
        batch = _Batcher(lambda events: self._deliver(events))
        try:
            outcome = run_suite(app.suite, connection, chosen=self.chosen, expression=self.expression,
                                emit=batch.add, cancel=self.cancel, reports_dir=app.reports_dir,
                                stamp=report_stamp(app.now()))
            batch.flush()
        except Exception as exc:  # a tool bug: say so on screen instead of dying silently
            app.call_from_thread(self._failed, f"the run failed: {type(exc).__name__}: {exc}")
            return
        finally:
            connection.close()
        try:
            app.call_from_thread(self._finished, outcome)
        except Exception:  # the app quit meanwhile: the report is written, nothing to show
            pass

    def _deliver(self, events: list[Event]) -> None:
        """To the UI; when the UI is gone (q mid-run) the run stops and still writes its report."""
        try:
            self.app.call_from_thread(self._on_events, events)
        except Exception:
            self.cancel.set()

    # --- events, in the UI thread ---------------------------------------------------------

    def _on_events(self, events: list[Event]) -> None:
        for event in events:
            self._on_event(event)
        table = self.query_one("#run-cases", DataTable)
        if table.row_count:
            table.move_cursor(row=table.row_count - 1)

    def _on_event(self, event: Event) -> None:
        bar = self.query_one("#run-progress", ProgressBar)
        if isinstance(event, SuiteStarted):
            self.total = event.total
            bar.update(total=event.total, progress=0)
        elif isinstance(event, CaseStarted):
            self.query_one("#run-current", Static).update(
                Text.assemble(("current ", "dim"), (printable(event.case_id), "bold cyan"), f"  {printable(event.title)}",
                              (f"   ({event.index + 1}/{event.total})", "dim")))
        elif isinstance(event, CaseDone):
            case = event.case
            self.counts[case.verdict.value] += 1
            bar.update(progress=event.index + 1)
            self.query_one("#run-counts", Static).update(counts_text(self.counts))
            self.finished_cases.append(case)
            self._add_row(self.query_one("#run-cases", DataTable), case)
        elif isinstance(event, SuiteDone):
            self.query_one("#run-current", Static).update(Text("all cases done", style="dim"))

    def _show_elapsed(self) -> None:
        elapsed = self.app.clock() - self.started_at
        self.query_one("#run-elapsed", Static).update(f"elapsed {elapsed:5.1f} s")

    def _finished(self, outcome: RunOutcome) -> None:
        self.running = False
        self._tick.stop()
        self._show_elapsed()
        self.outcome = outcome
        what = "stopped" if outcome.cancelled else "done"
        status = Text(f"Run {what}: {len(outcome.result.cases)} cases.")
        if outcome.report is not None:
            status.append(f" Report {printable(outcome.report.name)}", style="bold")
        for error in outcome.errors:
            status.append(f"\ncould not write {printable(error)}", style="red")
        self.query_one("#run-status", Static).update(status)
        if outcome.errors:
            self.notify(markup_free("; ".join(outcome.errors)), severity="error", timeout=10)
        if self.app.auto_results:
            # A moment on the finished run screen (and never a screen removed while it mounts).
            self.set_timer(0.4, lambda: self.app.show_results(outcome.result, outcome.report, replace=True))
        else:
            self.app.last_result, self.app.last_report = self.app.prepare_result(outcome.result), outcome.report

    def _failed(self, message: str) -> None:
        """The run could not go on: say so where "Running" was, stop the clock and the bar, and
        leave the screen usable (Esc back, the cases that finished stay in the table)."""
        if not self.running:
            return  # already reported (the worker's own catch and its ERROR state both land here)
        self.running = False
        self.failure = message
        self._tick.stop()
        self._show_elapsed()
        self.query_one("#run-title", Label).update(
            Text.assemble(("Run failed", "bold red"), " on ", (printable(self.target.label), "bold")))
        bar = self.query_one("#run-progress", ProgressBar)
        if bar.total is None:  # still "waiting": the bar stops its animation at 0
            bar.update(total=max(self.total, 1), progress=0)
        self.query_one("#run-current", Static).update(plain(message, style="bold red"))
        self.query_one("#run-status", Static).update(
            Text("Esc: back to the start screen (fix the target and run again)", style="dim"))
        self.notify(markup_free(message), severity="error", timeout=10)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A crash the worker did not catch itself (in the UI callbacks too) still ends the run."""
        if event.worker.group == "run" and event.state is WorkerState.ERROR and self.running:
            error = event.worker.error
            self._failed(f"the run failed: {type(error).__name__}: {error}")

    def on_unmount(self) -> None:
        self.cancel.set()  # leaving (or quitting) mid-run: the runner stops after its current case

    def action_stop(self) -> None:
        if self.running:
            self.cancel.set()
            self.query_one("#run-status", Static).update(Text("stopping after the current case…", style="yellow"))
        else:
            self.app.pop_screen()
