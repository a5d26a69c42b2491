"""APPLICATION BLOCK, APPLICATION UNBLOCK, CARD BLOCK (spec §4.17, PD-21)."""

from __future__ import annotations

from ..sw import CardStatus
from ._declare import SSSE_TREE, command
from ._target import secure_messaging


def _amk_mac(card, apdu) -> None:
    """Lc 04 and a right MAC with the AMK (08) over CLA INS P1 P2 Lc (§4.17)."""
    secure_messaging(card, apdu, 0x08, (4,))


@command("APPLICATION BLOCK", 0x84, 0x1E, data="required", where=SSSE_TREE)
def application_block(card, apdu):
    if apdu.p1 or apdu.p2 not in (0x00, 0x01):
        raise CardStatus(0x6A86)
    _amk_mac(card, apdu)
    card.blocks["application"] = "permanent" if apdu.p2 == 0x01 else "temporary"
    card.persist()
    return None


@command("APPLICATION UNBLOCK", 0x84, 0x18, data="required", where=SSSE_TREE, in_blocked_app=True)
def application_unblock(card, apdu):
    if apdu.p1 or apdu.p2:
        raise CardStatus(0x6A86)
    if card.blocks["application"] == "permanent":
        raise CardStatus(0x6985)  # a permanent block is for good
    _amk_mac(card, apdu)
    if card.blocks["application"] != "active":
        card.blocks["application"] = "active"
        card.persist()
    return None


@command("CARD BLOCK", 0x84, 0x16, data="required", where=SSSE_TREE)
def card_block(card, apdu):
    if apdu.p1 or apdu.p2:
        raise CardStatus(0x6A86)
    _amk_mac(card, apdu)
    card.blocks["card_blocked"] = True
    card.persist()
    return None
