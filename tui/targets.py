"""What the TUI can talk to: a built-in emulated card, a card image file, or a card in a PC/SC reader.

`Target` is the user's choice; `connect()` turns it into a conformance Transport and the
CardUnderTest description the runner and the explorer need. PC/SC is optional: pyscard is
imported only when readers are listed or a reader is used, and a missing pcscd is a status line,
not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from conformance.card_under_test import CardUnderTest
from conformance.targets import TargetSpec, open_target
from conformance.transport import TransportError

BUILTINS = ("gen1", "gen2", "gen3")
Random = Callable[[int], bytes]


@dataclass(frozen=True)
class Target:
    kind: str  # builtin | image | pcsc
    name: str  # gen3, a path, or a reader name

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def label(self) -> str:
        """What the user reads: "built-in gen3", "image card.yaml", "reader Virtual PCD 00 00"."""
        if self.kind == "builtin":
            return f"built-in {self.name}"
        if self.kind == "image":
            return f"image {Path(self.name).name}"
        return f"reader {self.name}"

    @property
    def short(self) -> str:
        """For file names and report labels."""
        if self.kind == "image":
            return Path(self.name).stem
        return self.name


@dataclass
class Connection:
    """An open card: the transport to talk through and the description of the card under test."""

    target: Target
    transport: object
    card: CardUnderTest
    image_path: str | None = None
    note: str = ""  # e.g. which description a physical card is tested against

    def close(self) -> None:
        try:
            self.transport.close()
        except Exception:  # closing a dead reader is not worth an error
            pass


class TargetError(Exception):
    """The target cannot be opened; the message says why, in words for the status line."""


def connect(target: Target, random: Random | None = None, description: str | None = None) -> Connection:
    """Open the target through the one opener of every card command (conformance.targets).
    `description`: a card image path describing a physical card."""
    if target.kind == "image" and not Path(target.name).expanduser().is_file():
        raise TargetError(f"no card image at {Path(target.name).expanduser()}")
    # No image lock: the explorer, the console and a run may each hold their own in-memory copy.
    kinds = {"builtin": "builtin", "image": "image", "pcsc": "reader"}
    try:
        if target.kind not in kinds:
            raise ValueError(f"unknown target kind {target.kind!r}")
        described = str(Path(description).expanduser()) if description and target.kind == "pcsc" else None
        name = str(Path(target.name).expanduser()) if target.kind == "image" else target.name
        transport, card = open_target(TargetSpec(kinds[target.kind], name, describe=described, lock=False), random)
    except TransportError as exc:
        raise TargetError(exc.reason) from None
    except ValueError as exc:  # ImageError among them: file:line in words
        raise TargetError(str(exc)) from None
    if target.kind != "pcsc":
        transport.name = transport.name.replace("emulated:", "emulated ", 1)  # as the TUI shows it
    if target.kind == "builtin":
        return Connection(target, transport, card)
    if target.kind == "image":
        return Connection(target, transport, card, name)
    note = (f"described by {Path(described).name}" if described else
            f"described by the built-in {card.image.get('profile')} sample its ATR names "
            f"(give a card image to change)" if "keys" in card.image else
            "described by its ATR only: no keys (give a card image to change)")
    return Connection(target, transport, card, described, note)


# --- PC/SC readers, polled ------------------------------------------------------------------

@dataclass(frozen=True)
class ReaderScan:
    readers: tuple[tuple[str, bool], ...] = ()  # (name, card present)
    status: str = ""  # "" when readers were listed; else why not, calmly


def scan_readers() -> ReaderScan:
    """List PC/SC readers and whether a card is in each, once. Never raises."""
    try:
        from smartcard import scard
    except ImportError:
        return ReaderScan((), "pyscard not installed")
    try:
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    except Exception:  # pragma: no cover - pyscard reports through hresult
        return ReaderScan((), "no PC/SC service")
    if hresult != scard.SCARD_S_SUCCESS:
        return ReaderScan((), "no PC/SC service")
    try:
        hresult, names = scard.SCardListReaders(context, [])
        if hresult == scard.SCARD_E_NO_READERS_AVAILABLE or (hresult == scard.SCARD_S_SUCCESS and not names):
            return ReaderScan((), "no readers")
        if hresult != scard.SCARD_S_SUCCESS:
            return ReaderScan((), "no PC/SC service")
        states = [(name, scard.SCARD_STATE_UNAWARE) for name in names]
        hresult, states = scard.SCardGetStatusChange(context, 0, states)
        if hresult not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_TIMEOUT):
            return ReaderScan(tuple((n, False) for n in names), "")
        found = tuple((name, bool(state & scard.SCARD_STATE_PRESENT)) for name, state, _atr in states)
        return ReaderScan(found, "")
    except Exception as exc:  # a reader vanishing mid-call: report, next poll will tell
        return ReaderScan((), f"PC/SC error: {exc}")
    finally:
        try:
            scard.SCardReleaseContext(context)
        except Exception:
            pass
