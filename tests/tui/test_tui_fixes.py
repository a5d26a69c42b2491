"""Issue 14's TUI fixes, through the Textual pilot: keys typed into text boxes stay text (and
the run is reachable outside them, by ctrl+r and from the palette), a card image path is checked
when it is entered (file:line, Run off until it loads), a failed run says so and leaves the screen
usable, and titles are readable at 80×24."""

from __future__ import annotations

import re
from html import unescape

from rich.console import Console
from rich.text import Text
from textual.widgets import DataTable, Input, ProgressBar, Static

from simulator.image import dump_image
from simulator.samples import sample_image
from tui.targets import Connection
from tuikit import DeterministicApp, run_command, run_to_results, screen_name, wait_for

SMALL = (80, 24)


def _text(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def _screen_text(app) -> str:
    """What the terminal shows, as one string with whitespace runs collapsed (rows joined)."""
    svg = app.export_screenshot()
    rows: dict[float, list] = {}
    for m in re.finditer(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', svg):
        rows.setdefault(float(m.group(2)), []).append((float(m.group(1)), unescape(m.group(3)).replace("\xa0", " ")))
    return re.sub(r"\s+", " ", " ".join("".join(t for _, t in sorted(parts)) for _, parts in sorted(rows.items())))


# --- keys and text boxes ------------------------------------------------------------------

async def test_letters_typed_into_a_text_box_are_text_not_commands(reports):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        await pilot.press("slash", "r", "a", "i")  # the filter box: r, a and i are bound on the screen
        await pilot.pause()
        assert screen_name(app) == "StartScreen" and app.screen.query_one("#filter", Input).value == "rai"
        await pilot.press("escape", "i", "r", "t", "e")  # the image box: r, t and e too
        await pilot.pause()
        assert app.screen.query_one("#image-path", Input).value == "rte"
        assert screen_name(app) == "StartScreen" and not reports.exists()  # no run, no explorer, no terminal


async def test_the_results_filter_takes_its_letters(reports):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SMALL) as pilot:
        await run_to_results(pilot)
        results = app.screen
        await pilot.press("slash", "s", "v", "x")
        await pilot.pause()
        assert app.screen is results and results.query_one("#results-filter", Input).value == "svx"
        assert (results.sort_column, results.verdict_filter) == ("id", None)


async def test_the_app_keys_do_not_leave_a_dialog_s_text_box(reports):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        await pilot.press("o")
        await wait_for(pilot, lambda: screen_name(app) == "OpenReportScreen")
        await pilot.press("q", "o", "e", "c", "t", "r")  # quit, open, explorer, console, terminal, run
        await pilot.pause()
        assert app.is_running and screen_name(app) == "OpenReportScreen"
        assert app.screen.query_one("#report-path", Input).value == "qoectr"


async def test_run_outside_a_text_box_with_ctrl_r_and_from_the_palette(reports):
    app = DeterministicApp(reports_dir=reports, auto_results=False)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        await pilot.press("slash", "r", "escape")  # Esc leaves the box: r is the run key again
        assert not isinstance(app.focused, Input)
        await pilot.press("r")
        await wait_for(pilot, lambda: screen_name(app) == "RunScreen" and not app.screen.running)
        await pilot.press("escape", "slash", "ctrl+r")  # ctrl+r runs from inside the box
        await wait_for(pilot, lambda: screen_name(app) == "RunScreen" and not app.screen.running)
        await pilot.press("escape", "slash")
        assert isinstance(app.focused, Input)
        await run_command(pilot, "run the suite", "Run the suite")
        await wait_for(pilot, lambda: screen_name(app) == "RunScreen" and not app.screen.running)
        assert len(list(reports.glob("*.json"))) == 1  # the three runs share the fixed clock's name


# --- the image path -------------------------------------------------------------------------

async def test_a_bad_image_is_refused_where_it_is_typed_until_fixed(tmp_path, reports):
    image = tmp_path / "card.yaml"
    image.write_text("profile: gen2\nkeys:\n  SSSE: [1, 2\n", encoding="utf-8")
    app = DeterministicApp(reports_dir=reports, auto_results=False)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        await pilot.press("i", *str(image), "enter")
        await pilot.pause()
        start = app.screen
        info = _text(app, "#target-info")
        assert f"{image}:4: YAML syntax" in info and "Run is off" in info
        assert app.focused is start.query_one("#image-path", Input)  # stays in the box to be fixed
        assert start.check_action("run", ()) is None  # greyed in the footer
        await pilot.press("ctrl+r")
        await run_command(pilot, "run the suite", "Run the suite")
        await pilot.pause()
        assert screen_name(app) == "StartScreen" and not reports.exists()
        assert any("YAML syntax" in n.message for n in app._notifications)
        image.write_text(dump_image(sample_image("gen2")), encoding="utf-8")
        await pilot.press("enter")  # checked again
        await pilot.pause()
        assert "Run is off" not in _text(app, "#target-info") and start.check_action("run", ()) is True
        await pilot.press("r")
        await wait_for(pilot, lambda: screen_name(app) == "RunScreen" and not app.screen.running)
        assert app.screen.outcome is not None and app.screen.outcome.result.card == "card"


async def test_a_missing_image_and_a_bad_description_of_a_reader_card(tmp_path, reports):
    from tuikit import TWO_READERS

    app = DeterministicApp(reports_dir=reports, reader_scan=lambda: TWO_READERS)
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one("#targets").option_count == 6)
        missing = tmp_path / "nowhere.yaml"
        await pilot.press("i", *str(missing), "enter")
        await pilot.pause()
        assert f"no card image at {missing}" in _text(app, "#target-info")
        assert app.screen.check_action("run", ()) is None
        # A physical card described by an image that does not load: Run is off too.
        bad = tmp_path / "described.yaml"
        bad.write_text("profile: gen9\n", encoding="utf-8")
        from tui.targets import Target

        app.choose_target(Target("pcsc", "Virtual PCD 00 00"))
        await pilot.press("i", "ctrl+u", *str(bad), "enter")
        await pilot.pause()
        assert app.target.kind == "pcsc" and f"{bad}:1: profile must be one of" in _text(app, "#target-info")
        assert app.screen.check_action("run", ()) is None


