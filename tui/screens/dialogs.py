"""Small modal dialogs: open a saved JSON report, export the results (JSON, JUnit, HTML)."""

from __future__ import annotations

import importlib
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from conformance.verdict import SuiteResult

from ..widgets import markup_free, plain

# format name -> (module in conformance.reports, file suffix)
FORMATS = {"JSON": ("json_report", ".json"), "JUnit": ("junit", ".junit.xml"), "HTML": ("html", ".html")}


def writer(kind: str):
    """The `write(result, path)` of a report format, or None if that writer is not available."""
    module_name, _ = FORMATS[kind]
    try:
        module = importlib.import_module(f"conformance.reports.{module_name}")
    except ImportError:
        return None
    return getattr(module, "write", None)


class OpenReportScreen(ModalScreen[str | None]):
    """A path, typed or picked from the JSON reports found in the reports folder (newest first)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Open a JSON report", classes="dialog-title")
            yield Input(placeholder="path to a report (.json), Enter to open", id="report-path")
            found = self._reports()
            yield Label(plain(f"in {self.folder}/" if found else f"no reports in {self.folder}/ yet"), classes="dim")
            yield OptionList(*[Option(plain(p.name), id=str(p)) for p in found], id="report-list")

    def _reports(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        paths = [p for p in self.folder.glob("*.json") if p.is_file()]
        return sorted(paths, key=lambda p: (p.stat().st_mtime, p.name), reverse=True)[:50]

    def on_mount(self) -> None:
        self.query_one("#report-path", Input).focus()

    @on(Input.Submitted, "#report-path")
    def _typed(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if path:
            self.dismiss(path)

    @on(OptionList.OptionSelected, "#report-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class ExportScreen(ModalScreen[Path | None]):
    """Pick a format (or come with one from the palette), confirm the path, write."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, result: SuiteResult, folder: Path, base: str, kind: str = "") -> None:
        super().__init__()
        self.result, self.folder, self.base = result, folder, base
        self.kind = kind if kind in FORMATS else "JSON"

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Export the results", classes="dialog-title")
            options = []
            for name, (_, suffix) in FORMATS.items():
                available = writer(name) is not None
                options.append(Option(Text.assemble((name, "bold"), f"  {suffix}" if available else "  (not available)"),
                                      id=name, disabled=not available))
            yield OptionList(*options, id="export-format")
            yield Input(value=str(self._default_path()), id="export-path")
            yield Static("Enter on a format or the path writes the file", classes="dim", id="export-status")

    def on_mount(self) -> None:
        formats = self.query_one("#export-format", OptionList)
        formats.highlighted = list(FORMATS).index(self.kind)
        formats.focus()

    def _default_path(self) -> Path:
        return self.folder / f"{self.base}{FORMATS[self.kind][1]}"

    @on(OptionList.OptionHighlighted, "#export-format")
    def _format_changed(self, event: OptionList.OptionHighlighted) -> None:
        box = self.query_one("#export-path", Input)
        was_default = box.value == str(self._default_path())
        self.kind = event.option.id
        if was_default or not box.value:
            box.value = str(self._default_path())

    @on(OptionList.OptionSelected, "#export-format")
    def _format_chosen(self) -> None:
        self._write()

    @on(Input.Submitted, "#export-path")
    def _path_given(self) -> None:
        self._write()

    def _write(self) -> None:
        path = Path(self.query_one("#export-path", Input).value.strip() or self._default_path())
        write = writer(self.kind)
        if write is None:
            self.query_one("#export-status", Static).update(Text(f"{self.kind} export is not available", style="red"))
            return
        try:
            write(self.result, path, create_under=self.folder)  # atomic, 0600; only reports/ is created
        except OSError as exc:
            self.query_one("#export-status", Static).update(plain(f"not written: {exc}", style="red"))
            return
        self.app.notify(markup_free(f"{self.kind} written to {path}"))
        self.dismiss(path)
