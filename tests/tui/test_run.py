"""Live runs: the whole shipped suite on the built-in card, a selection, a stopped run."""

from __future__ import annotations

import json

from textual.widgets import DataTable, ProgressBar, Static

from conformance.reports.json_report import load_json_report
from conformance.vectors import load_suite
from conformance.verdict import Verdict
from tui.run_job import STOPPED
from tuikit import SIZE, DeterministicApp, SlowApp, run_to_results, screen_name, wait_for


async def test_full_shipped_suite_on_the_built_in_card_fills_the_table(reports):
    shipped = load_suite()  # what the conformance loader finds in vectors/ (the same Suite object:
    app = DeterministicApp(vectors=shipped, reports_dir=reports)  # vectors/ may change meanwhile)
    async with app.run_test(size=SIZE) as pilot:
        await run_to_results(pilot, timeout=240)
        table = app.screen.query_one("#cases", DataTable)
        assert table.row_count == len(shipped.cases) > 0
        assert {str(key.value) for key in table.rows} == {case.id for case in shipped.cases}
        written = sorted(reports.glob("*.json"))
        assert [p.name for p in written] == ["sscard-gen3-20260102-030405.json"]
        saved = load_json_report(written[0])
        assert len(saved.cases) == len(shipped.cases)
        assert (reports / "sscard-gen3-20260102-030405.apdu4j.log").read_text().count("A>>") > len(shipped.cases)
        # The built-in card is the reference: nothing in the shipped suite fails on it.
        assert not [c.case_id for c in saved.cases if c.verdict.is_bad]


def test_the_app_loads_the_shipped_suite_by_default():
    assert [c.id for c in DeterministicApp(vectors=None).suite.cases] == [c.id for c in load_suite().cases]


async def test_a_broken_suite_is_reported_not_raised(tmp_path):
    (tmp_path / "bad.yaml").write_text("area: SEL\ncases:\n  - id: SSC.SEL.001\n    title: no steps\n")
    app = DeterministicApp(vectors=tmp_path)
    assert app.suite is None and "problems" in app.suite_error
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await pilot.pause()
        assert screen_name(app) == "StartScreen"
        assert "the vectors do not load" in str(app.screen.query_one("#selection-info", Static).render())
        assert any("the vectors do not load" in n.message for n in app._notifications)


async def test_run_screen_shows_progress_counts_and_finished_cases(reports):
    app = DeterministicApp(reports_dir=reports, auto_results=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await wait_for(pilot, lambda: screen_name(app) == "RunScreen" and not app.screen.running)
        screen = app.screen
        bar = screen.query_one("#run-progress", ProgressBar)
        assert (bar.progress, bar.total) == (8, 8)
        counts = str(screen.query_one("#run-counts", Static).render())
        assert "PASS 5" in counts and "FAIL 1" in counts and "INCONCLUSIVE 1" in counts and "NOT_APPLICABLE 1" in counts
        table = screen.query_one("#run-cases", DataTable)
        assert table.row_count == 8
        assert str(table.get_cell("SSC.SEL.904", "verdict")) == "FAIL"
        assert "sscard-gen3-20260102-030405.json" in str(screen.query_one("#run-status", Static).render())
        assert app.last_result is not None and len(app.last_result.cases) == 8


async def test_a_selection_runs_only_the_chosen_cases(reports):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"SEL.90", "enter")
        tree = app.screen.query_one("#vector-tree")
        tree.cursor_line = 2  # SEL area, then its cases: uncheck SSC.SEL.902
        await pilot.press("space")
        assert app.screen.chosen_ids() == ["SSC.SEL.901", "SSC.SEL.903", "SSC.SEL.904"]
        await run_to_results(pilot)
        table = app.screen.query_one("#cases", DataTable)
        assert sorted(str(k.value) for k in table.rows) == ["SSC.SEL.901", "SSC.SEL.903", "SSC.SEL.904"]
        report = json.loads(next(reports.glob("*.json")).read_text())
        assert report["provenance"]["selection"] == "SEL.90"
        assert report["provenance"]["deselected"] == 5


async def test_escape_stops_the_run_and_the_report_is_still_written(reports):
    app = SlowApp(vectors=None, reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await wait_for(pilot, lambda: screen_name(app) == "RunScreen" and app.screen.counts["PASS"] >= 2)
        planned = app.screen.query_one("#run-progress", ProgressBar).total
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "ResultsScreen" and app.screen.query("#cases"))
        result = app.screen.result
        assert len(result.cases) == planned  # complete: the cases not run are there too
        not_run = [c for c in result.cases if c.reason == STOPPED]
        assert not_run and all(c.verdict is Verdict.INCONCLUSIVE for c in not_run)
        assert len(not_run) < planned - 1
        saved = load_json_report(next(reports.glob("*.json")))
        assert [c.case_id for c in saved.cases] == [c.case_id for c in result.cases]
        assert saved.provenance["stopped"] == "by the user"
        assert "stopped by the user" in str(app.screen.query_one("#results-summary", Static).render())


async def test_a_target_that_cannot_open_is_reported_on_the_run_screen(tmp_path, reports):
    # The start screen refuses a missing image (test_tui_fixes.py); one gone by the time the run
    # starts is reported on the run screen.
    from tui.targets import Target

    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.start_run(Target("image", str(tmp_path / "missing.yaml")), None, "")
        await wait_for(pilot, lambda: screen_name(app) == "RunScreen" and not app.screen.running)
        assert "no card image at" in str(app.screen.query_one("#run-current", Static).render())
        await pilot.press("escape")
        assert screen_name(app) == "StartScreen"
        assert not reports.exists()


async def test_a_card_image_given_on_the_command_line_is_the_target(tmp_path, reports):
    from simulator.image import dump_image
    from simulator.samples import sample_image

    image = tmp_path / "my-card.yaml"
    image.write_text(dump_image(sample_image("gen2")), encoding="utf-8")
    app = DeterministicApp(reports_dir=reports, image=str(image))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.target.kind == "image" and app.screen.query_one("#image-path").value == str(image)
        await run_to_results(pilot)
        result = app.screen.result
        assert result.card == "my-card"
        verdicts = {c.case_id: c.verdict.value for c in result.cases}
        assert verdicts["SSC.SEL.903"] == "PASS"  # gen2: no PKI application, the case applies
        assert verdicts["SSC.REC.901"] == "NOT_APPLICABLE"
        assert (reports / "sscard-my-card-20260102-030405.json").is_file()
