"""The regional example card (vectors/cards/regional-df03.yaml, EFs declared by `layout:`, spec §9.1):
`sscard card show`, `sscard card read`, the TUI explorer's reading and the conformance suite see
its declared EFs like built-in ones, and the suite passes on it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.card_under_test import CardUnderTest
from conformance.runner import Runner
from conformance.transport import EmulatedTransport
from conformance.vectors import load_suite
from conformance.verdict import Verdict
from simulator import Card
from simulator.image import load_image
from sscard.cli import cli
from sscard.card_read import read_card
from tui.explorer_tree import CardReader
from tui.targets import Target, connect

EXAMPLE = Path(__file__).resolve().parents[2] / "vectors" / "cards" / "regional-df03.yaml"
GOOD = {Verdict.PASS, Verdict.NOT_APPLICABLE}


@pytest.fixture(scope="module")
def suite():
    return load_suite()


def _card() -> Card:
    card = Card(load_image(EXAMPLE))  # no backing file: the example stays as shipped
    card.power_on()
    return card


def _record_79() -> str:
    return load_image(EXAMPLE)["data"]["DF03/EF19"]["79"]


def test_the_example_declares_a_regional_df03_record():
    card = _card()
    ef = card.model.efs["SSSE/DF03/EF19"]
    assert ef.spec["declared"] and [r["tag"] for r in ef.spec["records"]] == ["79"]
    assert len(ef.records) == 1 and len(ef.records[0]) == 41
    assert {"SSSE/DF05/EF06", "SSSE/DF06/EF07"} <= set(card.model.efs)


def test_the_suite_passes_on_the_example_and_runs_its_layout_cases(suite):
    card = _card()
    result = Runner(suite, EmulatedTransport(card, "emulated:regional-df03"),
                    CardUnderTest(card.image, label="regional-df03")).run()
    bad = [f"{c.case_id} {c.verdict.value}: {c.reason}" for c in result.cases if c.verdict not in GOOD]
    assert bad == []
    layout = {c.case_id: c.verdict for c in result.cases if c.case_id.startswith("SSC.LAY.")}
    assert len(layout) >= 8 and set(layout.values()) == {Verdict.PASS}


def test_the_layout_cases_do_not_apply_to_cards_without_the_layout(suite):
    card = Card.builtin("gen2")
    result = Runner(suite, EmulatedTransport(card), CardUnderTest(card.image, label="gen2"), selection="LAY").run()
    assert len(result.cases) >= 8
    assert {c.verdict for c in result.cases} == {Verdict.NOT_APPLICABLE}


def test_the_layout_cases_fail_on_a_card_that_ignores_the_layout(suite):
    """The cases test the card, not the description: a card built without the layout (the
    described EFs missing or the reserved EF19 still there) fails them."""
    described = load_image(EXAMPLE)
    bare = {k: v for k, v in described.items() if k != "layout"}
    bare["data"] = {k: v for k, v in bare["data"].items() if k != "DF03/EF19"}
    bare.pop("records", None)
    bare["files"] = {k: v for k, v in bare["files"].items() if not k.startswith("DF06")}
    card = Card.from_dict(bare)
    result = Runner(suite, EmulatedTransport(card), CardUnderTest(described, label="described"),
                    selection="LAY").run()
    verdicts = {c.case_id: c.verdict for c in result.cases if c.case_id.startswith("SSC.LAY.")}
    assert verdicts and all(v is Verdict.FAIL for v in verdicts.values()), verdicts


def test_card_read_shows_the_declared_record():
    card = _card()
    rows = read_card(card.transmit, card.export_image())
    found = [r for r in rows if r.file == "SSSE/DF03/EF19" and r.record == 1]
    assert len(found) == 1
    row = found[0]
    assert (row.tag, row.item, row.en, row.sw) == ("79", "地方应用数据", "regional data", "9000")
    assert row.value == _record_79()
    steps = [(r.file, r.en, r.value) for r in rows if r.record == 0 and r.file.startswith("SSSE/DF0")]
    assert steps == [("SSSE/DF01", "SELECT DF01", "selected"), ("SSSE/DF01", "VERIFY", "verified"),
                     ("SSSE/DF03", "SELECT DF03", "selected"), ("SSSE/DF03", "VERIFY", "verified"),
                     ("SSSE/DF05", "SELECT DF05", "selected"), ("SSSE/DF05", "VERIFY", "verified"),
                     ("SSSE/DF06", "SELECT DF06", "selected"), ("SSSE/DF06", "VERIFY", "verified")]


def test_card_read_does_not_retry_a_refused_pin():
    card = _card()
    image = card.export_image()
    image["pins"] = {"SSSE": {"value": "999999"}}  # what the terminal believes; the card has another
    rows = read_card(card.transmit, image)
    verifies = [r.value for r in rows if r.en == "VERIFY"]
    assert verifies == ["refused"] + ["not tried: refused before"] * 3
    assert card.model.dfs["SSSE"].pins[0].tries == 2   # one try spent, not four


def test_card_show_and_card_read_commands_list_the_declared_efs(tmp_path):
    copy = tmp_path / EXAMPLE.name  # card show holds (locks) the image it shows: not the shipped file
    copy.write_bytes(EXAMPLE.read_bytes())
    shown = CliRunner().invoke(cli, ["card", "show", str(copy)], catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    assert "files declared by the image's layout" in shown.output
    lines = {line.split("│")[1].strip(): line for line in shown.output.splitlines() if line.count("│") > 6}
    assert "either(PIN,key(82))" in lines["SSSE/DF03/EF19"] and "41 B" in lines["SSSE/DF03/EF19"]
    assert "cyclic" in lines["SSSE/DF05/EF06"] and "2 records" in lines["SSSE/DF05/EF06"]
    assert "transparent" in lines["SSSE/DF06/EF07"] and "9 bytes used" in lines["SSSE/DF06/EF07"]
    read = CliRunner().invoke(cli, ["card", "read", str(copy)], catch_exceptions=False)
    assert read.exit_code == 0, read.output
    row = next(line for line in read.output.splitlines() if "SSSE/DF03/EF19" in line)
    assert "79" in row and _record_79() in row and "9000" in row


def test_the_explorer_reading_shows_declared_efs_like_built_in_ones():
    connection = connect(Target("image", str(EXAMPLE)))
    try:
        root = CardReader(connection.transport, connection.card).read()
    finally:
        connection.close()
    nodes = {n.path: n for n in root.walk()}
    ef19 = nodes["SSSE/DF03/EF19"]
    assert ef19.kind == "tlv" and ef19.label.endswith("(layout:)") and "地方应用" in ef19.label
    assert [(r.tag, r.value, r.sw[:4]) for r in ef19.rows] == [("79", _record_79(), "9000")]
    log = nodes["SSSE/DF05/EF06"]
    assert log.kind == "cyclic" and [r.value for r in log.rows] == [
        "6A1220240315093000000004B0015A3C1E020001", "6A1220240301141500000001F4015A3C1E020001"]
    assert nodes["SSSE/DF06/EF07"].kind == "transparent"
    assert nodes["SSSE/DF06/EF07"].rows[0].value.startswith("256 bytes: 3301064C41594F5554")
    assert "SSSE/DF03/EF18" in nodes and not nodes["SSSE/DF03/EF18"].label.endswith("(layout:)")


def test_the_explorer_screen_lists_the_declared_ef():
    """The Textual explorer on the example image: the declared EF is in the tree with its record."""
    from textual.widgets import DataTable, Tree

    from tui.app import SscardApp
    from tui.targets import ReaderScan

    async def run() -> None:
        app = SscardApp(image=str(EXAMPLE), reader_scan=lambda: ReaderScan((), "no PC/SC service"))
        async with app.run_test(size=(160, 48)) as pilot:
            app.target = Target("image", str(EXAMPLE))
            await pilot.press("e")
            for _ in range(400):
                screen = app.screen
                if type(screen).__name__ == "ExplorerScreen" and screen.root is not None:
                    break
                await pilot.pause(0.01)
            tree = app.screen.query_one("#card-tree", Tree)

            def walk(node):
                yield node
                for child in node.children:
                    yield from walk(child)

            node = next(n for n in walk(tree.root) if getattr(n.data, "path", None) == "SSSE/DF03/EF19")
            tree.move_cursor(node)
            await pilot.pause()
            table = app.screen.query_one("#records", DataTable)
            values = [str(table.get_cell(key, "value")) for key in table.rows]
            assert values == [_record_79()]

    asyncio.run(run())
