"""Outside text in the TUI (issue 12): a vector title or reason with rich markup (`[/bold]`,
`[/]`) or an ESC sequence is shown as its characters, in the run screen, the results table, the
case screen and a reopened report; nothing is parsed as markup and no raw ESC reaches the screen."""

from __future__ import annotations

import json
import shutil
from io import StringIO

from rich.console import Console
from textual.content import Content
from textual.widgets import DataTable, Static

from tuikit import SIZE, VECTORS, DeterministicApp, run_to_results, screen_name, wait_for

TITLE = "a [/bold] b \x1b[2J\x1b]0;owned\x07 [/] end"
SHOWN = "a [/bold] b \\x1b[2J\\x1b]0;owned\\x07 [/] end"


def _text(renderable) -> str:
    console = Console(file=StringIO(), width=200, color_system=None, record=True)
    console.print(renderable)
    return console.export_text()


def _hostile_vectors(tmp_path):
    folder = tmp_path / "vectors"
    shutil.copytree(VECTORS, folder)
    select = folder / "select.yaml"
    text = select.read_text(encoding="utf-8")
    # The failing fixture case gets the hostile title; a JSON string is valid YAML double-quoted text.
    text = text.replace("title: FCI of DF01 by AID (the fixture expects AID byte 6 = 07, to show a diff)",
                        f"title: {json.dumps(TITLE)}")
    text = text.replace("title: SELECT DF01 by AID", 'title: "[/]"')
    select.write_text(text, encoding="utf-8")
    return folder


async def _case_screen_shows_it(pilot) -> None:
    app = pilot.app
    table = app.screen.query_one("#cases", DataTable)
    assert table.get_cell("SSC.SEL.904", "title").plain == SHOWN
    await pilot.press("slash", *"SSC.SEL.904", "enter", "enter")
    await pilot.pause()
    assert screen_name(app) == "CaseScreen"
    heading = _text(app.screen.query_one("#case-heading", Static).content)
    assert SHOWN in heading and "\x1b" not in heading
    titles = [Content.from_markup(str(p.border_title)).plain for p in app.screen.query(".step").results(Static)]
    assert "step 1: [/]" in titles  # the border title is markup: shown as typed


async def test_markup_and_escapes_in_titles_through_a_run(tmp_path):
    reports = tmp_path / "reports"
    app = DeterministicApp(reports_dir=reports, vectors=_hostile_vectors(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await run_to_results(pilot)
        await _case_screen_shows_it(pilot)
    report = next(reports.glob("*.json"))
    cases = {c["id"]: c for c in json.loads(report.read_text())["cases"]}
    assert cases["SSC.SEL.904"]["title"] == TITLE  # the report keeps the text as it was


async def test_a_report_holding_such_titles_opens(tmp_path):
    reports = tmp_path / "reports"
    app = DeterministicApp(reports_dir=reports, vectors=_hostile_vectors(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await run_to_results(pilot)
    report = next(reports.glob("*.json"))
    doc = json.loads(report.read_text())
    doc["summary"]["card"] = "[bold red]gen3[/]"
    report.write_text(json.dumps(doc), encoding="utf-8")
    viewer = DeterministicApp(report=str(report), reports_dir=reports)
    async with viewer.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: screen_name(viewer) == "ResultsScreen" and viewer.screen.query("#cases"))
        summary = _text(viewer.screen.query_one("#results-summary", Static).content)
        assert "card [bold red]gen3[/]" in summary
        await _case_screen_shows_it(pilot)
