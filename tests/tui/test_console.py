"""The APDU console: hex in, decoded answer out, history, raw mode, trace export."""

from __future__ import annotations

from textual.widgets import Input, RichLog, Static

from conformance.reports import apdu4j
from tuikit import SIZE, DeterministicApp, screen_name, wait_for

SELECT_SSSE = "00A404000F7378312E73682EC9E7BBE1B1A3D5CF"


def _log(app) -> str:
    return "\n".join(line.text for line in app.screen.query_one("#console-log", RichLog).lines)


async def _console(pilot) -> None:
    await pilot.press("c")
    await wait_for(pilot, lambda: screen_name(pilot.app) == "ConsoleScreen" and pilot.app.screen.chain is not None)


async def _send(pilot, text: str, typed: bool = False) -> None:
    before = len(pilot.app.screen.query_one("#console-log", RichLog).lines)
    if typed:
        await pilot.press(*text)
    else:  # as if pasted: typing every key is slow and tested once below
        box = pilot.app.screen.query_one("#apdu", Input)
        box.insert_text_at_cursor(text)
    await pilot.press("enter")
    await wait_for(pilot, lambda: len(pilot.app.screen.query_one("#console-log", RichLog).lines) > before)


async def test_send_an_apdu_and_read_the_decoded_answer(reports):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await _console(pilot)
        assert "connected to emulated gen3   ATR 3B6D" in _log(app)
        await _send(pilot, SELECT_SSSE, typed=True)
        log = _log(app)
        assert f"» {SELECT_SSSE}  SELECT  by DF name SSSE, FCI wanted" in log
        assert "auto GET RESPONSE: 6118 -> 00C0000018" in log
        assert "« 6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B 9000 success" in log
        assert "88 (1) 0B" in log
        await _send(pilot, "00 B2 07 2C 00")  # spaces are fine; record 7 needs key 0A on gen3
        assert "« 6982 security status not satisfied" in _log(app)


async def test_raw_mode_history_and_bad_input(reports):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await _console(pilot)
        await pilot.press("ctrl+g")
        assert "mode raw" in str(app.screen.query_one("#console-state", Static).render())
        await _send(pilot, SELECT_SSSE)
        assert "« 6118 response bytes waiting (GET RESPONSE) (24 bytes)" in _log(app)
        await _send(pilot, "00C0000018")
        box = app.screen.query_one("#apdu", Input)
        await pilot.press("up")
        assert box.value == "00C0000018"
        await pilot.press("up")
        assert box.value == SELECT_SSSE
        await pilot.press("down", "down")
        assert box.value == ""
        await _send(pilot, "00A4 zz")
        assert "not sent: not hex: 'z'" in _log(app)
        assert box.value == "00A4 zz"  # kept, to be corrected
        await pilot.press("ctrl+u")
        await _send(pilot, "00A4")
        assert "not sent: a C-APDU has at least 4 bytes" in _log(app)


async def test_the_trace_is_exported_as_apdu4j(reports):
    app = DeterministicApp(reports_dir=reports)
    async with app.run_test(size=SIZE) as pilot:
        await _console(pilot)
        await _send(pilot, SELECT_SSSE)
        await _send(pilot, "00B2012C00")
        await pilot.press("ctrl+s")
        await pilot.pause()
        path = app.screen.exported
        assert path == reports / "console-gen3-20260102-030405.apdu4j.log"
        session = apdu4j.loads(path.read_text(), str(path))
        commands = [c.hex().upper() for c, _ in session.exchanges]
        assert commands == [SELECT_SSSE, "00C0000018", "00B2012C00"]
        assert session.exchanges[-1][1].hex().upper().endswith("9000")
        assert "console-gen3-20260102-030405.apdu4j.log" in _log(app).replace("\n", "")
