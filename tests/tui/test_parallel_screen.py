"""The parallel-run screen: one progress row per card, each card run by its own worker; a card
that cannot be opened fails in its own row while the others finish and write their reports."""

from __future__ import annotations

from textual.widgets import DataTable

from tuikit import SIZE, DeterministicApp, SlowTransport, screen_name, wait_for
from tui.screens.parallel import ParallelScreen
from tui.targets import ReaderScan, Target


def _row(app, index: int) -> list[str]:
    table = app.screen.query_one("#parallel-rows", DataTable)
    return [str(cell) for cell in table.get_row(str(index))]


async def test_each_card_has_its_row_and_a_missing_one_fails_alone(tmp_path):
    reports = tmp_path / "reports"
    app = DeterministicApp(reports_dir=reports)
    targets = [Target("builtin", "gen2"), Target("builtin", "gen3"), Target("image", str(tmp_path / "none.yaml"))]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = ParallelScreen(targets)
        app.push_screen(screen)
        await wait_for(pilot, lambda: screen.is_mounted and not screen.running)
        gen2, gen3, missing = (_row(app, i) for i in range(3))
        total = len(app.suite.cases)
        assert gen2[0] == "built-in gen2" and gen2[1] == f"{total}/{total}" and gen2[3].startswith("done: ")
        assert gen3[1] == f"{total}/{total}" and gen3[3].startswith("done: ")
        assert missing[1] == "–" and missing[3].startswith("✗ cannot open: no card image at")
        assert sorted(p.name for p in reports.glob("*.json")) == [
            "sscard-gen2-20260102-030405.json", "sscard-gen3-20260102-030405.json"]
        assert "2 of 3 cards ran" in str(app.screen.query_one("#parallel-status").render())
        await pilot.press("enter")  # the first row: gen2's results
        await wait_for(pilot, lambda: screen_name(app) == "ResultsScreen")
        assert app.last_result.card == "gen2"


class SlowerApp(DeterministicApp):
    """Cards slow enough (0.1 s an APDU) that both runs are still going when Esc comes."""

    def connect(self, target):
        connection = super().connect(target)
        connection.transport = SlowTransport(connection.transport, 0.1)
        return connection


async def test_escape_stops_every_run_after_its_current_case(tmp_path):
    app = SlowerApp(reports_dir=tmp_path / "reports")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = ParallelScreen([Target("builtin", "gen2"), Target("builtin", "gen3")])
        app.push_screen(screen)
        await wait_for(pilot, lambda: screen.is_mounted and all(row.done for row in screen.rows))
        assert all(row.done < row.total for row in screen.rows)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not screen.running)
        assert [row.status.split(",")[0] for row in screen.rows] == ["stopped", "stopped"]
        assert all(row.outcome.cancelled and row.outcome.report.exists() for row in screen.rows)
        await pilot.press("escape")  # all ended: Esc goes back
        await wait_for(pilot, lambda: screen_name(app) == "StartScreen")


async def test_p_on_the_start_screen_runs_every_reader_holding_a_card():
    one = ReaderScan((("Lab Reader A", True), ("Lab Reader B", False)), "")
    two = ReaderScan((("Lab Reader A", True), ("Lab Reader B", True)), "")
    scans = [one]
    app = DeterministicApp(reader_scan=lambda: scans[-1], poll_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: screen_name(app) == "StartScreen" and app.screen.scan == one)
        await pilot.press("p")
        await pilot.pause()
        assert screen_name(app) == "StartScreen"  # one card is not a parallel run
        scans.append(two)
        await wait_for(pilot, lambda: app.screen.scan == two)
        await pilot.press("p")
        await wait_for(pilot, lambda: screen_name(app) == "ParallelScreen")
        screen = app.screen
        assert [row.target for row in screen.rows] == [Target("pcsc", "Lab Reader A"), Target("pcsc", "Lab Reader B")]
        await wait_for(pilot, lambda: not screen.running)  # no such readers here: each row says so
        assert all(row.status.startswith("✗ cannot open") for row in screen.rows)
