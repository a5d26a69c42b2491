"""Saved reports: open one as a finished run (from the command line or the dialog), export the
results as JSON, JUnit and HTML, and every action reachable from the command palette."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from textual.widgets import DataTable, Input, OptionList

from conformance.reports.json_report import load_json_report
from tuikit import SIZE, DeterministicApp, run_command, run_to_results, screen_name, wait_for


async def _make_report(reports) -> str:
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await run_to_results(pilot)
    return str(next(reports.glob("*.json")))


async def test_open_a_report_from_the_command_line(reports):
    path = await _make_report(reports)
    app = DeterministicApp(report=path, reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: screen_name(app) == "ResultsScreen" and app.screen.query("#cases"))
        table = app.screen.query_one("#cases", DataTable)
        assert table.row_count == 8
        assert str(table.get_cell("SSC.SEL.904", "verdict")) == "FAIL"
        await pilot.press("v", "enter")
        await pilot.pause()
        assert screen_name(app) == "CaseScreen"
        assert app.screen.case.steps[-1].differing == [9]  # the diff survives the JSON round trip
        await pilot.press("escape", "escape")
        assert screen_name(app) == "StartScreen"  # a browsed report returns to the start screen


async def test_open_a_report_from_the_dialog(reports):
    path = await _make_report(reports)
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        await pilot.pause()
        assert screen_name(app) == "OpenReportScreen"
        listed = app.screen.query_one("#report-list", OptionList)
        assert listed.get_option_at_index(0).id == path
        listed.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) == "ResultsScreen" and app.screen.query("#cases"))
        assert app.screen.report is not None and str(app.screen.report) == path


async def test_a_file_that_is_no_report_is_refused_calmly(tmp_path, reports):
    bogus = tmp_path / "notes.json"
    bogus.write_text('{"hello": 1}')
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        await pilot.pause()
        await pilot.press(*str(bogus), "enter")
        await pilot.pause()
        assert screen_name(app) == "StartScreen"
        assert any("not an sscard JSON report" in n.message for n in app._notifications)


async def test_export_json_junit_and_html_from_the_results(reports, tmp_path):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await run_to_results(pilot)
        written = {}
        for kind, downs in (("JSON", 0), ("JUnit", 1), ("HTML", 2)):
            await pilot.press("x")
            await pilot.pause()
            assert screen_name(app) == "ExportScreen"
            await pilot.press(*["down"] * downs)
            box = app.screen.query_one("#export-path", Input)
            assert box.value.startswith(str(reports / "sscard-gen3-20260102-030405"))
            box.value = str(tmp_path / f"out-{kind}")
            box.focus()
            await pilot.press("enter")
            await pilot.pause()
            assert screen_name(app) == "ResultsScreen"
            written[kind] = tmp_path / f"out-{kind}"
        assert len(load_json_report(written["JSON"]).cases) == 8
        suite = ET.parse(written["JUnit"]).getroot().find("testsuite")
        assert (suite.get("tests"), suite.get("failures")) == ("8", "1")
        html = written["HTML"].read_text()
        assert "SSC.SEL.904" in html and "<html" in html.lower()
        assert json.loads(written["JSON"].read_text())["summary"]["FAIL"] == 1


async def test_the_command_palette_reaches_the_actions(reports):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await run_command(pilot, "card explorer", "Card explorer")
        await wait_for(pilot, lambda: screen_name(app) == "ExplorerScreen")
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "StartScreen")
        await run_command(pilot, "target built-in gen1", "Target: built-in gen1")
        await wait_for(pilot, lambda: app.target.name == "gen1")
        options = app.screen.query_one("#targets", OptionList)
        assert options.get_option_at_index(options.highlighted).id == "builtin:gen1"
        await run_command(pilot, "run the suite", "Run the suite")
        await wait_for(pilot, lambda: screen_name(app) == "ResultsScreen" and app.screen.query("#cases"))
        assert app.screen.result.card == "gen1"
        # the screen's own keys are commands too
        await run_command(pilot, "verdict filter (results)", "Verdict filter (results)")
        await wait_for(pilot, lambda: app.screen.verdict_filter is not None)
        assert app.screen.verdict_filter.value == "FAIL"


async def test_q_quits(reports):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running
