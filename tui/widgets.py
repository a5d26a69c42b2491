"""Small widgets shared by the screens: the checkable vector tree and verdict styling."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree

from conformance.textsafe import printable
from conformance.verdict import ORDER, Verdict

VERDICT_STYLE = {
    Verdict.PASS: "bold green", Verdict.FAIL: "bold red", Verdict.ERROR: "bold magenta",
    Verdict.INCONCLUSIVE: "bold yellow", Verdict.NOT_APPLICABLE: "dim",
}
SHORT = {Verdict.PASS: "PASS", Verdict.FAIL: "FAIL", Verdict.ERROR: "ERROR", Verdict.INCONCLUSIVE: "INCONCL",
         Verdict.NOT_APPLICABLE: "N/A"}
# Worst first, as a reader scans a summary.
WORST_FIRST = list(reversed(ORDER))


def plain(value, style: str = "") -> Text:
    """Outside text (a vector title, a reason, a card's data, a file name) as a Text: shown as it
    is, never parsed as markup, control characters as visible escapes."""
    return Text(printable(value), style=style)


def markup_free(value) -> str:
    """The same for the places that take a markup string (notifications, border titles)."""
    from textual.markup import escape

    return escape(printable(value))


def verdict_text(verdict: Verdict, short: bool = False) -> Text:
    return Text(SHORT[verdict] if short else verdict.value, style=VERDICT_STYLE[verdict])


def counts_text(counts: dict[str, int], zeros: bool = True) -> Text:
    """`PASS 17  FAIL 1  ...` with each verdict in its colour (worst first)."""
    out = Text()
    for verdict in WORST_FIRST:
        n = counts.get(verdict.value, 0)
        if n or zeros:
            if out:
                out.append("   ")
            out.append(f"{verdict.value} ", style=VERDICT_STYLE[verdict])
            out.append(str(n), style="bold")
    return out


class CheckTree(Tree):
    """The vector tree: space checks or unchecks the case or area under the cursor."""

    BINDINGS = [Binding("space", "screen.toggle", "Check/uncheck")]
