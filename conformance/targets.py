"""Opening the card under test, one way for every caller: `sscard run/apdu/record`, the TUI and the
pytest plugin all go through `open_target`.

A target is an emulated card (a built-in sample or a card image), a card in a PC/SC reader, or a
recorded session replayed. `open_target` returns the Transport to talk through and the
CardUnderTest that describes the card (its keys and PINs, for the cases that compute values).

A card image is held with its lock (simulator.storage.ImageLock) while it is open, whether its
changes go back to the file (`persist`, as `sscard apdu` wants) or stay in memory (a conformance
run never rewrites the image): a `sscard serve` of the same image in the meantime is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from simulator import Card
from simulator.atr import ssc_fields
from simulator.image import ImageInUse, load_image
from simulator.storage import ImageLock, InUse
from terminal import pcsc
from terminal.errors import ReaderError

from .card_under_test import CardUnderTest
from .sessions import ReplayTransport
from .transport import EmulatedTransport, PcscTransport, TransportError

BUILTIN = ("gen1", "gen2", "gen3")
KINDS = ("builtin", "image", "reader", "replay")
Random = Callable[[int], bytes]


@dataclass(frozen=True)
class TargetSpec:
    """What the user chose. `describe`: a card image describing a physical or replayed card."""

    kind: str                    # builtin | image | reader | replay
    name: str                    # a profile, an image path, a reader name (or a unique part), a session path
    describe: str | None = None
    persist: bool = False        # image: save the card's changes back to the file
    lock: bool = True            # image: hold the image's lock while the target is open

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown target kind {self.kind!r} (one of {', '.join(KINDS)})")
        if self.kind == "builtin" and self.name not in BUILTIN:
            raise ValueError(f"{self.name!r} is not one of {', '.join(BUILTIN)}")

    @property
    def label(self) -> str:
        """The card's name in reports: the profile, the image's stem, the reader, the session's stem."""
        return Path(self.name).stem if self.kind in ("image", "replay") else self.name


class HeldTransport(EmulatedTransport):
    """An emulated card of an image file, its lock held until the transport is closed."""

    def __init__(self, card, name: str, lock: ImageLock | None):
        super().__init__(card, name)
        self.lock = lock

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.lock is not None:
                self.lock.release()
                self.lock = None


def open_target(spec: TargetSpec, random: Random | None = None):
    """(transport, CardUnderTest) for `spec`. Raises TransportError (the card cannot be reached),
    ImageError (a bad image: file:line), ImageInUse (another process holds the image), ValueError
    (a session that does not read)."""
    random = random or os.urandom
    if spec.kind == "builtin":
        card = Card.builtin(spec.name, random=random)
        return EmulatedTransport(card, f"emulated:{spec.name}"), CardUnderTest(card.image, label=spec.name)
    if spec.kind == "image":
        return _open_image(spec, random)
    transport = PcscTransport(spec.name) if spec.kind == "reader" else ReplayTransport(spec.name)
    try:
        label = transport.name if spec.kind == "reader" else spec.label
        return transport, describe(transport.atr, label, spec.describe)
    except BaseException:
        transport.close()
        raise


def _open_image(spec: TargetSpec, random: Random):
    path = Path(spec.name)
    lock = _hold(path) if spec.lock and not spec.persist else None
    try:
        if spec.persist:  # the card's own file: every change saved, the lock held by the card
            card = Card.from_image(path, random=random, lock=spec.lock)
            transport = EmulatedTransport(card, f"emulated:{path.name}")
            transport.close = _closing(transport.close, card.close)
        else:              # an in-memory copy: a run never changes the image on disk
            transport = HeldTransport(Card(load_image(path), random), f"emulated:{path.name}", lock)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    under_test = CardUnderTest(dict(transport.card.image), label=spec.label)
    under_test.image_path = str(path)
    return transport, under_test


def _hold(path: Path) -> ImageLock | None:
    try:
        return ImageLock(path).acquire()
    except InUse as exc:
        raise ImageInUse(str(path), str(exc)) from None
    except OSError:  # a read-only directory: no lock file, but an in-memory copy needs none to run
        return None


def _closing(first, then):
    def close():
        try:
            first()
        finally:
            then()
    return close


def reader_names() -> list[str]:
    """The PC/SC readers pcscd knows; TransportError when it cannot be asked."""
    try:
        return pcsc.reader_names()
    except ReaderError as exc:  # no pyscard, or no pcscd to ask
        raise TransportError(exc.detail, fatal=True) from None


def exact_reader(wanted: str) -> str:
    """The PC/SC name of the one reader `wanted` names (terminal.pcsc.match_reader, the rule
    PcscTransport follows too); TransportError when there is not exactly one."""
    from .record import resolve_reader

    try:
        return resolve_reader(wanted, reader_names())
    except ValueError as exc:
        raise TransportError(str(exc), fatal=True) from None


def describe(atr: bytes, label: str, image: str | None = None) -> CardUnderTest:
    """The description of a card reached through a reader or a recording: the image given, else
    the built-in sample whose ATR it has (its keys are then known), else its generation only."""
    if image:
        under_test = CardUnderTest(dict(load_image(image)), label=label)
        under_test.image_path = str(image)
        return under_test
    generation = generation_from_atr(atr)
    sample = Card.builtin(generation)
    if sample.atr == atr:  # a built-in sample card (e.g. served by `sscard serve`): its keys are known
        return CardUnderTest(sample.image, label=label)
    return CardUnderTest({"profile": generation}, label=label)


def generation_from_atr(atr: bytes) -> str:
    """Project ATR template (spec §6): "SSC" then the generation byte; gen2 when unknown."""
    fields = ssc_fields(atr)
    return f"gen{fields.generation}" if fields is not None and fields.generation in (1, 2, 3) else "gen2"
