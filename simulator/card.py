"""The card: power, reset and transmit over the command families, with the checks of spec §4.3."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable

from . import atr as atrlib
from . import defects, personalise, profile
from .apdu import APDUError, CommandAPDU
from .commands import EVERYWHERE, ByP1, dispatch_table
from .contacts import Contacts
from .defects import Defect
from .filesystem import DF, EF
from .image import Image, ImageError, ImageInUse, from_dict, load_image, save_image
from .storage import ImageLock, InUse, check_writable, remove_temp_files, target
from .security import SecurityState
from .sw import CardStatus

log = logging.getLogger(__name__)

SW_9000 = b"\x90\x00"
_SW = {sw: sw.to_bytes(2, "big") for sw in (0x6700, 0x6A81, 0x6D00, 0x6E00, 0x6985, 0x6F00)}


class Card(Contacts):
    """An emulated social security card built from a card image (design.md contract)."""

    def __init__(self, image: Image, random: Callable[[int], bytes] | None = None,
                 path: Path | None = None):
        if path is not None:
            _check_saveable(image, Path(path))
        self.image = image
        self.model = profile.build(image)
        self.blocks = personalise.apply(self.model, image)
        self.random = random or os.urandom
        self.path = path  # backing file: every persistent change is saved there atomically
        self.out_of_service: str | None = None  # why a save failed: the card then answers only 6F00
        self.image_lock: ImageLock | None = None  # held while this process serves the image
        self.defects = defects.from_image(image)
        sw = self.model.switches
        self.transport = sw["transport"]
        self.t0 = self.transport == "t0"
        self.mac_error_sw = int(sw["mac_error_sw"], 16)
        self.next_command_challenge = sw["challenge_scope"] == "next-command"
        self.atr = self._atr(image)
        self._table = dispatch_table()
        self.mf: DF = self.model.mf
        self.ssse: DF = self.model.dfs["SSSE"]
        self.sec = SecurityState()
        self.current_df: DF = self.mf
        self.current_ef: EF | None = None
        self.response: bytes | None = None  # GET RESPONSE buffer filled by a 61xx answer
        self.buffered: bytes | None = None  # what the buffer held when the current command came
        self.powered = False

    # construction ---------------------------------------------------------------------------

    @classmethod
    def from_image(cls, path, random: Callable[[int], bytes] | None = None, lock: bool = False) -> "Card":
        """The card of an image file, saved back to it. `lock`: hold the image for this process
        (serving it); a second holder, here or in another process, gets ImageInUse."""
        path = Path(path)
        held = None
        if lock:
            try:
                held = ImageLock(path).acquire()  # also removes the temp files of killed saves
            except InUse as exc:
                raise ImageInUse(str(path), str(exc)) from None
        else:
            remove_temp_files(path)
        try:
            card = cls(load_image(path), random, path)
        except BaseException:
            if held:
                held.release()
            raise
        card.image_lock = held
        return card

    @classmethod
    def from_dict(cls, data: dict, random: Callable[[int], bytes] | None = None,
                  source: str = "<memory>") -> "Card":
        """A card with no backing file: its state lives in memory only."""
        return cls(from_dict(data, source), random)

    @classmethod
    def builtin(cls, profile_name: str = "gen3", random: Callable[[int], bytes] | None = None) -> "Card":
        """The sample card of spec §3.8 for gen1, gen2 or gen3, in memory."""
        from .samples import sample_image
        return cls.from_dict(sample_image(profile_name), random, source=f"<builtin {profile_name}>")

    def _atr(self, image: Image) -> bytes:
        explicit = self.model.switches["atr"]
        if explicit:
            text = str(explicit).replace(" ", "")
            try:
                atr = bytes.fromhex(text)
            except ValueError:
                raise image.error(("switches", "atr"), f"atr must be hex, got {explicit!r}") from None
            if not 2 <= len(atr) <= 33 or atr[0] not in (0x3B, 0x3F):
                raise image.error(("switches", "atr"), "atr must be 2-33 bytes starting with TS 3B or 3F")
            return atr
        card_id = bytes(self.model.efs["SSSE/EF05"].records[0][2:18])
        return atrlib.for_card(self.model.generation, card_id, self.transport)

    # power ----------------------------------------------------------------------------------

    # reset and power_off: Contacts

    def power_on(self) -> bytes:
        atr = super().power_on()  # RAM cleared first: the defect then forgets the block
        if Defect.CARD_BLOCK_LOST_ON_RESET in self.defects:
            self.blocks["card_blocked"] = False
        return atr

    def close(self) -> None:
        """Nothing is pending (every change is saved as it happens); lets go of the image's lock."""
        super().close()
        if self.image_lock is not None:
            self.image_lock.release()
            self.image_lock = None

    def _clear_volatile(self) -> None:
        # Reset and power-off: current DF = MF, no current EF, no status, challenge or buffer (§5.3).
        if Defect.WRITE_NOT_PERSISTED in self.defects:  # the defect: what was written lived in RAM only
            self.model = profile.build(self.image)
            self.blocks = personalise.apply(self.model, self.image)
            self.mf, self.ssse = self.model.mf, self.model.dfs["SSSE"]
        self.sec.clear()
        self.current_df, self.current_ef, self.response = self.mf, None, None

    # persistence ----------------------------------------------------------------------------

    def export_image(self) -> dict:
        return personalise.export(self.model, self.image, self.blocks)

    def persist(self) -> None:
        """Save the persistent state now (atomic); called by a handler right after it changes it.

        A save that fails puts the card back to its last saved state (a counter the command just
        lowered comes back) and out of service: every command then answers 6F00, never a card
        that has drifted from its image."""
        if self.path is None or Defect.WRITE_NOT_PERSISTED in self.defects:
            return
        if self.out_of_service:
            raise CardStatus(0x6F00)
        data = self.export_image()
        try:
            save_image(self.path, data)
        except OSError as exc:
            self._out_of_service(exc)
            raise CardStatus(0x6F00) from None
        self._saved = data

    def _out_of_service(self, exc: OSError) -> None:
        self.out_of_service = f"cannot save {self.path}: {exc.strerror or exc}"
        log.error("card image %s: %s; the card now answers 6F00 to every command, its state stays "
                  "as last saved (fix the folder and restart)", self.path, exc.strerror or exc)
        saved = getattr(self, "_saved", None)
        image = self.image
        if saved is not None:
            image = Image(saved)
            image.source, image.path, image.lines = self.image.source, self.image.path, {}
        self.model = profile.build(image)
        self.blocks = personalise.apply(self.model, image)
        self.mf, self.ssse = self.model.mf, self.model.dfs["SSSE"]
        self.sec.clear()
        self.current_df, self.current_ef, self.response = self.mf, None, None

    # transmit -------------------------------------------------------------------------------

    def transmit(self, raw: bytes) -> bytes:
        """One C-APDU in, one R-APDU out. Never raises, never returns an empty response."""
        try:
            if self.defects:
                raw = defects.before(self, bytes(raw))
                return defects.after(self, raw, self._transmit(raw))
            return self._transmit(bytes(raw))
        except Exception:  # an emulator bug must not take the reader down
            log.exception("internal fault on C-APDU %s", bytes(raw).hex().upper())
            return _SW[0x6F00]
        finally:
            # challenge_scope next-command (§9): any command but GET CHALLENGE drops the challenge,
            # also one refused before its handler runs (§4.3 steps 1-5)
            if self.next_command_challenge and bytes(raw[:2]) != b"\x00\x84":
                self.sec.challenge = None

    def transmit_clean(self, raw: bytes) -> bytes:
        """transmit() below the defect filters (the filters use it to make their own answers)."""
        return self._transmit(raw)

    def _transmit(self, raw: bytes) -> bytes:
        if not self.powered:
            self.power_on()
        buffered, self.response = self.response, None  # the buffer lives until the next command
        if self.out_of_service:
            return _SW[0x6F00]
        if self.blocks["card_blocked"]:
            return _SW[0x6A81]
        if len(raw) < 2:
            return _SW[0x6700]
        cla = raw[0]
        if cla not in (0x00, 0x80, 0x84):
            return _SW[0x6E00]
        by_cla = self._table.get(raw[1])
        if by_cla is None:
            return _SW[0x6D00]
        cmd = by_cla.get(cla)
        if cmd is None:
            return _SW[0x6E00]
        if type(cmd) is ByP1:  # commands sharing CLA and INS (00 20, 80 5E): P1 picks one
            cmd = cmd.resolve(raw[2] if len(raw) > 2 else 0)
        if cmd.where != EVERYWHERE and self.current_df.app != cmd.where:
            return _SW[0x6D00]
        try:
            apdu = CommandAPDU.parse(raw)
        except APDUError:
            return _SW[0x6700]
        if (cmd.data == "none" and apdu.data is not None) or (cmd.data == "required" and apdu.data is None):
            return _SW[0x6700]
        if self.blocks["application"] != "active" and self.current_df.app == "SSSE" and not cmd.in_blocked_app:
            return _SW[0x6985]
        self.buffered = buffered
        try:
            data = cmd.handler(self, apdu)
        except CardStatus as status:
            return status.sw.to_bytes(2, "big")
        if data is None:
            return SW_9000
        if cmd.own_le:
            return data + SW_9000
        n = len(data)
        if self.t0 and apdu.data is not None:
            self.response = data
            return bytes((0x61, n & 0xFF))
        le = apdu.le
        if le is not None and le < n:
            return bytes((0x6C, n & 0xFF))
        return data + SW_9000

    # helpers for handlers -------------------------------------------------------------------

    def check_le(self, apdu: CommandAPDU, n: int) -> None:
        """Raise 6Cxx before any side effect when the Le rules of §4.2 will refuse n bytes."""
        if apdu.le is not None and apdu.le < n and not (self.t0 and apdu.data is not None):
            raise CardStatus(0x6C00 | (n & 0xFF))

    def select_df(self, df: DF) -> None:
        self.current_df, self.current_ef = df, None
        if Defect.SECURITY_KEPT_AFTER_SELECT not in self.defects:
            self.sec.clear()

    def take_challenge(self) -> bytes:
        """Consume the single-use challenge (PD-11), or 6984 when there is none."""
        challenge = self.sec.challenge
        if challenge is None:
            raise CardStatus(0x6984)
        if Defect.CHALLENGE_REUSE not in self.defects:
            self.sec.challenge = None
        return challenge


def _check_saveable(image: Image, path: Path) -> None:
    """A card that could not save its changes would drift from its image: refuse it at the start."""
    try:
        check_writable(path)
    except OSError as exc:
        folder = target(path).parent
        raise ImageError(str(path), None, f"the card could not save its changes: no new file can be "
                         f"made in {folder} ({exc.strerror or exc})") from None
