"""A recorded conversation with a card, as data: what the session readers (sessions.py, the
apdu4j and apdutool readers in reports/) build and what replay and from-session consume.

Its own module so that the readers and the transports need not import each other."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Session:
    """A recorded conversation: ATR, then (C-APDU, R-APDU) pairs; None pairs are resets."""

    atr: bytes = b""
    exchanges: list[tuple[bytes, bytes] | None] = field(default_factory=list)
    reader: str = ""
    protocol: str = "T=1"
    source: str = ""
