"""PKI application (gen3), PIN and master-key commands (spec §4.19.1, .2, .8, .9, §5.4.9-§5.4.11):
HASH PIN, VERIFY (PKI), CHANGE PIN with MAC, CHANGE MASTER KEY. The key commands live in
pki_keys.
"""

from __future__ import annotations

from .. import crypto, schemes
from ..defects import Defect
from ..sw import CardStatus
from ._declare import PKI_APP, command
from ._target import failed, mac_ok, require, tried
from .pki_keys import ADF1, ADMIN, USER

PIN_ENTRY = {0x81: USER, 0x00: ADMIN}


def _pin(card, p2: int):
    """(PIN, status entry) of P2 81 (user) / 00 (admin); 6A88 for another P2 or outside SS.CERT.ADF1."""
    pin = card.current_df.pins.get(p2) if card.current_df.path == ADF1 and p2 in PIN_ENTRY else None
    if pin is None:
        raise CardStatus(0x6A88)
    return pin, PIN_ENTRY[p2]


@command("HASH PIN", 0x80, 0xC4, data="required", where=PKI_APP)
def hash_pin(card, apdu):
    if (apdu.p1, apdu.p2) != (0x01, 0x03):
        raise CardStatus(0x6A86)
    data = apdu.data
    # §4.19.1 spells the object C1 n <PIN>: n is one byte (1-16 never needs a long form), Lc = n + 2.
    if len(data) < 2 or len(data) != data[1] + 2:
        raise CardStatus(0x6700)
    if data[0] != 0xC1 or not 1 <= data[1] <= 16:
        raise CardStatus(0x6A80)
    return crypto.sm3(data[2:])  # any bytes: the card does not check the PIN format here


@command("VERIFY (PKI)", 0x00, 0x20, data="required", where=PKI_APP, p1=0x01)
def verify_pki(card, apdu):
    if len(apdu.data) != 16:
        raise CardStatus(0x6700)
    pin, entry = _pin(card, apdu.p2)
    if pin.blocked and Defect.BLOCKED_PIN_STILL_VERIFIES not in card.defects:
        raise CardStatus(0x6983)
    challenge = card.take_challenge()
    expected = schemes.pki_verify_cryptogram(pin.value, challenge)
    if tried(card, pin, lambda: crypto.constant_time_equal(expected, apdu.data)):
        card.sec.status.add(entry)
        return None
    card.sec.status.discard(entry)  # a failed VERIFY removes that PIN (PD-10)
    raise failed(pin)


@command("CHANGE PIN (PKI, MAC)", 0x84, 0x5E, data="required", where=PKI_APP)
def change_pin_mac(card, apdu):
    if apdu.p1 != 0x01:
        raise CardStatus(0x6A86)
    data = apdu.data
    if len(data) != 0x14:
        raise CardStatus(0x6700)
    pin, entry = _pin(card, apdu.p2)
    if pin.blocked and Defect.BLOCKED_PIN_STILL_VERIFIES not in card.defects:
        raise CardStatus(0x6983)
    challenge = card.take_challenge()
    key = schemes.pki_pin_key(pin.value)
    body, given = data[:16], data[16:]
    expected = crypto.sm4_mac(key, apdu.header + b"\x14" + body, crypto.r16(challenge))
    # The MAC is keyed by the current PIN, so a wrong MAC is a wrong PIN: it costs a try (PD-27).
    if not tried(card, pin, lambda: mac_ok(card, expected, given)):
        card.sec.status.discard(entry)
        raise failed(pin)
    try:  # only an authenticated BODY is looked at: 6A80 comes after a right MAC (§4.19.8)
        new = schemes.open_pin_block(crypto.sm4_decrypt(key, body), 16, min_len=2, max_len=8)
    except ValueError:
        raise CardStatus(0x6A80) from None
    pin.value = new
    card.persist()
    card.sec.status.add(entry)  # proving the current PIN counts as a VERIFY (§5.3)
    return None


@command("CHANGE MASTER KEY", 0x84, 0xD4, data="required", where=PKI_APP)
def change_master_key(card, apdu):
    if apdu.p1 != 0x01:
        raise CardStatus(0x6A86)
    data = apdu.data
    if len(data) != 0x24:
        raise CardStatus(0x6700)
    df = card.current_df
    key = df.keys.get(apdu.p2) if apdu.p2 <= 0x1F else None
    if key is None or not key.versions:
        raise CardStatus(0x6A88)
    challenge = card.take_challenge()  # step 10 comes before the access check of step 11 (§4.3)
    mk_entry = (df.path, 0)
    require(card, (frozenset({mk_entry}),))
    old = key.versions[1]
    body, given = data[:32], data[32:]
    expected = crypto.sm4_mac(old, apdu.header + b"\x24" + body, crypto.r16(challenge))
    # As for 845E, the encrypted BODY is judged only once the MAC has authenticated it.
    if not mac_ok(card, expected, given):
        raise CardStatus(0x6988)
    try:
        attributes, new = schemes.open_pki_change_mk(old, body)
    except ValueError:
        raise CardStatus(0x6A80) from None
    key.versions = {1: new}
    key.attributes = attributes  # stored, not interpreted (PD-27)
    if key.max_tries is not None:
        key.tries = key.max_tries
    card.persist()
    card.sec.status.discard(mk_entry)  # the next change needs an authentication with the new key
    return None
