"""The terminal screen: LD/T 33 functions on a chosen card and PSAM, the result string, the decoded
fields and the trace of both slots. Expected strings come from the spec's §5 table."""

from __future__ import annotations

import re
from pathlib import Path

from textual.widgets import DataTable, Input, OptionList, Static

from simulator import Card
from simulator.image import save_image
from tuikit import SIZE, DeterministicApp, screen_name, wait_for

SPEC = Path(__file__).resolve().parents[2] / "docs" / "spec" / "ssc-terminal.md"


def sample_output(card: str, psam: str) -> str:
    """The `iReadCardBas` output of the §5 table row (card, PSAM column starting with `psam`)."""
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 4 and cells[0] == card and cells[1].startswith(psam):
            return cells[2].strip("`").replace("\\|", "|")
    raise AssertionError(f"no §5 row for {card}/{psam} in {SPEC}")


def sample_read() -> tuple[str, str, str]:
    """(pCardInfo, pFileAddr, output) of the §5 iReadCard example."""
    text = SPEC.read_text(encoding="utf-8")
    found = re.search(r'`iReadCard\(1, 0, "([^"]+)", "([^"]+)"\)`\s+on the gen2 sample returns `([^`]+)`', text)
    assert found, "the §5 iReadCard example moved"
    return found.groups()


async def open_terminal(pilot, card: str | None = None, psam: str | None = None) -> None:
    """Press t, then pick the card and the PSAM (option ids such as builtin:gen2, none:)."""
    await pilot.press("t")
    await wait_for(pilot, lambda: screen_name(pilot.app) == "TerminalScreen" and pilot.app.screen.is_mounted)
    if card:
        await choose(pilot, "#term-cards", card)
    if psam:
        await choose(pilot, "#term-psams", psam)


async def choose(pilot, list_id: str, option_id: str) -> None:
    """Move the highlight of an option list to `option_id` with the arrow keys, as a user would."""
    options = pilot.app.screen.query_one(list_id, OptionList)
    options.focus()
    wanted = options.get_option_index(option_id)
    while options.highlighted != wanted:
        await pilot.press("down" if (options.highlighted or 0) < wanted else "up")
    await pilot.pause()


async def run(pilot, function: str | None = None) -> None:
    screen = pilot.app.screen
    if function:
        await choose(pilot, "#term-functions", function)
    before = screen.runs
    await pilot.press("r")
    await wait_for(pilot, lambda: screen.runs > before)


def result(app) -> str:
    return str(app.screen.query_one("#term-result", Static).render())


def trace_rows(app) -> list[dict[str, str]]:
    table = app.screen.query_one("#term-trace", DataTable)
    return [{str(c.key.value): str(table.get_cell(row, c.key)) for c in table.columns.values()} for row in table.rows]


def field_values(app) -> dict[str, str]:
    table = app.screen.query_one("#term-fields", DataTable)
    return {str(table.get_cell(row, "item")): str(table.get_cell(row, "value")) for row in table.rows}


def set_input(app, pid: str, value: str) -> None:
    app.screen.query_one(f"#term-{pid}", Input).value = value


async def test_read_basic_gen2_with_the_builtin_psam_gives_the_sample_string():
    app = DeterministicApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_terminal(pilot, "builtin:gen2")
        await run(pilot, "read-basic")
        expected = sample_output("gen2", "yes")
        assert app.screen.outcome.code == 0
        assert app.screen.outcome.text == expected
        assert expected in result(app) and "iReadCardBas → 0" in result(app)
        fields = field_values(app)
        assert len(fields) == 11
        assert fields["姓名 name"] == "张三"
        assert fields["终端机编号 terminal number (PSAM)"] == "440300000001"
        assert "|".join(fields.values()) + "|" == expected  # the table is the string, field by field


