"""`terminal.Terminal`: the LD/T 33 terminal functions of ssc-terminal.md §4.4 over a card slot
(contact and/or contactless) and an optional PSAM slot (§4.6, PD-T15)."""

from __future__ import annotations

import functools
import secrets
from dataclasses import astuple, dataclass
from typing import Callable

from simulator import crypto

from . import files, params
from .call import RK, Call, text
from .errors import (ApduError, CardAuthError, HsmNotNeeded, ParamError, PinEntryError, PsamError,
                     ReaderError, TerminalError, from_apdu_error)
from .hsm import Hsm
from .pcsc import PcscSlot
from .session import apdu

ENTER_PIN, OLD_PIN, NEW_PIN, AGAIN_PIN = "请输入密码", "请输入原密码", "请输入新密码", "请再次输入新密码"
IRK = 0x01
PIN_DIGITS = range(3, 13)  # 2-6 BCD bytes (card §4.13)


@dataclass(frozen=True)
class CardBasic:
    """The 11 fields of iReadCardBas (§4.4.1), as text."""

    region: str
    ssn: str
    card_no: str
    card_id: str
    name: str
    atr_hist: str
    version: str
    issue_date: str
    expiry: str
    terminal_no: str
    device_no: str

    def to_ldt33(self) -> str:
        return "".join(field + "|" for field in astuple(self))


