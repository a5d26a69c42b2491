"""The card explorer: the card's tree read through APDUs (tui/explorer_tree.py) on the chosen target,
so a card in a reader shows the same way as an emulated one. Left the tree (MF, SSSE, EFs,
DF01–DF07, PKI); right the records of the file under the cursor, decoded into item names and
values. Reading runs in a thread worker; `r` reads the card again.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Static, Tree

from conformance.textsafe import printable

from ..explorer_tree import EMPTY, CardReader, Node
from ..targets import Target, TargetError
from ..widgets import markup_free, plain


def _status_style(status: str) -> str:
    return "green" if status.startswith("9000") else "yellow" if status.startswith(("61", "62", "63")) else "red"


class ExplorerScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "reread", "Read again"),
    ]

    def __init__(self, target: Target) -> None:
        super().__init__()
        self.target = target
        self.root: Node | None = None
        self.reading = False
        self.apdus = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="explorer"):
            yield Label(Text.assemble("Card explorer: ", (printable(self.target.label), "bold")), id="explorer-title")
            with Horizontal(id="explorer-body"):
                yield Tree("card", id="card-tree")
                yield DataTable(id="records", cursor_type="row", zebra_stripes=True)
            yield Static("", id="explorer-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#records", DataTable)
        table.add_column("rec", key="where", width=8)
        table.add_column("tag", key="tag", width=4)
        table.add_column("item", key="item", width=40)
        table.add_column("SW", key="sw", width=26)
        table.add_column("value", key="value")
        self.action_reread()

    def action_reread(self) -> None:
        if self.reading:
            return
        self.reading = True
        self._status(plain(f"reading {self.target.label}…", style="dim"))
        self.run_worker(self._read, thread=True, group="explorer", exit_on_error=False)

    def _read(self) -> None:
        app = self.app
        try:
            connection = app.connect(self.target)
        except TargetError as exc:
            app.call_from_thread(self._failed, f"cannot open {self.target.label}: {exc}")
            return
        try:
            reader = CardReader(connection.transport, connection.card,
                                on_node=lambda node: app.call_from_thread(self._progress, node))
            root = reader.read()
            count = len(reader.trace.exchanges())
        except Exception as exc:  # a card pulled out mid-read, a reader gone: say it, keep the screen
            app.call_from_thread(self._failed, f"reading stopped: {exc}")
            return
        finally:
            connection.close()
        app.call_from_thread(self._show, root, count)

    def _progress(self, node: Node) -> None:
        self._status(Text.assemble(("reading ", "dim"), printable(node.path), "…"))

    def _failed(self, message: str) -> None:
        self.reading = False
        self._status(plain(message, style="bold red"))

    def _status(self, text: Text) -> None:
        self.query_one("#explorer-status", Static).update(text)

    def _show(self, root: Node, count: int) -> None:
        self.reading = False
        self.root, self.apdus = root, count
        tree = self.query_one("#card-tree", Tree)
        tree.clear()
        tree.root.set_label(self._label(root))
        tree.root.data = root
        self._add_children(tree.root, root)
        tree.root.expand_all()
        tree.focus()
        tree.move_cursor(tree.root)
        self._show_rows(root)
        nodes = sum(1 for _ in root.walk())
        self._status(Text.assemble(("read ", "dim"), (f"{nodes} files", "bold"), (" with ", "dim"),
                                   (f"{count} APDUs", "bold"), ("   r: read again", "dim")))

    def _add_children(self, parent, node: Node) -> None:
        for child in node.children:
            branch = parent.add(self._label(child), data=child, expand=True) if child.children \
                else parent.add_leaf(self._label(child), data=child)
            self._add_children(branch, child)

    @staticmethod
    def _label(node: Node) -> Text:
        mark = "✓" if node.status.startswith("9000") else "○" if node.status == EMPTY else "·" if not node.status else "✗"
        return Text.assemble((f"{mark} ", _status_style(node.status) if node.status not in ("", EMPTY) else "dim"),
                             (printable(node.label), "bold" if node.kind in ("mf", "df") else ""))

    @on(Tree.NodeHighlighted, "#card-tree")
    def _highlighted(self, event: Tree.NodeHighlighted) -> None:
        if isinstance(event.node.data, Node):
            self._show_rows(event.node.data)

    def _show_rows(self, node: Node) -> None:
        table = self.query_one("#records", DataTable)
        table.clear()
        for index, row in enumerate(node.rows):
            table.add_row(plain(row.where), plain(row.tag), plain(row.item), Text(row.sw, style=_status_style(row.sw)),
                          plain(row.value),
                          key=f"{node.path}#{index}")
        table.border_title = markup_free(node.path)  # paths may come from an image's layout
