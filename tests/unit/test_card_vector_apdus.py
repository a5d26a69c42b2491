"""Every spec `vector` block with an APDU that a sample card (§3.8) can answer, sent to that card.

The card is the one whose key equals the vector's K (or whose PIN / master key the vector uses);
the vector's challenge R is forced through the card's `random`. The answer must be 9000, or the
vector's result (OUT, M) for commands that return data. Vectors whose K belongs to no sample card
(DES-EXT-1, SM4-INT-1, ...) are listed as not applicable, with the reason.
"""

from __future__ import annotations

import pytest

from cardkit import (PIN, SELECT_SSSE, challenge, make, ok, registered, rsp, select_df, send, sw, verify)
from simulator import schemes
from simulator.samplekeys import sample_keys
from specvectors import SpecVector, load_spec_vectors

VECTORS = [v for v in load_spec_vectors() if any(f.startswith("APDU") for f in v.fields)]
PKI_PINS = {"123456": "81", "12345678": "00"}  # §3.8: PKI user / admin PIN of the gen3 sample
PKI_TYPES = {"pki-verify", "pki-change-pin", "pki-change-mk", "sm2-decrypt", "sm2-import"}
DATA_RESULT = {"des-session-int": "OUT", "sm4-session-int": "OUT", "sm2-decrypt": "M"}


def key_owners(k: bytes) -> list[tuple[int, str, str]]:
    """(generation, DF designation, key reference) of every sample key equal to k (§5.5)."""
    return [(gen, df, ref) for gen in (1, 2, 3) for df, refs in sample_keys(gen).items()
            for ref, value in refs.items() if bytes.fromhex(value) == k]


def plan(v: SpecVector) -> list[tuple[int, str]] | str:
    """[(generation, DF to select)], or the reason no sample card answers the vector."""
    f = v.fields
    if v.type in ("ssse-verify", "ssse-change-pin"):
        old = f.get("PIN", f.get("OLD"))
        return [(g, "SSSE") for g in (1, 2, 3)] if old == PIN else f"PIN {old} is no sample card's"
    if v.type in ("pki-verify", "pki-change-pin"):
        pin = f.get("PIN", f.get("OLD"))
        return [(3, "ADF1")] if pin in PKI_PINS else f"PKI PIN {pin} is no sample card's"
    if v.type == "sm2-import":
        return [(3, "ADF1")]  # any gen3 card: the admin PIN of §3.8 is all it needs
    if v.type == "sm2-decrypt":
        return [(3, "ADF1")] if _holds_sm2_key(v.hex("D")) else "no sample card holds D in 0013"
    k = v.hex("OLDMK" if "OLDMK" in f else "K")
    owners = key_owners(k)
    if not owners:
        return "K is no sample card's key"
    return [(gen, {"PKI": "ADF1"}.get(df, df)) for gen, df, _ in owners]


def _holds_sm2_key(d: bytes) -> bool:
    card = make(3)
    ef = card.model.efs.get("PKI/SS.CERT.ADF1/0013")
    return ef is not None and bytes(ef.data) == d


PLANS = {v.name: plan(v) for v in VECTORS}
RUN = [(v, gen, df) for v in VECTORS if not isinstance(PLANS[v.name], str) for gen, df in PLANS[v.name]]