def _ldt33(method):
    """Map a refused APDU to its TerminalError (§4.2); a failed call ends a pending HSM read."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except TerminalError:
            self._pending = None
            raise
        except ApduError as exc:
            self._pending = None
            raise from_apdu_error(exc) from exc
        finally:
            if self._pending is None:
                self._close()
    return run


class Terminal:
    """The LD/T 33 functions; each call powers the card (and the PSAM when it needs one), runs its
    APDU sequence and closes PC/SC readers again. Failures raise TerminalError subclasses (§4.2)."""

    def __init__(self, contact, contactless=None, psam=None, *, hsm: Hsm | None = None,
                 pin_pad: Callable[[str], str] | None = None, device_no: str = "",
                 require_psam: bool = False, rng: Callable[[int], bytes] = secrets.token_bytes):
        self.contact, self.contactless, self.psam = contact, contactless, psam
        self.hsm, self.pin_pad, self.device_no = hsm, pin_pad, device_no
        self.require_psam, self.rng = require_psam, rng
        self._pending: tuple | None = None  # HSM step 1 -> step 2: (call, internal answer, S1, terminal no)

    # --- slots and PINs ------------------------------------------------------------------------

    def _close(self) -> None:
        """Each call closes the readers it used (§4.1); in-process cards simply stay as they are."""
        for slot in (self.contact, self.contactless, self.psam):
            if isinstance(getattr(slot, "slot", slot), PcscSlot):  # a reader, traced or not
                slot.close()

    def _call(self, itype: int) -> Call:
        params.check_itype(itype)
        self._pending = None  # a new call resets the card: an HSM read in progress is over
        order = {1: (self.contact,), 2: (self.contactless,), 3: (self.contact, self.contactless),
                 4: (self.contactless, self.contact)}[itype]
        slot = next((s for s in order if s is not None), None)
        return Call(slot, self.psam, self.rng)

    def _pin(self, given: str | None, prompt: str) -> str:
        if given is None:
            if self.pin_pad is None:
                raise PinEntryError(-31, "no PIN given and no PIN pad")
            try:
                given = self.pin_pad(prompt)
            except TimeoutError:
                raise PinEntryError(-32) from None
            except (KeyboardInterrupt, EOFError):
                raise PinEntryError(-31) from None
            if given is None:
                raise PinEntryError(-31)
        if not isinstance(given, str) or not given.isascii() or not given.isdigit():
            raise ParamError(-14, "a PIN is a string of digits")
        if len(given) not in PIN_DIGITS:
            raise PinEntryError(-33, f"a PIN has 3-12 digits, got {len(given)}")
        return given

    def _new_pin(self, given: str | None) -> str:
        if given is not None:
            return self._pin(given, NEW_PIN)
        first, second = self._pin(None, NEW_PIN), self._pin(None, AGAIN_PIN)
        if first != second:
            raise PinEntryError(-34)
        return first

    # --- iReadCardBas ----------------------------------------------------------------------------

    @_ldt33
    def read_card_bas(self, itype: int = 1) -> CardBasic:
        call = self._call(itype)
        call.identify()
        if not call.has_psam:
            if self.require_psam:
                raise PsamError(-2201)
            if self.hsm is not None and call.generation == 3:  # _Step1To2: ask the HSM ourselves
                return self.read_card_bas_hsm_step2(self.hsm.authenticate(self._hsm_step1(call), "read-basic"))
            return self._basic(call, "")
        terminal_no = call.psam().terminal_number()
        keys = call.keys()
        r = self.rng(16)
        answer = call.session.internal_authenticate(IRK, r[:8], r[8:16])
        if not crypto.constant_time_equal(answer, keys.internal(IRK, r[:8], r[8:16], "SSSE")):
            raise CardAuthError(-21, "the card's INTERNAL AUTHENTICATE answer is not the PSAM's")
        if call.generation == 3:
            call.rk_authenticate()
        return self._basic(call, terminal_no)

    def _basic(self, call: Call, terminal_no: str) -> CardBasic:
        dates = [call.optional_record(n, sfi=5).hex().upper().rstrip("F") for n in (5, 6)]
        card_no = text(call.optional_record(7, sfi=5))[:9]
        ssn = text(call.optional_record(tag=0x08, sfi=6))
        name = call.optional_record(tag=0x09, sfi=6).rstrip(b"\x00\x20")
        name += call.optional_record(tag=0x4E, sfi=6) if name else b""
        return CardBasic(call.region, ssn, card_no, call.card_id, text(name), call.atr_hist.hex().upper(),
                         call.version, dates[0], dates[1], terminal_no, self.device_no)

    # --- the HSM two-step read (§4.4.8) -----------------------------------------------------------

    @_ldt33
    def read_card_bas_hsm_step1(self, itype: int = 1) -> str:
        call = self._call(itype)
        call.identify()
        if call.generation != 3:
            raise HsmNotNeeded(f"a {call.version} card is read without external authentication")
        return self._hsm_step1(call)

    def _hsm_step1(self, call: Call) -> str:
        s1, s2, s3 = self.rng(8), self.rng(8), self.rng(8)
        answer = call.session.internal_authenticate(IRK, s2, s1)
        s4 = call.session.get_challenge(8)
        terminal_no = call.psam().terminal_number() if call.has_psam else ""
        self._pending = (call, answer, s1, terminal_no)
        flag = 3 if call.algorithm == "sm4" else 1
        fields = [call.region, call.atr_hist.hex().upper(), f"{flag:02d}", call.card_id,
                  *(v.hex().upper() for v in (s2, s1, s4, s3)), terminal_no]
        return "".join(f + "|" for f in fields)

    @_ldt33
    def read_card_bas_hsm_step2(self, key: str) -> CardBasic:
        if self._pending is None:
            raise ReaderError(-12, "no HSM step 1 in progress")
        call, answer, s1, terminal_no = self._pending
        self._pending = None
        parts = key.split("|") if isinstance(key, str) else []
        try:
            internal, external = (bytes.fromhex(p) for p in parts[:2])
        except ValueError:
            internal = external = b""
        if len(parts) != 3 or parts[2] or len(internal) != 16 or len(external) != 16:
            raise ParamError(-14, f"pKey must be '<32 hex>|<32 hex>|', got {key!r}")
        if internal[8:] != s1:
            raise ParamError(-23, "the HSM answered for another internal-authentication source")
        if not crypto.constant_time_equal(internal[:8], answer):
            raise CardAuthError(-25, "the card's internal authentication differs from the HSM's")
        call.session.send(apdu(0x00, 0x82, 0x00, RK, external), "EXTERNAL AUTHENTICATE 0A")
        return self._basic(call, terminal_no)

    # --- iReadCard, iWriteCard ------------------------------------------------------------------

    @_ldt33
    def read_card(self, itype: int, auth_type: int, card_info: str, file_addr: str) -> str:
        if auth_type not in (0, 1, 2, 3):
            raise ParamError(-14, f"iAuthType must be 0, 1, 2 or 3, got {auth_type!r}")
        card_id, card_no = params.card_info(card_info)
        groups = params.groups(file_addr)
        call = self._call(itype)
        call.identify()
        call.check_card(card_id, card_no)
        return files.read(call, auth_type, groups, lambda: self._pin(None, ENTER_PIN))

    @_ldt33
    def write_card(self, itype: int, card_info: str, file_addr: str, write_data: str) -> None:
        card_id, card_no = params.card_info(card_info)
        addresses, data = params.groups(file_addr), params.groups(write_data, "pWriteData")
        call = self._call(itype)
        call.identify()
        call.check_card(card_id, card_no)
        files.write(call, addresses, data)

    # --- PINs -------------------------------------------------------------------------------------

    @_ldt33
    def verify_pin(self, itype: int = 1, pin: str | None = None) -> None:
        call = self._call(itype)
        call.session.verify(self._pin(pin, ENTER_PIN))

    @_ldt33
    def change_pin(self, itype: int = 1, old: str | None = None, new: str | None = None) -> None:
        call = self._call(itype)
        call.session.change_pin(self._pin(old, OLD_PIN), self._new_pin(new))

    @_ldt33
    def reload_pin(self, itype: int, card_info: str, new: str | None = None) -> None:
        call = self._checked(itype, card_info)
        call.session.reload_pin(self._new_pin(new), call.keys())

    @_ldt33
    def unblock_pin(self, itype: int, card_info: str, new: str | None = None) -> None:
        call = self._checked(itype, card_info)
        call.session.unblock_pin(call.keys(), None if new is None else self._pin(new, NEW_PIN))

    def _checked(self, itype: int, card_info: str) -> Call:
        card_id, card_no = params.card_info(card_info)
        call = self._call(itype)
        call.identify()
        call.check_card(card_id, card_no)
        return call
