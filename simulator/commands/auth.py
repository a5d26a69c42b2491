"""EXTERNAL AUTHENTICATE and INTERNAL AUTHENTICATE (spec §4.11, §4.12, §5.4.2-§5.4.5)."""

from __future__ import annotations

from .. import crypto, schemes
from ..sw import CardStatus
from ._declare import command
from ._target import failed, key_ref, tried


def _key(card, apdu):
    """The key of P2 and its value, checked in the order of §4.3 (6A86, 6700, 6A88)."""
    if apdu.p1:
        raise CardStatus(0x6A86)
    key, entry = key_ref(card, apdu.p2)
    data = apdu.data
    if len(data) not in (16, 17) or (key is not None and key.scheme == "sm4-direct" and len(data) == 17):
        raise CardStatus(0x6700)  # sm4-direct takes CT(16) only
    if key is None:
        raise CardStatus(0x6A88)
    return key, entry, _version(card, key, data)


def _version(card, key, data: bytes) -> bytes:
    """The key value for the version byte of an Lc 11 command (PD-15), else version 01."""
    if len(data) == 17 and card.model.switches["key_version_byte"] == "select":
        value = key.versions.get(data[16])
    else:
        value = key.versions.get(1)
    if value is None:
        raise CardStatus(0x6A88)
    return value


@command("EXTERNAL AUTHENTICATE", 0x00, 0x82, data="required")
def external_authenticate(card, apdu):
    key, entry, value = _key(card, apdu)
    data = apdu.data
    if key.role != "external":
        raise CardStatus(0x6985)
    if key.blocked:
        raise CardStatus(0x6983)
    challenge = card.take_challenge()
    if key.scheme == "sm4-direct":
        expected = schemes.sm4_direct_cryptogram(value, challenge)
        given = data[:16]
    else:
        expected = schemes.external_cryptogram(key.scheme, value, challenge, data[8:16])
        given = data[:8]
    if tried(card, key, lambda: crypto.constant_time_equal(expected, given)):
        card.sec.status.add(entry)
        return None
    card.sec.status.discard(entry)
    raise failed(key)


@command("INTERNAL AUTHENTICATE", 0x00, 0x88, data="required")
def internal_authenticate(card, apdu):
    key, _, value = _key(card, apdu)
    data = apdu.data
    if key.role != "internal":
        raise CardStatus(0x6985)
    return schemes.internal_authenticate(key.scheme, value, data[:8], data[8:16])
