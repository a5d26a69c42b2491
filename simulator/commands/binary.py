"""READ BINARY and UPDATE BINARY (spec §4.7, §4.9)."""

from __future__ import annotations

from ..sw import CardStatus
from ._declare import command
from ._target import binary_target, require


def _transparent(card, apdu):
    """The EF and offset of P1 P2, checked in the order of §4.3 up to the offset (8-8e)."""
    ef, offset, by_sfi = binary_target(card, apdu.p1, apdu.p2)
    if ef.is_record:
        raise CardStatus(0x6981)
    if offset >= len(ef.data):
        raise CardStatus(0x6B00)
    return ef, offset, by_sfi


@command("READ BINARY", 0x00, 0xB0, data="none", own_le=True)
def read_binary(card, apdu):
    ef, offset, by_sfi = _transparent(card, apdu)
    require(card, ef.read_ac)
    if by_sfi:
        card.current_ef = ef
    le = apdu.le or 256  # what exists is returned, never 6Cxx (PD-03)
    return bytes(ef.data[offset: offset + le])


@command("UPDATE BINARY", 0x00, 0xD6, data="required")
def update_binary(card, apdu):
    ef, offset, by_sfi = _transparent(card, apdu)
    if offset + len(apdu.data) > len(ef.data):
        raise CardStatus(0x6A84)
    require(card, ef.write_ac)
    ef.data[offset: offset + len(apdu.data)] = apdu.data
    if by_sfi:
        card.current_ef = ef
    card.persist()
    return None
