"""A user's value quoted in a message: cut to about CLIP characters, with its full length, so a
10 MB item in an image, a vector or a card answer is never echoed whole."""

from __future__ import annotations

import reprlib

CLIP = 60  # characters of a value quoted in a message


def clip(value, limit: int = CLIP) -> str:
    """repr() of a value for a message, cut to about `limit` characters with its full length:
    `'0000000000…' (10485760 characters)`. Containers show a few items and their count."""
    sized = isinstance(value, (str, bytes, bytearray))
    text = repr(value[:limit + 1]) if sized else _SHORT_REPR.repr(value)
    whole = len(value) <= limit if sized else "..." not in text  # reprlib marks what it left out
    if len(text) <= limit and whole:
        return text
    if sized:
        size = f"{len(value)} {'characters' if isinstance(value, str) else 'bytes'}"
    elif isinstance(value, (dict, list, tuple, set)):
        size = f"{len(value)} item{'s' if len(value) != 1 else ''}"
    else:
        size = f"{len(text)} characters"
    return f"{text[:limit - 1]}… ({size})"


def shorten(text, limit: int = 200) -> str:
    """A message's own text (an exception's, not a quoted value) cut to `limit` characters."""
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit - 1]}… ({len(text)} characters)"


def clip_hex(data: bytes, limit: int = CLIP) -> str:
    """Bytes as upper-case hex for a message, cut like clip(): `00A40400…(65544 bytes)`."""
    shown = bytes(data[:limit // 2]).hex().upper()
    return shown if len(data) <= limit // 2 else f"{shown}… ({len(data)} bytes)"


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = _SHORT_REPR.maxlong = CLIP + 1
_SHORT_REPR.maxlevel, _SHORT_REPR.maxdict = 3, 6
