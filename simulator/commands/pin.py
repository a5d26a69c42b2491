"""Cardholder PIN: VERIFY, CHANGE PIN, RELOAD PIN, PIN UNBLOCK (spec §4.13-§4.16)."""

from __future__ import annotations

from .. import crypto, schemes
from ..defects import Defect
from ..sw import CardStatus
from ._declare import SSSE_TREE, command
from ._target import failed, mac_error, mac_key, mac_ok, secure_messaging, tried


def _pin(card):
    return card.ssse.pins[0]


def _valid(bcd: bytes, sizes=range(2, 7)) -> bool:
    return len(bcd) in sizes and schemes.bcd_pin(bcd) is not None


@command("VERIFY", 0x00, 0x20, p1=0x00)
def verify(card, apdu):
    if apdu.p1 != 0x00:
        raise CardStatus(0x6A86)
    data = apdu.data
    if data is not None and not 2 <= len(data) <= 6:
        raise CardStatus(0x6700)
    if apdu.p2 != 0x00 or card.current_df.app != "SSSE":
        raise CardStatus(0x6A88)
    pin = _pin(card)
    if data is None:  # status query (PD-22)
        if pin.blocked:
            raise CardStatus(0x6983)
        if "PIN" in card.sec.status:
            return None
        raise failed(pin)
    if pin.blocked and Defect.BLOCKED_PIN_STILL_VERIFIES not in card.defects:
        raise CardStatus(0x6983)
    if schemes.bcd_pin(data) is None:
        raise CardStatus(0x6A80)
    if tried(card, pin, lambda: crypto.constant_time_equal(pin.value, data)):
        card.sec.status.add("PIN")
        return None
    card.sec.status.discard("PIN")
    raise failed(pin)


@command("CHANGE PIN", 0x80, 0x5E, data="required", where=SSSE_TREE, p1=0x01)
def change_pin(card, apdu):
    if apdu.p2 != 0x00:
        raise CardStatus(0x6A86)
    data = apdu.data
    if not 5 <= len(data) <= 13:
        raise CardStatus(0x6700)
    pin = _pin(card)
    if pin.blocked:
        raise CardStatus(0x6983)
    sep = data.find(b"\xff")
    old, new = (data[:sep], data[sep + 1:]) if sep >= 0 else (b"", b"")
    if sep < 0 or not _valid(old) or not _valid(new):
        raise CardStatus(0x6A80)
    if not tried(card, pin, lambda: crypto.constant_time_equal(pin.value, old)):
        card.sec.status.discard("PIN")
        raise failed(pin)
    pin.value = new
    card.persist()
    card.sec.status.add("PIN")  # a successful CHANGE PIN counts as a VERIFY (PD-23)
    return None


@command("RELOAD PIN", 0x80, 0x5E, data="required", where=SSSE_TREE, p1=0x00)
def reload_pin(card, apdu):
    if apdu.p2 != 0x00:
        raise CardStatus(0x6A86)
    data = apdu.data
    if not 6 <= len(data) <= 10:
        raise CardStatus(0x6700)
    rpk = mac_key(card, 0x07)
    new, given = data[:-4], data[-4:]
    if not _valid(new):
        raise CardStatus(0x6A80)
    if not mac_ok(card, crypto.mac(rpk.algorithm, rpk.versions[1], new), given):
        raise mac_error(card)
    pin = _pin(card)
    pin.value, pin.tries = new, pin.max_tries  # reloading also unblocks
    card.persist()
    return None


@command("PIN UNBLOCK", 0x84, 0x24, data="required", where=SSSE_TREE)
def pin_unblock(card, apdu):
    if apdu.p1 or apdu.p2:
        raise CardStatus(0x6A86)
    # Lc 04: MAC only; 0C/14: ENC of the new PIN block (one 3DES or SM4 block) and the MAC
    puk, enc = secure_messaging(card, apdu, 0x06, (4, 12 if card.model.algorithm == "3des" else 20))
    pin = _pin(card)
    if enc:
        try:
            pin.value = schemes.pin_unblock_dec(puk.algorithm, puk.versions[1], enc)
        except ValueError:
            raise CardStatus(0x6A80) from None
    pin.tries = pin.max_tries
    card.persist()
    return None
