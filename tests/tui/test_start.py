"""The start screen: targets (built-in cards, image, live PC/SC readers) and the vector tree."""

from __future__ import annotations

from textual.widgets import Input, OptionList, Static, Tree
from textual.widgets.option_list import OptionDoesNotExist

from tuikit import NO_PCSC, SIZE, TWO_READERS, DeterministicApp, screen_name, wait_for
from tui.targets import ReaderScan, Target


def _text(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def _pcsc_line(app) -> str:
    """The start screen's PC/SC status line ("" until the screen is up or while readers are listed)."""
    if screen_name(app) != "StartScreen":
        return ""
    options = app.screen.query_one("#targets", OptionList)
    try:
        return str(options.get_option("pcsc-none").prompt)
    except OptionDoesNotExist:
        return ""


async def test_built_in_gen3_is_the_default_target():
    app = DeterministicApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert screen_name(app) == "StartScreen"
        assert app.target == Target("builtin", "gen3")
        options = app.screen.query_one("#targets", OptionList)
        assert options.get_option_at_index(options.highlighted).id == "builtin:gen3"
        assert "built-in gen3" in _text(app, "#target-info")


async def test_arrow_keys_choose_another_built_in_card():
    app = DeterministicApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("up")
        assert app.target == Target("builtin", "gen2")
        await pilot.press("up")
        assert app.target == Target("builtin", "gen1")
        assert "built-in gen1" in _text(app, "#target-info")


async def test_clicking_a_target_chooses_it():
    app = DeterministicApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        options = app.screen.query_one("#targets", OptionList)
        await pilot.click(options, offset=(3, 0))  # first line: built-in gen1
        await pilot.pause()
        assert app.target == Target("builtin", "gen1")


async def test_readers_found_live_are_listed_and_chosen():
    scans = [NO_PCSC]
    app = DeterministicApp(reader_scan=lambda: scans[-1], poll_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "no PC/SC service" in _pcsc_line(app))  # the first scan is shown
        options = app.screen.query_one("#targets", OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert "pcsc-none" in ids and not any(i.startswith("pcsc:") for i in ids)
        scans.append(TWO_READERS)  # a reader plugged in: the next poll shows it
        await wait_for(pilot, lambda: options.option_count == 6)
        assert options.get_option("pcsc:Virtual PCD 00 00") is not None
        assert "card present" in str(options.get_option("pcsc:Virtual PCD 00 00").prompt)
        assert app.target == Target("builtin", "gen3")  # the choice survives the refill
        await pilot.press("down", "down")  # gen3 -> image -> first reader (the separator is skipped)
        assert app.target == Target("pcsc", "Virtual PCD 00 00")
        assert "described by the built-in gen3 sample" in _text(app, "#target-info")
        scans.append(ReaderScan((), "no readers"))  # unplugged: the list falls back calmly
        await wait_for(pilot, lambda: options.option_count == 5)
        assert app.target == Target("builtin", "gen3")


async def test_a_failing_scan_is_shown_not_raised():
    def broken():
        raise RuntimeError("reader driver crashed")

    app = DeterministicApp(reader_scan=broken, poll_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "reader driver crashed" in _pcsc_line(app))
        assert "PC/SC error" in _pcsc_line(app)  # said as a scan problem, not raised
        assert screen_name(app) == "StartScreen" and app.is_running


async def test_image_path_makes_the_image_the_target(tmp_path):
    app = DeterministicApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        assert isinstance(app.focused, Input) and app.focused.id == "image-path"
        await pilot.press(*"card.yaml", "enter")
        assert app.target == Target("image", "card.yaml")
        options = app.screen.query_one("#targets", OptionList)
        assert options.get_option_at_index(options.highlighted).id == "image"


async def test_the_tree_groups_cases_by_area_with_counts(fixture_suite):
    app = DeterministicApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        tree = app.screen.query_one("#vector-tree", Tree)
        areas = [str(node.label) for node in tree.root.children]
        assert areas[0].startswith("☑ REC  4/4") and areas[1].startswith("☑ SEL  4/4")
        assert sum(len(node.children) for node in tree.root.children) == len(fixture_suite.cases) == 8
        assert "8 of 8 cases selected" in _text(app, "#selection-info")


async def test_the_filter_is_a_k_expression():
    app = DeterministicApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"SEL and not PKI")
        screen = app.screen
        assert screen.chosen_ids() == ["SSC.SEL.901", "SSC.SEL.902", "SSC.SEL.904"]
        assert "3 of 8 cases selected" in _text(app, "#selection-info")
        tree = screen.query_one("#vector-tree", Tree)
        assert [str(n.label).split()[1] for n in tree.root.children] == ["SEL"]
        await pilot.press("end", " ", "a", "n", "d")  # an expression cut short
        assert "ends too early" in _text(app, "#selection-info")


async def test_space_unchecks_cases_and_areas():
    app = DeterministicApp()
    async with app.run_test(size=SIZE) as pilot:
        tree = app.screen.query_one("#vector-tree", Tree)
        tree.focus()
        await pilot.pause()
        tree.cursor_line = 0  # the REC area
        await pilot.press("space")
        assert app.screen.chosen_ids() == ["SSC.SEL.901", "SSC.SEL.902", "SSC.SEL.903", "SSC.SEL.904"]
        assert str(tree.root.children[0].label).startswith("☐ REC  0/4")
        await pilot.press("enter")  # open the area, then uncheck one case again... and check it
        await pilot.press("down", "space")
        assert "SSC.REC.901" in app.screen.chosen_ids()
        assert str(tree.root.children[0].label).startswith("◪ REC  1/4")
        await pilot.press("a")  # some unchecked: a checks every visible case
        assert len(app.screen.chosen_ids()) == 8


async def test_no_case_selected_does_not_run():
    app = DeterministicApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")  # all off
        assert app.screen.chosen_ids() == []
        await pilot.press("r")
        await pilot.pause()
        assert screen_name(app) == "StartScreen"
