"""GET RESPONSE and GET CHALLENGE (spec §4.18, §4.10)."""

from __future__ import annotations

from ..sw import CardStatus
from ._declare import command


@command("GET RESPONSE", 0x00, 0xC0, data="none", own_le=True, in_blocked_app=True)
def get_response(card, apdu):
    if apdu.p1 or apdu.p2:
        raise CardStatus(0x6A86)
    buffered = card.buffered
    if buffered is None:
        raise CardStatus(0x6985)
    if apdu.le is not None and apdu.le < len(buffered):
        card.response = buffered  # kept for the next command (PD-04)
        raise CardStatus(0x6C00 | (len(buffered) & 0xFF))
    return buffered


@command("GET CHALLENGE", 0x00, 0x84, data="none", own_le=True, in_blocked_app=True)
def get_challenge(card, apdu):
    if apdu.p1 or apdu.p2:
        raise CardStatus(0x6A86)
    if apdu.le not in (4, 8, 16):
        raise CardStatus(0x6700)
    challenge = bytes(card.random(apdu.le))
    if len(challenge) != apdu.le:  # a test's forced random must give what was asked
        raise RuntimeError(f"random({apdu.le}) returned {len(challenge)} bytes")
    card.sec.challenge = challenge
    return challenge
