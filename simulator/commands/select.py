"""SELECT (spec §4.5)."""

from __future__ import annotations

from ..codecs import build_fci
from ..filesystem import DF, EF
from ..sw import CardStatus
from ._declare import command


@command("SELECT", 0x00, 0xA4, in_blocked_app=True)
def select(card, apdu):
    p1, p2, data = apdu.p1, apdu.p2, apdu.data
    if p1 not in (0x00, 0x01, 0x02, 0x04) or p2 not in (0x00, 0x0C):
        raise CardStatus(0x6A86)
    if p1 == 0x04:
        if data is None or len(data) > 16:
            raise CardStatus(0x6700)
        target = card.model.by_aid.get(data)
    elif data is None:
        if p1 != 0x00:  # only P1 00 without data means the MF
            raise CardStatus(0x6700)
        target = card.mf
    elif len(data) != 2:
        raise CardStatus(0x6700)
    elif p1 == 0x01:  # a child DF of the current DF (R2-1: regional readers select DF03 so)
        node = card.current_df.children.get((data[0] << 8) | data[1])
        target = node if isinstance(node, DF) else None
    else:
        target = _by_fid(card, (data[0] << 8) | data[1], ef_only=p1 == 0x02)
    if target is None or (target is card.mf and card.model.switches["select_mf"] == "reject"):
        raise CardStatus(0x6A82)
    blocked = card.blocks["application"] if target.app == "SSSE" else "active"
    if blocked == "permanent":
        raise CardStatus(0x9303)
    fci = None
    if p1 == 0x04 and p2 == 0x00 and blocked == "active":
        fci = target.fci
        if fci is None:  # built once per DF: the FCI never changes
            fci = target.fci = build_fci(target.aid, target.dir_sfi, target.fci_extra)
        card.check_le(apdu, len(fci))
    if isinstance(target, DF):
        card.select_df(target)
    else:
        card.current_df, card.current_ef = target.parent, target
    if blocked == "temporary":
        raise CardStatus(0x6283)  # selected, no FCI (PD-21)
    return fci


def _by_fid(card, fid: int, ef_only: bool) -> DF | EF | None:
    """Search order of §4.5: MF, a child of the current DF, its parent, a sibling DF."""
    current = card.current_df
    if ef_only:
        node = current.children.get(fid)
        return node if isinstance(node, EF) else None
    if fid == 0x3F00:
        return card.mf
    node = current.children.get(fid)
    if node is not None:
        return node
    parent = current.parent
    if parent is None:
        return None
    if parent.fid == fid:
        return parent
    node = parent.children.get(fid)
    return node if isinstance(node, DF) else None
