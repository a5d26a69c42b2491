"""SVG snapshots of every screen at 160×48 (pytest-textual-snapshot). Deterministic: fixed clocks,
a seeded card random, fixed case durations, a fixed PC/SC scan, no clock in view. Update with
`pytest tests/tui --snapshot-update` after a deliberate change, and look at the SVGs.

The results, case-diff and terminal snapshots also write docs/img/results.svg, case-diff.svg and
terminal.svg (the README's pictures), so those stay current with the screens.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Tree

from tuikit import SIZE, TWO_READERS, DeterministicApp, run_to_results, screen_name, wait_for

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Run in an empty folder: reports land in ./reports and paths on screen are the same everywhere."""
    monkeypatch.chdir(tmp_path)


def _still(app) -> None:
    for box in app.screen.query(Input):
        box.cursor_blink = False


def _save_doc(app, name: str) -> None:
    """Write docs/img/<name> only when the picture changed (no churn in the work tree)."""
    svg = app.export_screenshot(title="sscard")
    target = DOCS_IMG / name
    if not target.exists() or target.read_text(encoding="utf-8") != svg:
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        target.write_text(svg, encoding="utf-8")


def test_start_screen(snap_compare):
    app = DeterministicApp(reader_scan=lambda: TWO_READERS)

    async def ready(pilot):
        await wait_for(pilot, lambda: pilot.app.screen.query_one("#targets").option_count == 6)
        tree = pilot.app.screen.query_one("#vector-tree", Tree)
        tree.root.children[1].expand()  # SEL open, REC folded
        _still(pilot.app)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_run_screen_finished(snap_compare):
    app = DeterministicApp(auto_results=False)

    async def run(pilot):
        await pilot.press("r")
        await wait_for(pilot, lambda: screen_name(pilot.app) == "RunScreen" and not pilot.app.screen.running)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_results_screen(snap_compare):
    app = DeterministicApp()

    async def results(pilot):
        await run_to_results(pilot)
        _still(pilot.app)
        _save_doc(pilot.app, "results.svg")

    assert snap_compare(app, terminal_size=SIZE, run_before=results)


def test_results_filtered_by_verdict_sorted(snap_compare):
    app = DeterministicApp()

    async def results(pilot):
        await run_to_results(pilot)
        await pilot.press("s", "v", "v", "v")  # sort by verdict; INCONCLUSIVE only
        _still(pilot.app)

    assert snap_compare(app, terminal_size=SIZE, run_before=results)


def test_case_diff_screen(snap_compare):
    app = DeterministicApp()

    async def case(pilot):
        await run_to_results(pilot)
        await pilot.press("v", "enter")  # the failing case
        await wait_for(pilot, lambda: screen_name(pilot.app) == "CaseScreen")
        _save_doc(pilot.app, "case-diff.svg")

    assert snap_compare(app, terminal_size=SIZE, run_before=case)


def test_case_with_capture_and_computed_value(snap_compare):
    app = DeterministicApp()

    async def case(pilot):
        await run_to_results(pilot)
        await pilot.press("down", "down", "enter")  # SSC.REC.903
        await wait_for(pilot, lambda: screen_name(pilot.app) == "CaseScreen")

    assert snap_compare(app, terminal_size=SIZE, run_before=case)


def test_explorer_screen(snap_compare):
    app = DeterministicApp()

    async def explore(pilot):
        await pilot.press("e")
        await wait_for(pilot, lambda: screen_name(pilot.app) == "ExplorerScreen" and pilot.app.screen.root is not None)
        await pilot.press("down", "down", "down")  # SSSE/EF06
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=explore)


def test_console_screen(snap_compare):
    app = DeterministicApp()

    async def console(pilot):
        await pilot.press("c")
        await wait_for(pilot, lambda: screen_name(pilot.app) == "ConsoleScreen" and pilot.app.screen.chain is not None)
        _still(pilot.app)
        for apdu in ("00A404000F7378312E73682EC9E7BBE1B1A3D5CF", "00B2022C00", "00B2092C00"):
            before = pilot.app.screen.sent
            await pilot.press(*apdu, "enter")
            await wait_for(pilot, lambda: pilot.app.screen.sent > before)

    assert snap_compare(app, terminal_size=SIZE, run_before=console)


def test_open_report_dialog(snap_compare):
    app = DeterministicApp()

    async def dialog(pilot):
        await run_to_results(pilot)
        await pilot.press("escape", "o")
        await wait_for(pilot, lambda: screen_name(pilot.app) == "OpenReportScreen")
        _still(pilot.app)

    assert snap_compare(app, terminal_size=SIZE, run_before=dialog)


def test_terminal_screen(snap_compare):
    app = DeterministicApp()

    async def read_basic(pilot):
        await pilot.press("t")
        await wait_for(pilot, lambda: screen_name(pilot.app) == "TerminalScreen" and pilot.app.screen.is_mounted)
        await wait_for(pilot, lambda: pilot.app.screen.scan.status == "no PC/SC service")
        await pilot.press("r")  # iReadCardBas on the built-in gen3 card with the built-in PSAM
        await wait_for(pilot, lambda: pilot.app.screen.runs == 1)
        _still(pilot.app)
        await pilot.wait_for_scheduled_animations()
        _save_doc(pilot.app, "terminal.svg")

    assert snap_compare(app, terminal_size=SIZE, run_before=read_basic)


def test_results_screen_80x24(snap_compare):
    """The smallest usual terminal: titles wrap in the width left, the areas go under the cases."""
    app = DeterministicApp()

    async def results(pilot):
        await run_to_results(pilot)
        _still(pilot.app)

    assert snap_compare(app, terminal_size=(80, 24), run_before=results)


def test_start_screen_with_an_image_that_does_not_load(snap_compare, tmp_path):
    """The image path is checked on Enter: the file:line error under the box, Run greyed."""
    (tmp_path / "card.yaml").write_text("profile: gen2\nkeys:\n  SSSE: [1, 2\n", encoding="utf-8")
    app = DeterministicApp()

    async def typed(pilot):
        await pilot.press("i", *"card.yaml", "enter")
        await wait_for(pilot, lambda: "YAML syntax" in str(pilot.app.screen.query_one("#target-info").render()))
        _still(pilot.app)

    assert snap_compare(app, terminal_size=(80, 24), run_before=typed)