def test_the_vectors_the_sample_cards_answer():
    expected = {"DES-EXT-G2-K04", "SM4-EXT-G3-K04", "SM4-EXT-G3-K0A", "SM4-EXT-G3-K04-D", "DES-INT-G2-K01",
                "SM4-DIRECT-PKI-MK", "APP-BLOCK-G2", "APP-BLOCK-PERM-G2", "APP-BLOCK-G3", "APP-UNBLOCK-G2",
                "CARD-BLOCK-G2", "PIN-UNBLOCK-G2", "PIN-UNBLOCK-NEWPIN-G2", "PIN-UNBLOCK-NEWPIN-G3",
                "RELOAD-PIN-G2", "RELOAD-PIN-G3", "SSSE-VERIFY", "SSSE-CHANGE-PIN", "PKI-VERIFY-USER",
                "PKI-VERIFY-ADMIN", "PKI-CHANGE-ADMIN-PIN", "PKI-CHANGE-USER-PIN", "PKI-CHANGE-MK", "SM2-IMPORT"}
    assert expected <= {v.name for v, _, _ in RUN}, {n: PLANS.get(n) for n in expected}
    # the ones no sample card answers, for a reason the spec makes plain
    assert {n for n, p in PLANS.items() if isinstance(p, str)} >= {
        "DES-EXT-1", "DES-INT-1", "SM4-EXT-1", "SM4-INT-1", "SM4-DIRECT-1"}


@pytest.mark.parametrize("v, gen, df", RUN, ids=[f"{v.name}@gen{gen}" for v, gen, _ in RUN])
def test_vector_apdu_on_its_sample_card(v, gen, df):
    if v.type in PKI_TYPES and not registered(0x00, 0x20, 0x01):
        pytest.skip("the PKI family is not in the engine yet")
    f = v.fields
    forced = [f["R"]] if "R" in f else []
    if v.type == "pki-change-mk":
        forced = ["A5" * 16] + forced  # the challenge of the EXTERNAL AUTHENTICATE before it
    card = make(gen, *forced)
    select_df(card, df)
    _before(card, v)
    if "R" in f:
        assert challenge(card, len(v.hex("R"))) == v.hex("R")
    if v.type == "sm2-import":
        for name in ("APDU_LOADKEY", "APDU_PUB", "APDU_PRIV"):
            assert rsp(card, f[name]) == "9000", name
    else:
        data, status = send(card, f["APDU"])
        if v.type in DATA_RESULT:
            assert status == f"61{len(v.hex(DATA_RESULT[v.type])):02X}"  # t0: the data waits
            data, status = send(card, "00C00000" + status[2:])
            assert data == v.hex(DATA_RESULT[v.type])
        assert status == "9000"
    _after(card, v)


def _before(card, v: SpecVector) -> None:
    if v.type == "pki-change-mk":  # field flow: challenge, EXTERNAL AUTHENTICATE with MK, challenge
        r = challenge(card, 16)
        ok(card, "0082000010" + schemes.sm4_direct_cryptogram(v.hex("OLDMK"), r).hex())
    if v.type == "sm2-import":  # 804A and 80C2 need the admin PIN (PD-27)
        r = challenge(card, 16)
        ok(card, "0020010010" + schemes.pki_verify_cryptogram(bytes.fromhex("12345678"), r).hex())


def _after(card, v: SpecVector) -> None:
    """The effect the vector's command is for, seen from outside."""
    f = v.fields
    if v.type.endswith("-ext"):
        assert card.sec.status, "EXTERNAL AUTHENTICATE added nothing to the security status"
    elif "NEW" in f and v.type.startswith(("reload-pin", "pin-unblock", "ssse-change")):
        assert verify(card, f["NEW"]) == "9000"
    elif v.name.startswith("APP-BLOCK"):
        ok(card, "00A40000023F00")
        assert rsp(card, SELECT_SSSE) == ("9303" if "PERM" in v.name else "6283")
    elif v.name.startswith("CARD-BLOCK"):
        assert rsp(card, "00A40000023F00") == "6A81"
    elif v.type == "pki-change-pin":
        r = challenge(card, 16)
        new = bytes.fromhex(f["NEW"])
        assert sw(card, f"002001{PKI_PINS[f['OLD']]}10" + schemes.pki_verify_cryptogram(new, r).hex()) == "9000"
    elif v.type == "sm2-import":
        ok(card, "00A40200020014")
        assert ok(card, "00B0000042")[2:] == v.hex("P2X") + v.hex("P2Y")
