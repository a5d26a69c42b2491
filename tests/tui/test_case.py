"""The case screen: decoded APDUs, the status word's meaning, expected beside actual with the
differing bytes marked, TLV data, captures and computed values, the exchanges on the wire."""

from __future__ import annotations

from io import StringIO

from rich.console import Console
from textual.widgets import Static

from tui import decode
from tuikit import SIZE, DeterministicApp, run_to_results, screen_name


def plain(renderable) -> str:
    console = Console(file=StringIO(), width=150, color_system=None, record=True)
    console.print(renderable)
    return console.export_text()


async def _open(pilot, case_id: str) -> None:
    app = pilot.app
    await pilot.press("slash", *case_id, "enter", "enter")
    await pilot.pause()
    assert screen_name(app) == "CaseScreen" and app.screen.case.case_id == case_id


def _panels(app) -> list[Static]:
    return list(app.screen.query(".step").results(Static))


async def test_the_failing_case_shows_its_diff(reports):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await run_to_results(pilot)
        await _open(pilot, "SSC.SEL.904")
        heading = plain(app.screen.query_one("#case-heading", Static).content)
        assert "FAIL" in heading and "SELECT DF01 by AID: data differs" in heading
        assert "vectors/select.yaml:" in heading
        panels = _panels(app)
        assert [p.border_title for p in panels] == ["precondition 1: reset", "step 1: SELECT DF01 by AID"]
        assert [p.border_subtitle for p in panels] == ["PASS", "FAIL"]
        assert "verdict-FAIL" in panels[1].classes
        text = plain(panels[1].content)
        assert "00A4040006D15600000500  SELECT  by DF name DF01, FCI wanted" in text
        assert "6F088406D15600000500 9000 success" in text
        assert "expected    6F 08 84 06 D1 56 00 00 05 07" in text
        assert "actual      6F 08 84 06 D1 56 00 00 05 00" in text
        assert "1 byte(s) differ at 9" in text
        assert "84 (6) D15600000500" in text  # the answer decoded as TLV


def test_diff_marks_exactly_the_differing_bytes():
    expected, actual, positions = decode.diff(bytes.fromhex("6F0884"), bytes.fromhex("6F0985AA"))
    assert positions == [1, 2, 3]
    assert expected.plain == "6F 08 84 --" and actual.plain == "6F 09 85 AA"
    marked = [actual.plain[s.start:s.end] for s in actual.spans if "red" in str(s.style)]
    assert marked == ["09", "85", "AA"]
    assert [expected.plain[s.start:s.end] for s in expected.spans] == ["08", "84", "--"]


async def test_captures_and_computed_values_are_shown(reports):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await run_to_results(pilot)
        await _open(pilot, "SSC.REC.903")
        steps = app.screen.case.steps
        challenge = steps[-2].data
        assert len(challenge) == 8
        panels = _panels(app)
        get_challenge, ext_auth = plain(panels[-2].content), plain(panels[-1].content)
        assert f"challenge = data → {challenge.hex().upper()}" in get_challenge
        assert "GET CHALLENGE  challenge of 8 bytes" in get_challenge
        assert 'from 0082000A10 ${ext_auth("0A", challenge)}' in ext_auth
        cryptogram = steps[-1].command[5:]
        assert f"ext_auth('0A', challenge) = {cryptogram.hex().upper()}" in ext_auth
        assert cryptogram[8:] == challenge  # C ‖ D with D = the challenge (sm4-session)
        assert "EXTERNAL AUTHENTICATE  key 0A, 16 bytes of data" in ext_auth
        # the SELECT precondition: T=0 answer 61xx, auto GET RESPONSE, all on the wire
        select = plain(panels[1].content)
        assert "auto GET RESPONSE: 6118 -> 00C0000018" in select
        assert "6118 response bytes waiting" in select


async def test_masked_expectation_and_n_p_walk_the_cases(reports):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await run_to_results(pilot)
        await _open(pilot, "SSC.REC.902")
        text = plain(_panels(app)[-1].content)
        assert "expected    01 10 ·· ·· ·· D1 56 00 00 05 ··" in text
        assert "·· = any value (masked)" in text
        results = app.screen_stack[-2]
        await pilot.press("escape", "slash", "ctrl+u", "enter")  # back, clear the filter
        await pilot.pause()
        await pilot.press("enter")  # the cursor stayed on the case just seen
        assert app.screen.case.case_id == "SSC.REC.902"
        await pilot.press("n")
        assert app.screen.case.case_id == "SSC.REC.903"
        await pilot.press("p", "p", "p")
        assert app.screen.case.case_id == "SSC.SEL.904"  # wraps around
        assert "case 8 of 8" in plain(app.screen.query_one("#case-heading", Static).content)
        await pilot.press("escape")
        assert app.screen is results


async def test_a_case_not_run_says_why(reports):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await run_to_results(pilot)
        await _open(pilot, "SSC.SEL.903")
        assert "no steps were run: needs a generation before 3; this card is generation 3" in plain(_panels(app)[0].content)