# --- a run that fails ------------------------------------------------------------------------

class UnreachableApp(DeterministicApp):
    """The reader vanishes as it is opened, with an error that is not a TargetError."""

    def connect(self, target):
        raise OSError("the reader went away (SCARD_E_READER_UNAVAILABLE)")


class BrokenRunnerApp(DeterministicApp):
    """A connection without a card description: the runner itself crashes."""

    def connect(self, target):
        connection = super().connect(target)
        return Connection(connection.target, connection.transport, None)


class BadCloseApp(DeterministicApp):
    """The run finishes, then closing the reader raises: the worker dies outside its own catch."""

    def connect(self, target):
        connection = super().connect(target)

        class _Closing(Connection):
            def close(self):
                raise RuntimeError("driver fault on disconnect")

        return _Closing(connection.target, connection.transport, connection.card)


async def _failed_run(app, pilot) -> None:
    await pilot.pause()
    await pilot.press("r")
    await wait_for(pilot, lambda: screen_name(app) == "RunScreen" and not app.screen.running)


async def test_an_unreachable_reader_ends_the_run_with_its_message(reports):
    app = UnreachableApp(reports_dir=reports)
    async with app.run_test(size=SMALL) as pilot:
        await _failed_run(app, pilot)
        screen = app.screen
        assert "Run failed" in str(screen.query_one("#run-title").render())
        assert "Running" not in _screen_text(app)
        assert "SCARD_E_READER_UNAVAILABLE" in _text(app, "#run-current")
        assert screen.query_one("#run-progress", ProgressBar).total is not None  # the bar stopped
        assert any("SCARD_E_READER_UNAVAILABLE" in n.message for n in app._notifications)
        await pilot.press("escape")
        assert screen_name(app) == "StartScreen"
        assert not reports.exists()


