"""User text (vector titles, reasons, card labels, file names, card data) made safe to show.

Vector files, card images, sessions and card answers are outside input: their text must reach a
terminal, a rich console or an XML file as the characters it holds, never as instructions. So:

- `printable`: control characters (C0 but tab and newline, DEL, C1) and the bidirectional
  overrides become visible escapes (`\\x1b`, `\\u202e`): an ESC sequence in a title cannot move the
  cursor or retitle the terminal, and a reversed string cannot hide what a line says.
- `markup_safe`: `printable`, then rich's markup escaped (`[/bold]` is shown, not parsed).
- `xml_safe`: characters XML 1.0 does not allow (most C0, lone surrogates, U+FFFE/U+FFFF) as
  visible escapes, so a report stays well-formed XML whatever a title holds.
"""

from __future__ import annotations

import re

from rich.markup import escape as _rich_escape

_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _visible(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text) -> str:
    return _UNPRINTABLE.sub(_visible, str(text))


def markup_safe(text) -> str:
    return _rich_escape(printable(text))


def xml_safe(text) -> str:
    return _NOT_XML.sub(_visible, str(text))


def console(**options):
    """A rich Console whose closed output (`sscard run | head`) raises BrokenPipeError, which the
    CLI ends with its own code, instead of rich's SystemExit(1), the code of a FAIL verdict."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError("the output was closed")

    return _Console(**options)