async def test_read_basic_gen3_without_psam_gives_the_partial_string_and_require_psam_fails():
    app = DeterministicApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_terminal(pilot, "builtin:gen3", "none:")
        await run(pilot, "read-basic")
        assert app.screen.outcome.text == sample_output("gen3", "no (PD-T12)")
        assert field_values(app)["姓名 name"] == ""
        assert {row["slot"] for row in trace_rows(app)} == {"card"}
        app.screen.query_one("#term-require-psam").value = True
        await run(pilot)
        assert app.screen.outcome.code == -2201
        assert "iReadCardBas → -2201" in result(app) and sample_output("gen3", "no, `require_psam") in result(app)


async def test_a_psam_without_rkssse_on_gen3_shows_the_code_and_its_message():
    app = DeterministicApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_terminal(pilot, "builtin:gen3", "builtin:no-rk")
        await run(pilot, "read-basic")
        assert app.screen.outcome.code == -2203
        assert "iReadCardBas → -2203" in result(app)
        assert "PSAM卡内没有RKSSSE密钥" in result(app)
        assert "SW 6A88 " in result(app) and "6A88 6A88" not in result(app)  # the PSAM's refusal, once
        assert field_values(app) == {}  # nothing decoded from a failed call


async def test_the_trace_shows_both_slots_in_order():
    app = DeterministicApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_terminal(pilot, "builtin:gen3")
        await run(pilot, "read-basic")
        assert app.screen.outcome.text == sample_output("gen3", "yes")
        rows = trace_rows(app)
        slots = [row["slot"] for row in rows]
        assert slots[0] == "card" and "psam" in slots
        terminal_no = next(r for r in rows if r["slot"] == "psam" and r["command"] == "00B0960006")
        assert terminal_no["response"] == "440300000001" and terminal_no["SW"].startswith("9000")
        diversify = [r for r in rows if r["slot"] == "psam" and r["command"].startswith("BFDE48")]
        assert [r["command"][6:8] for r in diversify] == ["10", "11"]  # IRK check, then RKSSSE
        assert all(r["name"] and not r["name"].startswith("CLA") for r in diversify)
        external = next(i for i, r in enumerate(rows) if r["command"].startswith("0082000A"))
        assert rows[external]["slot"] == "card" and rows[external]["SW"].startswith("9000")
        assert slots.index("psam") < external  # the PSAM computed before the card checked
        status = str(app.screen.query_one("#term-status", Static).render())
        sent = {slot: sum(1 for r in rows if r["slot"] == slot and r["command"] != "reset") for slot in ("card", "psam")}
        assert f"card APDUs {sent['card']}   PSAM APDUs {sent['psam']}" in status
        table = app.screen.query_one("#term-trace", DataTable)
        table.move_cursor(row=external)
        await pilot.pause()
        shown = str(app.screen.query_one("#term-exchange", Static).render())
        assert rows[external]["command"] in shown and "< 9000" in shown  # the whole exchange, uncropped


async def test_read_items_and_write_them_back_changed():
    app = DeterministicApp()
    card_info, file_addr, output = sample_read()
    async with app.run_test(size=SIZE) as pilot:
        await open_terminal(pilot, "builtin:gen2")
        await choose(pilot, "#term-functions", "read")
        assert app.screen.query_one("#term-card-info", Input).value == card_info  # the sample's own
        set_input(app, "auth", "0")
        set_input(app, "file-addr", file_addr)
        await run(pilot)
        assert app.screen.outcome.text == output
        assert field_values(app)["姓名 name"] == "张三"
        assert app.screen.query_one("#term-write-data", Input).value == output  # ready to edit and write
        set_input(app, "write-data", output.replace("张三", "李四").replace("20380601", "20390601"))
        await run(pilot, "write")
        assert app.screen.outcome.code == 0, result(app)
        assert any(r["command"].startswith("00820004") and r["SW"].startswith("9000") for r in trace_rows(app))
        await run(pilot, "read")
        assert app.screen.outcome.text == output.replace("张三", "李四").replace("20380601", "20390601")


