"""PKI commands: lengths, parameters and the order of checks of spec §4.3, one fault at a time."""

from __future__ import annotations

import pytest
from pkikit import (ADMIN, ENV, GOOD_MK, IMP, MK, SIGN_REFS, USER, card_at, challenge, sm4, sw, verify,
                    with_envelope_keys)

from simulator import Card


# --- lengths, parameters and the order of checks (§4.3) ----------------------------------------

def ready(image=None, pins=(), load=False, auth=False, chal=False) -> Card:
    card = card_at(image=image)
    for p2 in pins:
        assert verify(card, p2, USER if p2 == 0x81 else ADMIN) == "9000"
    if load:
        assert sw(card, IMP.fields["APDU_LOADKEY"]) == "9000"
    if auth:
        r = challenge(card)
        assert sw(card, "0082000010" + sm4(MK, r).hex()) == "9000"
    if chal:
        challenge(card)
    return card


ORDER = [  # (state, APDU, SW); where a line has two faults, the first in §4.3 order must win
    ({}, "80C4010406C10312345600", "6A86"), ({}, "80C4010306C00312345678", "6700"),
    ({}, "80C4010301C1", "6700"), ({}, "80C4010305C003123456", "6A80"),
    ({}, "80C4010302C100", "6A80"), ({}, "80C4010313C111" + "11" * 17, "6A80"),
    ({"chal": True}, "00200181084794C07B485910BB", "6700"), ({"chal": True}, "00200182104794C07B485910BBA3B6CADA20F62211", "6A88"),
    ({}, "00200181104794C07B485910BBA3B6CADA20F62211", "6984"),
    ({}, "8040000107" + SIGN_REFS[:-2], "6A86"), ({}, "8040000007" + SIGN_REFS[:-2], "6700"),
    ({}, "8040000008C0020014C2020013", "6A82"), ({}, "8040000008C0020012C2020012", "6A82"),
    ({}, "8040000008C1020012C2020013", "6982"), ({"pins": [0x81]}, "8040000008C1020012C2020013", "6A80"),
    ({}, "80C9830008" + SIGN_REFS, "6A86"), ({}, "80C9820107" + SIGN_REFS[:-2], "6A86"),
    ({}, "80C9820007" + SIGN_REFS[:-2], "6700"), ({}, "80C98200", "6700"),
    ({}, "80C9828002C002", "6700"), ({}, "80C9820008C0020013C2020013", "6A82"),
    ({}, "80C9820008C2020012C0020013", "6A80"), ({}, "80C9820008C0020012C2020014", "6A82"),
    ({}, "804E000102C202", "6982"), ({"pins": [0x81]}, "804E000102C202", "6A80"), ({}, "804E0002" + ENV.fields["APDU"][8:], "6A86"),
    ({}, "804E000108C2020018C1020102", "6A82"),
    ({}, "804A021011C10F" + "11" * 15, "6700"), ({}, "804A021112C110" + "11" * 16, "6A86"),
    ({}, "804A021012C210" + "11" * 16, "6982"), ({"pins": [0x00]}, "804A021012C210" + "11" * 16, "6A80"),
    ({}, "80C2400145" + IMP.fields["APDU_PUB"][10:-2], "6A86"), ({}, "80C2400045" + IMP.fields["APDU_PUB"][10:-2], "6700"),
    ({}, "80C2C00125" + IMP.fields["APDU_PRIV"][10:-2], "6700"),
    ({}, "80C2C00126C2020013CB20" + "00" * 32, "6A82"), ({}, "80C2C00126C2020015CA20" + "00" * 32, "6985"),
    ({"pins": [0x00], "load": True}, "80C2C00126C2020015CA20" + "00" * 32, "6A80"),
    ({}, "80C2400046C0020014CB40" + "00" * 64, "6982"),
    ({"chal": True}, "845E020013" + "00" * 19, "6A86"), ({"chal": True}, "845E018213" + "00" * 19, "6700"),
    ({}, "845E018214" + "00" * 20, "6A88"), ({}, "845E018114" + "00" * 20, "6984"),
    ({"chal": True}, "84D40201" + GOOD_MK[8:], "6A86"), ({"chal": True}, "84D4010123" + GOOD_MK[10:-2], "6700"),
    ({"chal": True}, "84D40101" + GOOD_MK[8:], "6A88"), ({}, GOOD_MK, "6984"),
    ({"chal": True}, GOOD_MK, "6982"), ({"auth": True, "chal": True}, GOOD_MK, "6988"),
]


@pytest.mark.parametrize("state,apdu,expected", ORDER, ids=[f"{a[:8]}-{e}" for _, a, e in ORDER])
def test_order_of_checks(state, apdu, expected):
    card = ready(image=with_envelope_keys() if apdu[:4] == "804E" else None, **state)
    assert sw(card, apdu) == expected


def test_challenge_use_follows_step_10():
    card = ready(chal=True)  # 84D4 without key(00): passes step 10, so the challenge is used up
    assert sw(card, GOOD_MK) == "6982" and card.sec.challenge is None
    card = ready(chal=True)
    assert sw(card, "00200182104794C07B485910BBA3B6CADA20F62211") == "6A88"
    assert card.sec.challenge is not None  # rejected at step 8d: kept