async def test_a_crash_in_the_runner_ends_the_run_with_its_message(reports):
    app = BrokenRunnerApp(reports_dir=reports)
    async with app.run_test(size=SMALL) as pilot:
        await _failed_run(app, pilot)
        assert "Run failed" in str(app.screen.query_one("#run-title").render())
        assert "the run failed: AttributeError" in _text(app, "#run-current")
        await pilot.press("escape")
        assert screen_name(app) == "StartScreen"


async def test_an_error_outside_the_workers_catch_still_ends_the_run(reports):
    app = BadCloseApp(reports_dir=reports)
    async with app.run_test(size=SMALL) as pilot:
        await _failed_run(app, pilot)
        assert screen_name(app) == "RunScreen"
        assert "RuntimeError: driver fault on disconnect" in _text(app, "#run-current")
        await pilot.press("escape")
        assert screen_name(app) == "StartScreen"


# --- titles at 80×24 -------------------------------------------------------------------------

def _wrapped_lines(title: str, width: int) -> int:
    return len(Text(title).wrap(Console(width=200), width))


def _assert_titles_wrap_in_view(table: DataTable, titles: dict[str, str]) -> None:
    column = next(c for c in table.columns.values() if str(c.key.value) == "title")
    assert table.max_scroll_x == 0, "the table is wider than the terminal: titles are cut"
    width = column.width
    assert width >= 30
    for key, title in titles.items():
        assert table.rows[key].height == _wrapped_lines(title, width), (key, title)
    assert any(table.rows[key].height > 1 for key in titles), "a long title wraps at 80 columns"


async def test_run_screen_titles_are_readable_at_80x24(reports):
    app = DeterministicApp(reports_dir=reports, auto_results=False)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("r")
        await wait_for(pilot, lambda: screen_name(app) == "RunScreen" and not app.screen.running)
        await pilot.pause()
        table = app.screen.query_one("#run-cases", DataTable)
        _assert_titles_wrap_in_view(table, {c.case_id: c.title for c in app.screen.finished_cases})
        table.move_cursor(row=0)
        table.scroll_home(animate=False)
        await pilot.pause()
        first = app.screen.finished_cases[0]
        assert first.title in _screen_text(app)


async def test_results_screen_titles_are_readable_at_80x24(reports):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SMALL) as pilot:
        await run_to_results(pilot)
        await pilot.pause()
        screen = app.screen
        assert screen.has_class("narrow")  # the areas under the cases
        table = screen.query_one("#cases", DataTable)
        _assert_titles_wrap_in_view(table, {c.case_id: c.title for c in screen.result.cases})
        narrow_lines = sum(table.rows[c.case_id].height for c in screen.result.cases)
        assert screen.result.cases[0].title in _screen_text(app)
        assert screen.query_one("#areas", DataTable).size.width >= 70
        await pilot.resize_terminal(160, 48)  # wide again: the areas beside, one line per title
        await pilot.pause()
        assert not screen.has_class("narrow")
        _assert_titles_wrap_in_view(table, {c.case_id: c.title for c in screen.result.cases})
        assert sum(table.rows[c.case_id].height for c in screen.result.cases) < narrow_lines


async def test_case_screen_title_is_readable_at_80x24(reports):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SMALL) as pilot:
        await run_to_results(pilot)
        longest = max(app.screen.result.cases, key=lambda c: len(c.title))
        assert len(longest.title) > 60
        app.screen.open_case(longest.case_id)
        await wait_for(pilot, lambda: screen_name(app) == "CaseScreen")
        shown = _screen_text(app)
        assert longest.case_id in shown and all(word in shown for word in longest.title.split())
        heading = app.screen.query_one("#case-heading", Static)
        assert heading.size.width <= 80 and heading.size.height >= 5