async def test_pin_functions_wrong_pin_and_the_pin_pad(tmp_path):
    image = tmp_path / "card.yaml"
    save_image(image, Card.builtin("gen2").export_image())
    before = image.read_bytes()
    app = DeterministicApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_terminal(pilot, "image:")
        app.screen.query_one("#term-card-image", Input).focus()
        app.screen.query_one("#term-card-image", Input).value = str(image)
        await pilot.press("enter")
        assert app.screen.card.name == str(image)
        await choose(pilot, "#term-functions", "verify-pin")
        set_input(app, "pin", "000000")
        await run(pilot)
        assert app.screen.outcome.code == -51
        assert "iVerifyPIN → -51" in result(app)
        set_input(app, "pin", "")  # empty: the PIN pad asks
        before_runs = app.screen.runs
        await pilot.press("r")
        await wait_for(pilot, lambda: screen_name(app) == "PinPadScreen")
        await pilot.press(*"123456", "enter")
        await wait_for(pilot, lambda: screen_name(app) == "TerminalScreen" and app.screen.runs > before_runs)
        assert app.screen.outcome.code == 0, result(app)
        verify = [r for r in trace_rows(app) if r["command"].startswith("00200000")]
        assert verify and verify[-1]["SW"].startswith("9000")
        before_runs = app.screen.runs
        await pilot.press("r")
        await wait_for(pilot, lambda: screen_name(app) == "PinPadScreen")
        await pilot.press("escape")  # cancelled on the PIN pad: 用户取消密码输入, nothing sent
        await wait_for(pilot, lambda: screen_name(app) == "TerminalScreen" and app.screen.runs > before_runs)
        assert app.screen.outcome.code == -31
        assert not any(r["command"].startswith("0020") for r in trace_rows(app))
        set_input(app, "pin", "123456")
        set_input(app, "new-pin", "246810")
        await run(pilot, "change-pin")
        assert app.screen.outcome.code == 0, result(app)
        set_input(app, "pin", "123456")  # the old PIN no longer works on this (still open) card
        await run(pilot, "verify-pin")
        assert app.screen.outcome.code == -51
        set_input(app, "card-info", "")  # empty: read from the card first, as the CLI does
        set_input(app, "new-pin", "123456")
        await run(pilot, "reload-pin")
        assert app.screen.outcome.code == 0, result(app)
        ef05 = Card.builtin("gen2").export_image()["data"]["SSSE/EF05"]
        assert app.screen.query_one("#term-card-info", Input).value == f"{ef05['01']}|{ef05['07']}|"
        assert any(r["command"].startswith("805E0000") and r["SW"].startswith("9000") for r in trace_rows(app))
        await run(pilot, "verify-pin")
        assert app.screen.outcome.code == 0, result(app)
    assert image.read_bytes() == before  # the image file is never rewritten


async def test_card_text_and_bad_input_are_shown_as_text(tmp_path):
    image = tmp_path / "odd.yaml"
    data = Card.builtin("gen2").export_image()
    data["data"]["SSSE/EF06"]["09"] = "[bold]x[/bold]\x1b[2J"  # markup and an ESC sequence on the card
    save_image(image, data)
    app = DeterministicApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_terminal(pilot, "image:")
        box = app.screen.query_one("#term-card-image", Input)
        box.value = str(image)
        box.focus()
        await pilot.press("enter")
        await run(pilot, "read-basic")
        assert app.screen.outcome.code == 0, result(app)
        assert field_values(app)["姓名 name"] == "[bold]x[/bold]\\x1b[2J"  # shown, not obeyed
        assert "[bold]x[/bold]\\x1b[2J" in result(app)
        set_input(app, "file-addr", "SSSEEF05|03|$SSSEEFZZ|01|$")
        await run(pilot, "read")
        assert app.screen.outcome.code == -14
        assert "命令参数错" in result(app) and "SSSEEFZZ" in result(app)  # the detail names what is wrong
        box.value = str(tmp_path / "missing.yaml")
        box.focus()
        await pilot.press("enter")
        await run(pilot, "read-basic")
        assert app.screen.outcome.code == -11 and "no card image at" in result(app)
