"""Results of a run (or of an opened JSON report): a table of cases — id, title, verdict in colour,
time — sortable by clicking a column header or with `s`, filterable by text (`/`) and by verdict
(`v`), and the summary per area beside it. Enter opens a case; `x` exports.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Label, Static

from conformance.textsafe import printable
from conformance.verdict import CaseResult, SuiteResult, Verdict, worst

from ..widgets import SHORT, WORST_FIRST, counts_text, plain, verdict_text

COLUMNS = (("id", "case", 13), ("verdict", "verdict", 14), ("time", "time", 9), ("title", "title", None))
AREAS_WIDTH = 52  # the area pane beside the cases (app.tcss #areas)
NARROW = 120  # below this many columns the area pane goes under the cases, titles get the width
VERDICT_FILTERS = [None, Verdict.FAIL, Verdict.ERROR, Verdict.INCONCLUSIVE, Verdict.PASS, Verdict.NOT_APPLICABLE]


def duration_text(seconds: float) -> str:
    if seconds <= 0:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def _sort_key(column: str):
    return {
        "id": lambda c: c.case_id,
        "title": lambda c: c.title.lower(),
        "verdict": lambda c: (-c.verdict.rank, c.case_id),  # worst first
        "time": lambda c: (c.duration, c.case_id),
    }[column]


class ResultsScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("s", "sort", "Sort"),
        Binding("S", "reverse", "Reverse", show=False),
        Binding("v", "verdict_filter", "Verdict filter"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("x", "app.export", "Export"),
    ]

    def __init__(self, result: SuiteResult, report: Path | None = None) -> None:
        super().__init__()
        self.result, self.report = result, report
        self.sort_column, self.reverse = "id", False
        self.verdict_filter: Verdict | None = None
        self.text_filter = ""
        self.by_id = {c.case_id: c for c in result.cases}

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="results"):
            yield Static(self._summary(), id="results-summary")
            with Horizontal(id="results-controls"):
                yield Input(placeholder="filter cases by text (id, title, reason)", id="results-filter")
                yield Label("", id="results-state")
            with Horizontal(id="results-body"):
                yield DataTable(id="cases", cursor_type="row", zebra_stripes=True)
                yield DataTable(id="areas", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.set_class(self.app.size.width < NARROW, "narrow")
        self._add_columns()
        areas = self.query_one("#areas", DataTable)
        areas.add_column("area", key="area", width=6)
        areas.add_column("verdict", key="verdict", width=8)
        for verdict in WORST_FIRST:
            areas.add_column(SHORT[verdict], key=verdict.value, width=max(4, len(SHORT[verdict])))
        self._fill_areas()
        self.refresh_cases()
        self.query_one("#cases", DataTable).focus()

    def _title_width(self) -> int:
        """The title column takes what the other columns leave (cell padding: 2 per column, a
        scrollbar); longer titles wrap."""
        width = self.size.width or self.app.size.width
        table = width if width < NARROW else width - AREAS_WIDTH
        fixed = sum(width for _, _, width in COLUMNS if width) + 2 * len(COLUMNS) + 2
        return max(20, table - fixed)

    def _add_columns(self) -> None:
        cases = self.query_one("#cases", DataTable)
        self._title_columns = self._title_width()
        for key, label, width in COLUMNS:
            cases.add_column(label, key=key, width=width or self._title_columns)

    def on_resize(self) -> None:
        self.set_class((self.size.width or self.app.size.width) < NARROW, "narrow")
        if self.query("#cases") and self._title_width() != getattr(self, "_title_columns", None):
            self.query_one("#cases", DataTable).clear(columns=True)
            self._add_columns()
            self.refresh_cases()

    # --- content -------------------------------------------------------------------------

    def _summary(self) -> Text:
        result = self.result
        text = Text.assemble(("card ", "dim"), (printable(result.card or "?"), "bold"), ("   verdict ", "dim"),
                             verdict_text(result.verdict), ("   cases ", "dim"), (str(len(result.cases)), "bold"),
                             "   ", counts_text(result.counts(), zeros=False))
        if self.report is not None:
            text.append("\nreport ", style="dim")
            text.append(printable(self.report.name))
        stopped = (result.provenance or {}).get("stopped")
        if stopped:
            text.append(f"   stopped {printable(stopped)}", style="yellow")
        return text

    def _fill_areas(self) -> None:
        table = self.query_one("#areas", DataTable)
        groups: dict[str, list[CaseResult]] = {}
        for case in self.result.cases:
            groups.setdefault(case.area or "?", []).append(case)
        for area, cases in groups.items():
            cells = [plain(area, style="bold"), verdict_text(worst(c.verdict for c in cases), short=True)]
            for verdict in WORST_FIRST:
                n = sum(1 for c in cases if c.verdict is verdict)
                cells.append(Text(str(n), style="bold" if n and verdict.is_bad else "" if n else "dim"))
            table.add_row(*cells, key=area)

    def visible_cases(self) -> list[CaseResult]:
        needle = self.text_filter.lower()
        cases = [c for c in self.result.cases
                 if (self.verdict_filter is None or c.verdict is self.verdict_filter)
                 and (not needle or needle in f"{c.case_id} {c.title} {c.reason}".lower())]
        return sorted(cases, key=_sort_key(self.sort_column), reverse=self.reverse)

    def refresh_cases(self) -> None:
        table = self.query_one("#cases", DataTable)
        current = None
        if table.row_count and table.cursor_row >= 0:
            current = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        table.clear()
        for case in self.visible_cases():
            table.add_row(plain(case.case_id), verdict_text(case.verdict), Text(duration_text(case.duration), justify="right"),
                          plain(case.title), key=case.case_id, height=None)
        if current is not None and current in table.rows:
            table.move_cursor(row=table.get_row_index(current))
        arrow = "↓" if self.reverse else "↑"
        shown = "all" if self.verdict_filter is None else self.verdict_filter.value
        self.query_one("#results-state", Label).update(
            Text.assemble(("verdict ", "dim"), (shown, "bold"), ("  sort ", "dim"), (f"{self.sort_column} {arrow}", "bold"),
                          ("  shown ", "dim"), (f"{table.row_count}/{len(self.result.cases)}", "bold")))

    # --- interaction -----------------------------------------------------------------------

    def action_sort(self) -> None:
        keys = [key for key, _, _ in COLUMNS]
        self.sort_column = keys[(keys.index(self.sort_column) + 1) % len(keys)]
        self.reverse = False
        self.refresh_cases()

    def action_reverse(self) -> None:
        self.reverse = not self.reverse
        self.refresh_cases()

    @on(DataTable.HeaderSelected, "#cases")
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        if column == self.sort_column:
            self.reverse = not self.reverse
        else:
            self.sort_column, self.reverse = column, False
        self.refresh_cases()

    def action_verdict_filter(self) -> None:
        index = VERDICT_FILTERS.index(self.verdict_filter)
        self.verdict_filter = VERDICT_FILTERS[(index + 1) % len(VERDICT_FILTERS)]
        self.refresh_cases()

    def action_focus_filter(self) -> None:
        self.query_one("#results-filter", Input).focus()

    @on(Input.Changed, "#results-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.text_filter = event.value.strip()
        self.refresh_cases()

    @on(Input.Submitted, "#results-filter")
    def _filter_done(self) -> None:
        self.query_one("#cases", DataTable).focus()

    @on(DataTable.RowSelected, "#areas")
    def _area_chosen(self, event: DataTable.RowSelected) -> None:
        area = str(event.row_key.value)
        box = self.query_one("#results-filter", Input)
        box.value = "" if box.value == f"SSC.{area}." else f"SSC.{area}."
        self.query_one("#cases", DataTable).focus()

    @on(DataTable.RowSelected, "#cases")
    def _case_chosen(self, event: DataTable.RowSelected) -> None:
        self.open_case(str(event.row_key.value))

    def open_case(self, case_id: str) -> None:
        from .case import CaseScreen

        order = [c.case_id for c in self.visible_cases()]
        self.app.push_screen(CaseScreen(self.by_id[case_id], [self.by_id[i] for i in order]))
