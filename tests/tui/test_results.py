"""The results screen: sort, filter by verdict and text, the summary per area, opening a case."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Label, Static

from tuikit import SIZE, DeterministicApp, run_to_results, screen_name


def _ids(app) -> list[str]:
    table = app.screen.query_one("#cases", DataTable)
    return [str(table.coordinate_to_cell_key((row, 0)).row_key.value) for row in range(table.row_count)]


async def test_cases_in_id_order_with_verdicts_in_colour(reports):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await run_to_results(pilot)
        assert _ids(app) == ["SSC.REC.901", "SSC.REC.902", "SSC.REC.903", "SSC.REC.904",
                             "SSC.SEL.901", "SSC.SEL.902", "SSC.SEL.903", "SSC.SEL.904"]
        table = app.screen.query_one("#cases", DataTable)
        failed = table.get_cell("SSC.SEL.904", "verdict")
        assert str(failed) == "FAIL" and "red" in str(failed.style)
        assert "green" in str(table.get_cell("SSC.REC.901", "verdict").style)
        assert str(table.get_cell("SSC.REC.902", "time")).strip() == "2.0 ms"  # fixed by the test app
        summary = str(app.screen.query_one("#results-summary", Static).render())
        assert "verdict FAIL" in summary and "cases 8" in summary


async def test_sort_by_key_and_by_clicking_a_header(reports):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await run_to_results(pilot)
        await pilot.press("s")  # id -> verdict: worst first
        assert _ids(app)[:2] == ["SSC.SEL.904", "SSC.REC.904"]  # FAIL, then INCONCLUSIVE
        assert _ids(app)[-1] == "SSC.SEL.903"  # NOT_APPLICABLE last
        await pilot.press("S")
        assert _ids(app)[0] == "SSC.SEL.903"
        state = str(app.screen.query_one("#results-state", Label).render())
        assert "sort verdict ↓" in state
        await pilot.click("#cases", offset=(2, 0))  # the "case" header: sort by id
        await pilot.pause()
        assert _ids(app)[0] == "SSC.REC.901" and app.screen.sort_column == "id"
        await pilot.click("#cases", offset=(2, 0))  # again: reversed
        await pilot.pause()
        assert _ids(app)[0] == "SSC.SEL.904" and app.screen.reverse


async def test_filter_by_verdict_and_by_text(reports):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await run_to_results(pilot)
        await pilot.press("v")
        assert _ids(app) == ["SSC.SEL.904"]  # FAIL only
        await pilot.press("v", "v")
        assert _ids(app) == ["SSC.REC.904"]  # ERROR (none), then INCONCLUSIVE
        await pilot.press("v", "v", "v")  # PASS, NOT_APPLICABLE, all
        assert len(_ids(app)) == 8
        await pilot.press("slash", *"challenge")
        assert _ids(app) == ["SSC.REC.903"]
        await pilot.press("ctrl+u", *"description lacks")  # reasons and titles are searched
        assert _ids(app) == ["SSC.REC.904"]
        assert "shown 1/8" in str(app.screen.query_one("#results-state", Label).render())


async def test_summary_per_area_and_choosing_an_area_filters(reports):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await run_to_results(pilot)
        areas = app.screen.query_one("#areas", DataTable)
        assert [str(k.value) for k in areas.rows] == ["REC", "SEL"]
        assert str(areas.get_cell("REC", "verdict")) == "INCONCL"
        assert str(areas.get_cell("SEL", "verdict")) == "FAIL"
        assert str(areas.get_cell("SEL", "PASS")) == "2" and str(areas.get_cell("SEL", "FAIL")) == "1"
        assert str(areas.get_cell("REC", "PASS")) == "3"
        areas.focus()
        await pilot.press("down", "enter")  # the SEL row
        assert app.screen.query_one("#results-filter", Input).value == "SSC.SEL."
        assert _ids(app) == ["SSC.SEL.901", "SSC.SEL.902", "SSC.SEL.903", "SSC.SEL.904"]


async def test_enter_opens_the_case_and_escape_comes_back(reports):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await run_to_results(pilot)
        await pilot.press("v", "enter")  # the FAIL case
        await pilot.pause()
        assert screen_name(app) == "CaseScreen" and app.screen.case.case_id == "SSC.SEL.904"
        await pilot.press("escape")
        assert screen_name(app) == "ResultsScreen"
        await pilot.press("escape")
        assert screen_name(app) == "StartScreen"
