"""The start screen: what to test (targets, left) and which cases (the vector tree, right).

Targets are the built-in emulated cards, a card image file, and the PC/SC readers found live (a
timer asks a thread worker to list them every poll interval; pyscard's monitor threads are not
used). The highlighted target is the chosen one, so `r` runs at once on the built-in gen3 card.
The vector tree groups the cases by area with counts; the filter is a `-k` expression and the
checkboxes deselect single cases or whole areas.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label, OptionList, Static, Tree
from textual.widgets.option_list import Option

from conformance.card_under_test import CardUnderTest
from conformance.selection import Selection, SelectionError
from conformance.textsafe import printable
from simulator.samples import sample_image

from ..readerpoll import ReaderPolling, reader_options
from ..targets import BUILTINS, ReaderScan, Target, TargetError, connect
from ..widgets import CheckTree, markup_free, plain

CHECKED, UNCHECKED, PARTIAL = "☑", "☐", "◪"
_BUILTIN_NOTES = {"gen1": "3DES, no name extension", "gen2": "3DES, name extension", "gen3": "SM4, PKI application"}


class StartScreen(ReaderPolling, Screen):
    BINDINGS = [
        Binding("r", "run", "Run"),
        # A text box takes the letters typed into it (`r` included); ctrl+r runs from anywhere and
        # Esc leaves the box so the one-letter keys work again.
        Binding("ctrl+r", "run", "Run", show=False),
        Binding("escape", "leave_text", "Leave the text box", show=False),
        Binding("a", "toggle_all", "All/none"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("i", "focus_image", "Image path"),
        Binding("p", "run_parallel", "All readers at once", show=False),  # not in the footer (full at 80 columns); README
    ]

    def __init__(self) -> None:
        super().__init__()
        self.unchecked: set[str] = set()
        self.expanded: set[str] = set()  # areas the user opened
        self.expression = ""
        self.scan = ReaderScan((), "looking for PC/SC readers…")
        self.image_errors: dict[str, str] = {}  # image path -> why it does not load ("" when it does)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="start"):
            with Vertical(id="targets-pane"):
                yield Label("Target", classes="pane-title")
                yield OptionList(*self._target_options(), id="targets")
                yield Input(placeholder="card image path (CARD.yaml), Enter to use it", id="image-path")
                yield Static(id="target-info")
            with Vertical(id="vectors-pane"):
                yield Label("Vectors", classes="pane-title")
                yield Input(placeholder="filter: -k expression, e.g. SEL and not t1", id="filter")
                yield CheckTree("suite", id="vector-tree")
                yield Static(id="selection-info")
        yield Footer()

    def on_mount(self) -> None:
        app = self.app
        if app.initial_image:
            self.query_one("#image-path", Input).value = app.initial_image
            self.check_image(app.initial_image)
        self._fill_tree()
        options = self.query_one("#targets", OptionList)
        try:
            options.highlighted = options.get_option_index(self._option_id(app.target))
        except Exception:  # a reader target that is gone: fall back to the built-in gen3
            options.highlighted = options.get_option_index("builtin:gen3")
        options.focus()
        self.show_target(app.target)
        self._start_polling()

    # --- targets --------------------------------------------------------------------------

    @staticmethod
    def _option_id(target: Target) -> str:
        return "image" if target.kind == "image" else target.key

    def _target_options(self) -> list:
        options: list = [Option(Text.assemble((f"built-in {name}", "bold"), f"  emulated, {_BUILTIN_NOTES[name]}"),
                                id=f"builtin:{name}") for name in BUILTINS]
        options.append(Option(Text.assemble(("card image file", "bold"), "  emulated from a YAML image"), id="image"))
        return [*options, None, *reader_options(self.scan, "pcsc-none")]

    def _readers_changed(self) -> None:
        options = self.query_one("#targets", OptionList)
        chosen = self._option_id(self.app.target)
        options.clear_options()
        options.add_options(self._target_options())
        try:
            options.highlighted = options.get_option_index(chosen)
        except Exception:  # the chosen reader went away: say so, keep the list usable
            options.highlighted = options.get_option_index("builtin:gen3")
            self.notify(markup_free(f"{self.app.target.label} is gone"), severity="warning")

    @on(OptionList.OptionHighlighted, "#targets")
    def _target_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index != event.option_list.highlighted:
            return  # a stale event (the list was refilled or re-highlighted since)
        option_id = event.option.id or ""
        if option_id == "image":
            target = Target("image", self.query_one("#image-path", Input).value.strip())
            if target.name and target.name not in self.image_errors:
                self.check_image(target.name)
        elif option_id.startswith(("builtin:", "pcsc:")):
            kind, name = option_id.split(":", 1)
            target = Target(kind, name)
        else:
            return
        self.app.target = target
        self.show_target(target)

    @on(Input.Submitted, "#image-path")
    def _image_submitted(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if not path:
            return
        self.app.description = path
        problem = self.check_image(path)
        options = self.query_one("#targets", OptionList)
        if not self.app.target.kind == "pcsc":
            self.app.target = Target("image", path)
            options.highlighted = options.get_option_index("image")
        self.show_target(self.app.target)
        if not problem:  # else the box keeps the focus: the path is to be fixed right there
            options.focus()

    def check_image(self, path: str) -> str:
        """Load the card image at `path` as a run would (file:line when it does not), remember the
        answer; Run stays off while the chosen image does not load."""
        try:
            # A throwaway card: the app's own random stays for the run (snapshots rely on it).
            connect(Target("image", path), lambda n: bytes(n)).close()
            problem = ""
        except TargetError as exc:
            problem = str(exc)
        self.image_errors[path] = problem
        self.refresh_bindings()
        return problem

    def image_problem(self) -> str:
        """Why the chosen target's card image does not load ("" when it does or none is used)."""
        target, path = self.app.target, None
        if target.kind == "image":
            path = target.name
        elif target.kind == "pcsc":
            path = self.app.description
        return self.image_errors.get(path, "") if path else ""

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "run" and self.image_problem():
            return None  # shown, greyed: Run waits for an image that loads
        return True

    def show_target(self, target: Target) -> None:
        options = self.query_one("#targets", OptionList)
        if options.highlighted is not None:
            wanted = self._option_id(target)
            try:
                index = options.get_option_index(wanted)
                if options.highlighted != index:
                    options.highlighted = index
            except Exception:
                pass
        info = Text.assemble(("target: ", "dim"), (printable(target.label) if target.name else "card image (no path yet)", "bold"))
        if target.kind == "builtin":
            card = CardUnderTest(dict(sample_image(target.name)), label=target.name)
            info.append(f"\nsample card of spec §3.8, transport {card.transport}, {card.algorithm.upper()} keys", style="dim")
            info.append(f"\nfeatures: {', '.join(sorted(card.features))}", style="dim")
        if target.kind == "pcsc":
            described = self.app.description or "the built-in gen3 sample"
            info.append(f"\ndescribed by {printable(described)} (type an image path to change)", style="dim")
        elif target.kind == "image" and not target.name:
            info.append("\ntype the image path above and press Enter", style="yellow")
        problem = self.image_problem()
        if problem:
            info.append("\n✗ ", style="bold red")
            info.append(printable(problem), style="red")
            info.append("\nRun is off until the image loads: fix the path or the file, then Enter", style="yellow")
        self.query_one("#target-info", Static).update(info)
        self.refresh_bindings()

    # --- vectors --------------------------------------------------------------------------

    def _visible_cases(self) -> list:
        suite = self.app.suite
        if suite is None:
            return []
        try:
            selection = Selection(self.expression)
        except SelectionError:
            return []
        return [c for c in suite.cases if selection.matches(c.id, c.title)]

    def chosen_ids(self) -> list[str]:
        return [c.id for c in self._visible_cases() if c.id not in self.unchecked]

    def _fill_tree(self) -> None:
        tree = self.query_one("#vector-tree", Tree)
        tree.clear()
        tree.show_root = False
        tree.root.expand()
        suite = self.app.suite
        if suite is None:
            tree.root.add_leaf(plain(self.app.suite_error or "no vectors", style="red"))
            self._show_selection()
            return
        visible = {c.id for c in self._visible_cases()}
        for vector_file in suite.files:
            cases = [c for c in vector_file.cases if c.id in visible]
            if not cases:
                continue
            ticked = sum(1 for c in cases if c.id not in self.unchecked)
            mark = CHECKED if ticked == len(cases) else UNCHECKED if not ticked else PARTIAL
            label = Text.assemble(f"{mark} ", (printable(vector_file.area or "?"), "bold"), f"  {ticked}/{len(cases)}  ",
                                  (printable(vector_file.title), "dim"))
            # Areas open when a filter narrows them, folded otherwise: the overview first.
            area = tree.root.add(label, data=("area", [c.id for c in cases], vector_file.path),
                                 expand=bool(self.expression) or vector_file.path in self.expanded)
            for case in cases:
                mark = UNCHECKED if case.id in self.unchecked else CHECKED
                area.add_leaf(Text.assemble(f"{mark} ", (printable(case.id), "cyan"), f"  {printable(case.title)}"),
                              data=("case", case.id))
        self._show_selection()

    def _show_selection(self) -> None:
        suite = self.app.suite
        total = len(suite.cases) if suite else 0
        text = Text(f"{len(self.chosen_ids())} of {total} cases selected")
        try:
            Selection(self.expression)
        except SelectionError as exc:
            text = plain(exc, style="red")
        if self.app.suite_error:
            text = plain(self.app.suite_error, style="red")
        self.query_one("#selection-info", Static).update(text)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.expression = event.value.strip()
        self._fill_tree()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.query_one("#vector-tree", Tree).focus()

    def action_toggle(self) -> None:
        tree = self.query_one("#vector-tree", Tree)
        node = tree.cursor_node
        if not tree.has_focus or node is None or node.data is None:
            return
        kind, value = node.data[:2]
        ids = value if kind == "area" else [value]
        if all(i in self.unchecked for i in ids) or (kind == "area" and any(i in self.unchecked for i in ids)):
            self.unchecked.difference_update(ids)
        else:
            self.unchecked.update(ids)
        line = tree.cursor_line
        self._fill_tree()
        tree.cursor_line = line

    @on(Tree.NodeExpanded, "#vector-tree")
    def _opened(self, event: Tree.NodeExpanded) -> None:
        if event.node.data and event.node.data[0] == "area":
            self.expanded.add(event.node.data[2])

    @on(Tree.NodeCollapsed, "#vector-tree")
    def _folded(self, event: Tree.NodeCollapsed) -> None:
        if event.node.data and event.node.data[0] == "area":
            self.expanded.discard(event.node.data[2])

    def action_toggle_all(self) -> None:
        ids = [c.id for c in self._visible_cases()]
        if any(i in self.unchecked for i in ids):
            self.unchecked.difference_update(ids)
        else:
            self.unchecked.update(ids)
        self._fill_tree()

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_focus_image(self) -> None:
        self.query_one("#image-path", Input).focus()

    def action_leave_text(self) -> None:
        if isinstance(self.focused, Input):
            self.query_one("#targets", OptionList).focus()

    # --- run ------------------------------------------------------------------------------

    def action_run(self) -> None:
        app = self.app
        if app.suite is None:
            self.notify(markup_free(app.suite_error or "No vectors to run."), severity="error")
            return
        try:
            Selection(self.expression)
        except SelectionError as exc:
            self.notify(markup_free(exc), severity="error")
            return
        target = app.target
        if target.kind == "image" and not target.name:
            self.notify("Type the card image path first (i), then Enter.", severity="warning")
            return
        path = target.name if target.kind == "image" else self.app.description if target.kind == "pcsc" else None
        if path and self.check_image(path):  # checked again: the file may have changed since
            self.show_target(target)
            self.notify(markup_free(f"The card image does not load: {self.image_errors[path]}"), severity="error")
            return
        chosen = self.chosen_ids()
        if not chosen:
            self.notify("No case selected.", severity="warning")
            return
        everything = not self.expression and not self.unchecked
        app.start_run(target, None if everything else chosen, self.expression)

    def action_run_parallel(self) -> None:
        """The chosen cases on every reader holding a card, at once (one progress row per reader)."""
        from .parallel import ParallelScreen

        readers = [Target("pcsc", name) for name, present in self.scan.readers if present]
        if self.app.suite is None or len(readers) < 2:
            self.notify("A run at once needs two readers holding a card (and the vectors loaded).", severity="warning")
            return
        everything = not self.expression and not self.unchecked
        self.app.push_screen(ParallelScreen(readers, None if everything else self.chosen_ids(), self.expression))
