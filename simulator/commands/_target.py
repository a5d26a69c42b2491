"""Shared pieces of the file commands: finding the EF of an SFI or the current EF, checking ACs."""

from __future__ import annotations

from ..crypto import constant_time_equal
from ..filesystem import EF
from ..security import Condition, holds
from ..sw import CardStatus


def ef_by_sfi(card, sfi: int) -> EF:
    """SFI 0: the current EF (6986 if none); else the EF with that SFI in the current DF (6A82)."""
    if sfi == 0:
        ef = card.current_ef
        if ef is None:
            raise CardStatus(0x6986)
        return ef
    ef = card.current_df.by_sfi.get(sfi)
    if ef is None:
        raise CardStatus(0x6A82)
    return ef


def binary_target(card, p1: int, p2: int) -> tuple[EF, int, bool]:
    """(EF, offset, by_sfi) of READ/UPDATE BINARY P1 P2 (§4.7)."""
    if p1 & 0x80:
        if p1 & 0x60:
            raise CardStatus(0x6A86)
        sfi = p1 & 0x1F
        if sfi in (0, 31):
            raise CardStatus(0x6A86)
        return ef_by_sfi(card, sfi), p2, True
    ef = card.current_ef
    if ef is None:
        raise CardStatus(0x6986)
    return ef, ((p1 & 0x7F) << 8) | p2, False


def require(card, condition: Condition) -> None:
    if not holds(condition, card.sec.status) and "missing-access-check" not in card.defects:
        raise CardStatus(0x6982)


def tried(card, obj, check) -> bool:
    """Run a PIN or key check under its try counter (§5.3, PD-14).

    The counter is decremented and saved *before* the comparison, so pulling the card in the
    middle of a command never gives a free try; success puts it back to the maximum.
    """
    if obj.tries is None:
        return check()
    if "counter-not-decremented" not in card.defects:
        obj.tries = max(obj.tries - 1, 0)
        card.persist()
    ok = check()
    if ok and obj.tries != obj.max_tries and "counter-not-reset" not in card.defects:
        obj.tries = obj.max_tries
        card.persist()
    return ok


def failed(obj) -> CardStatus:
    """The status word of a failed check: 63Cx with tries left, 6300 without a counter."""
    if obj.tries is None:
        return CardStatus(0x6300)
    return CardStatus(0x63C0 | max(obj.tries, 0))


def key_ref(card, p2: int):
    """(key or None, status entry) of a key reference in P2 (PD-12)."""
    if p2 & 0x60:
        raise CardStatus(0x6A86)
    df = card.current_df
    if not p2 & 0x80 and df.app == "SSSE":
        df = card.ssse
    number = p2 & 0x1F
    key = df.keys.get(number)
    if key is not None and not key.versions:
        key = None  # a slot the image gave no value: no key
    return key, (df.path, number)


def mac_ok(card, expected: bytes, given: bytes) -> bool:
    """Compare a MAC in constant time (the defect `mac-not-checked` accepts any)."""
    return constant_time_equal(expected, given) or "mac-not-checked" in card.defects
