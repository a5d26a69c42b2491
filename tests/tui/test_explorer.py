"""The card explorer: the tree read through APDUs, records decoded into item names and values."""

from __future__ import annotations

from textual.widgets import DataTable, Static, Tree

from conformance.transport import EmulatedTransport
from simulator import Card
from tui.explorer_tree import CardReader
from tui.targets import Target, connect
from tuikit import SIZE, DeterministicApp, screen_name, wait_for


def _node(tree: Tree, path: str):
    def walk(node):
        yield node
        for child in node.children:
            yield from walk(child)

    return next(n for n in walk(tree.root) if getattr(n.data, "path", None) == path)


async def test_explorer_reads_the_tree_and_decodes_records():
    app = DeterministicApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        await wait_for(pilot, lambda: screen_name(app) == "ExplorerScreen" and app.screen.root is not None)
        tree = app.screen.query_one("#card-tree", Tree)
        top = [n.data.path for n in tree.root.children]
        assert top == ["SSSE", "PKI"]
        dfs = [n.data.path for n in _node(tree, "SSSE").children if n.data.kind == "df"]
        assert dfs == [f"SSSE/DF0{i}" for i in range(1, 8)]
        assert [n.data.path for n in _node(tree, "PKI").children] == ["PKI/SS.CERT.ADF1"]
        tree.move_cursor(_node(tree, "SSSE/EF06"))
        await pilot.pause()
        table = app.screen.query_one("#records", DataTable)
        rows = {str(table.get_cell(key, "item")): str(table.get_cell(key, "value")) for key in table.rows}
        assert rows["姓名 name"] == "张三"
        assert rows["社会保障号码 social security number"] == "440305198503151238"
        tree.move_cursor(_node(tree, "SSSE/DF01/EF06"))
        await pilot.pause()
        assert "广东省深圳市南山区示例路1号" in [str(table.get_cell(key, "value")) for key in table.rows]
        tree.move_cursor(_node(tree, "PKI/SS.CERT.ADF1/0018"))
        await pilot.pause()
        certificate = str(table.get_cell(next(iter(table.rows)), "value"))
        assert certificate.startswith("X.509 certificate") and "张三" in certificate
        status = str(app.screen.query_one("#explorer-status", Static).render())
        assert "APDUs" in status and "files" in status
        await pilot.press("escape")
        assert screen_name(app) == "StartScreen"


async def test_explorer_on_a_gen1_card_has_no_pki():
    app = DeterministicApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("up", "up", "e")  # built-in gen1
        await wait_for(pilot, lambda: screen_name(app) == "ExplorerScreen" and app.screen.root is not None)
        tree = app.screen.query_one("#card-tree", Tree)
        assert [n.data.path for n in tree.root.children] == ["SSSE"]
        assert "gen1" in str(app.screen.query_one("#explorer-title").render())


def test_reading_goes_through_apdus_only():
    """The reader sees the card only through its transport: every value comes from an answer."""
    connection = connect(Target("builtin", "gen3"))
    sent = []

    class Recording(EmulatedTransport):
        def transmit(self, apdu: bytes) -> bytes:
            sent.append(apdu)
            return super().transmit(apdu)

    transport = Recording(Card.builtin("gen3"))
    root = CardReader(transport, connection.card).read()
    assert sent[0] == bytes.fromhex("00A40000023F00")
    assert any(a.startswith(bytes.fromhex("00B2")) for a in sent)
    ef05 = next(n for n in root.walk() if n.path == "SSSE/EF05")
    assert [r.tag for r in ef05.rows] == ["01", "02", "03", "04", "05", "06", "07"]
    assert ef05.rows[6].value == "A01234563" and ef05.rows[6].sw.startswith("9000")


def test_a_refused_pin_is_not_tried_again():
    """A wrong PIN in the description costs one try, not one per DF (a physical card would block)."""
    connection = connect(Target("builtin", "gen2"))
    connection.card.image["pins"] = {"SSSE": {"value": "999999"}}
    reader = CardReader(connection.transport, connection.card)
    root = reader.read()
    verifies = [e for e in reader.trace.exchanges() if e.command[:2] == b"\x00\x20"]
    assert len(verifies) == 1 and verifies[0].response[-2:].hex().upper().startswith("63C")
    df02 = next(n for n in root.walk() if n.path == "SSSE/DF02")
    assert any(r.value == "not tried: refused before" for r in df02.rows)
