"""`sscard tui`: the Textual app. It holds what the screens share — the vector suite, the chosen
target, the last results — and the app-wide actions (run, open a report, explorer, console),
each bound to a key and listed in the command palette.

Screens: start (targets and vectors) → run (live progress) → results (table, areas) → case
(steps, decoded APDUs, diffs). Beside them: the card explorer, the APDU console, and a saved
JSON report opened as a finished run.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from conformance.reports import json_report
from conformance.vectors import Suite, VectorError, load_suite
from conformance.verdict import SuiteResult

from .targets import Connection, Random, ReaderScan, Target, connect, scan_readers
from .widgets import markup_free


class SscardApp(App):
    """Runs the conformance suite against emulated, imaged or physical cards, and shows the results."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "sscard"
    SUB_TITLE = "social security card conformance"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("o", "open_report", "Open report"),
        Binding("e", "explorer", "Explorer"),
        Binding("c", "console", "Console"),
        # Not in the footer: it would change every screen's snapshot; the palette lists it.
        Binding("t", "terminal", "Terminal", show=False),
    ]

    def __init__(self, *, vectors=None, image: str | None = None, report: str | None = None,
                 reports_dir: str | Path = "reports", card_random: Random | None = None,
                 reader_scan: Callable[[], ReaderScan] = scan_readers, poll_interval: float = 0.5,
                 auto_results: bool = True):
        super().__init__()
        self.vectors_source = vectors
        self.suite: Suite | None = None
        self.suite_error = ""
        self.initial_image = image
        self.initial_report = report
        self.reports_dir = Path(reports_dir)
        self.card_random = card_random or os.urandom
        self.reader_scan = reader_scan
        self.poll_interval = poll_interval
        self.auto_results = auto_results
        self.target = Target("image", image) if image else Target("builtin", "gen3")
        self.description: str | None = image  # card image describing a physical card
        self.last_result: SuiteResult | None = None
        self.last_report: Path | None = None
        self._load_suite()

    # --- hooks a test can override to make screens deterministic ---------------------------

    def clock(self) -> float:
        """Monotonic seconds for elapsed times."""
        return time.monotonic()

    def now(self) -> datetime:
        """Wall-clock time for report file names."""
        return datetime.now()

    def connect(self, target: Target) -> Connection:
        """Open a target (called from worker threads). Raises TargetError."""
        return connect(target, self.card_random, self.description)

    def prepare_result(self, result: SuiteResult) -> SuiteResult:
        """Called on every result before it is shown (runs and opened reports)."""
        return result

    # --- the suite ------------------------------------------------------------------------

    def _load_suite(self) -> None:
        source = self.vectors_source
        if isinstance(source, Suite):
            self.suite = source
            return
        try:
            self.suite = load_suite(source)
        except VectorError as exc:
            self.suite, self.suite_error = None, f"the vectors do not load ({len(exc.problems)} problems): {exc.problems[0]}"
        except OSError as exc:
            self.suite, self.suite_error = None, f"the vectors cannot be read: {exc}"

    # --- screens --------------------------------------------------------------------------

    def on_mount(self) -> None:
        from .screens.start import StartScreen

        self.push_screen(StartScreen())
        if self.initial_report:
            self.open_report(self.initial_report)

    def start_screen(self):
        from .screens.start import StartScreen

        return next((s for s in self.screen_stack if isinstance(s, StartScreen)), None)

    def action_run(self) -> None:
        start = self.start_screen()
        if start is not None and self._leave_modal():
            while self.screen is not start:
                self.pop_screen()
            start.action_run()

    def start_run(self, target: Target, chosen: list[str] | None, expression: str) -> None:
        from .screens.run import RunScreen

        self.target = target
        self.push_screen(RunScreen(target, chosen, expression))

    def show_results(self, result: SuiteResult, report: Path | None, replace: bool = False) -> None:
        from .screens.results import ResultsScreen

        result = self.prepare_result(result)
        self.last_result, self.last_report = result, report
        screen = ResultsScreen(result, report)
        if replace:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def action_results(self) -> None:
        if self.last_result is None:
            self.notify("No results yet: run the suite (r) or open a report (o).", severity="warning")
            return
        self.show_results(self.last_result, self.last_report)

    def action_open_report(self) -> None:
        from .screens.dialogs import OpenReportScreen

        if not self._leave_modal():
            return
        def opened(path: str | None) -> None:
            if path:
                self.open_report(path)

        self.push_screen(OpenReportScreen(self.reports_dir), opened)

    def open_report(self, path: str | Path) -> bool:
        try:
            result = json_report.load_json_report(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.notify(markup_free(f"Cannot open {path}: {exc}"), severity="error", timeout=8)
            return False
        self.show_results(result, Path(path))
        return True

    def action_explorer(self) -> None:
        from .screens.explorer import ExplorerScreen

        if not self._leave_modal():
            return
        self.push_screen(ExplorerScreen(self.target))

    def action_console(self) -> None:
        from .screens.console import ConsoleScreen

        if not self._leave_modal():
            return
        self.push_screen(ConsoleScreen(self.target))

    def action_terminal(self) -> None:
        from .screens.terminal import TerminalScreen

        if not self._leave_modal() or isinstance(self.screen, TerminalScreen):
            return
        self.push_screen(TerminalScreen(self.target))

    def action_export(self, kind: str = "") -> None:
        from .screens.dialogs import ExportScreen

        if self.last_result is None:
            self.notify("Nothing to export yet: run the suite or open a report.", severity="warning")
            return
        self.push_screen(ExportScreen(self.last_result, self.reports_dir, self.report_base(), kind))

    def report_base(self) -> str:
        if self.last_report is not None:
            return self.last_report.stem
        label = self.last_result.card if self.last_result else "card"
        return f"sscard-{label}-{self.now().strftime('%Y%m%d-%H%M%S')}"

    def choose_target(self, target: Target) -> None:
        self.target = target
        start = self.start_screen()
        if start is not None:
            start.show_target(target)

    def _leave_modal(self) -> bool:
        from .screens.run import RunScreen

        if isinstance(self.screen, RunScreen) and self.screen.running:
            self.notify("A run is going on: stop it with Esc first.", severity="warning")
            return False
        return True

    # --- command palette ------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Run the suite", "Run the selected cases on the chosen target (r)", self.action_run)
        yield SystemCommand("Open a report", "Browse a saved JSON report as a finished run (o)", self.action_open_report)
        yield SystemCommand("Card explorer", "Read the card's tree through APDUs (e)", self.action_explorer)
        yield SystemCommand("APDU console", "Send APDUs by hand and read the decoded answers (c)", self.action_console)
        yield SystemCommand("Terminal functions", "LD/T 33 iReadCardBas, iReadCard, … on a card and a PSAM (t)",
                            self.action_terminal)
        yield SystemCommand("Show the last results", "The results of the last run or opened report", self.action_results)
        for kind in ("JSON", "JUnit", "HTML"):
            yield SystemCommand(f"Export {kind}", f"Write the last results as {kind}",
                                lambda kind=kind: self.action_export(kind))
        for name in ("gen1", "gen2", "gen3"):
            yield SystemCommand(f"Target: built-in {name}", f"Test the emulated sample {name} card",
                                lambda name=name: self.choose_target(Target("builtin", name)))
        # The screen's own key bindings, so every action of every screen is in the palette too.
        for binding in getattr(screen, "BINDINGS", ()):
            if isinstance(binding, Binding) and binding.description:
                yield SystemCommand(f"{binding.description} ({type(screen).__name__.removesuffix('Screen').lower()})",
                                    f"key {binding.key} on this screen",
                                    lambda action=binding.action: self.run_action(action, screen))
