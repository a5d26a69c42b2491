"""READ RECORD and UPDATE RECORD, cyclic append included (spec §4.6, §4.8)."""

from __future__ import annotations

from ..defects import Defect
from ..filesystem import CyclicEF
from ..sw import CardStatus
from ._declare import command
from ._target import ef_by_sfi, require


@command("READ RECORD", 0x00, 0xB2, data="none")
def read_record(card, apdu):
    p1, p2 = apdu.p1, apdu.p2
    mode, sfi = p2 & 0x07, p2 >> 3
    if mode not in (0x04, 0x00) or sfi == 31:
        raise CardStatus(0x6A86)
    ef = ef_by_sfi(card, sfi)
    if not ef.is_record:
        raise CardStatus(0x6981)
    if p1 == 0:
        raise CardStatus(0x6A83)
    number = p1 if mode == 0x04 else ef.find(p1)
    if number is None or number > len(ef.records):
        raise CardStatus(0x6A83)
    record = ef.records[number - 1]
    if Defect.SHORT_LE_BEFORE_ACCESS_CHECK in card.defects:  # the defect: 6Cxx judged before step 11
        card.check_le(apdu, len(record))
    require(card, ef.read_ac_of(number))
    card.check_le(apdu, len(record))  # after the access condition (R2-7, PD-38)
    if sfi:
        card.current_ef = ef  # side effect only on 9000 (PD-08)
    return bytes(record)


@command("UPDATE RECORD", 0x00, 0xDC, data="required")
def update_record(card, apdu):
    p1, p2, data = apdu.p1, apdu.p2, apdu.data
    mode, sfi = p2 & 0x07, p2 >> 3  # 04 record number, 00 record identifier (R2-2), 03 append
    if mode not in (0x04, 0x00, 0x03) or sfi == 31 or (mode == 0x03 and p1 != 0):
        raise CardStatus(0x6A86)
    ef = ef_by_sfi(card, sfi)
    cyclic = isinstance(ef, CyclicEF)
    if not ef.is_record or cyclic != (mode == 0x03):
        raise CardStatus(0x6981)
    if cyclic:
        number, length = 1, ef.length
    else:
        # identifier mode: the first record whose first byte is P1; the new first byte is not compared
        number = (ef.find(p1) if mode == 0x00 else p1) if p1 else None
        if number is None or number > len(ef.records):
            raise CardStatus(0x6A83)
        length = len(ef.records[number - 1])
    if len(data) != length:
        raise CardStatus(0x6700)
    require(card, ef.write_ac_of(number))
    if cyclic:
        ef.append(data)
    else:
        ef.records[number - 1][:] = data
    if sfi:
        card.current_ef = ef
    card.persist()
    return None
