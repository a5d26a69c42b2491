"""What the TUI can talk to: a built-in emulated card, a card image file, or a card in a PC/SC reader.

`Target` is the user's choice; `connect()` turns it into a conformance Transport and the
CardUnderTest description the runner and the explorer need. PC/SC is optional: pyscard is
imported only when readers are listed or a reader is used, and a missing pcscd is a status line,
not an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from conformance.card_under_test import CardUnderTest
from conformance.transport import EmulatedTransport, PcscTransport, TransportError
from simulator import Card
from simulator.image import ImageError, load_image
from simulator.samples import sample_image

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
    """Open the target. `description`: a card image path describing a physical card."""
    random = random or os.urandom
    if target.kind == "builtin":
        card = Card.builtin(target.name, random=random)
        cut = CardUnderTest(dict(sample_image(target.name)), label=target.name)
        return Connection(target, EmulatedTransport(card, name=f"emulated {target.name}"), cut)
    if target.kind == "image":
        path = Path(target.name).expanduser()
        if not path.is_file():
            raise TargetError(f"no card image at {path}")
        try:
            image = load_image(path)
            # No backing path: a test run must not rewrite the user's image file.
            card = Card(image, random=random)
        except (ImageError, ValueError) as exc:
            raise TargetError(str(exc)) from None
        cut = CardUnderTest(dict(image), label=path.stem)
        return Connection(target, EmulatedTransport(card, name=f"emulated {path.name}"), cut, str(path))
    if target.kind == "pcsc":
        image, note, path = _description(description)
        try:
            transport = PcscTransport(target.name)
        except TransportError as exc:
            raise TargetError(exc.reason) from None
        return Connection(target, transport, CardUnderTest(image, label=target.name), path, note)
    raise TargetError(f"unknown target kind {target.kind!r}")


def _description(path: str | None) -> tuple[dict, str, str | None]:
    if path:
        try:
            return dict(load_image(Path(path).expanduser())), f"described by {Path(path).name}", path
        except ImageError as exc:
            raise TargetError(str(exc)) from None
    return dict(sample_image("gen3")), "described by the built-in gen3 sample (give a card image to change)", None


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
