"""APPLICATION BLOCK / UNBLOCK and CARD BLOCK (spec §4.17, §5.4.7, §4.3 steps 1, 5, 7a, PD-18, PD-21)."""

from __future__ import annotations

import pytest

from cardkit import PKI_NAME, SELECT_SSSE, challenge, image, mac84, make, ok, rsp, select_df, sw
from simulator import Card

BLOCK, BLOCK_PERM, UNBLOCK, CARD_BLOCK = "841E0000", "841E0001", "84180000", "84160000"


def at(gen: int = 2, df: str = "SSSE", **switches) -> Card:
    card = make(gen, **switches)
    select_df(card, df)
    return card


def reborn(card: Card) -> Card:
    """The same card after its image was saved and loaded again (persistent state, §5.3)."""
    return Card.from_dict(card.export_image())


@pytest.mark.parametrize("gen", [1, 2, 3])
@pytest.mark.parametrize("n", [4, 8, 16])
@pytest.mark.parametrize("header", [BLOCK, BLOCK_PERM, UNBLOCK, CARD_BLOCK],
                         ids=["APPLICATION BLOCK", "APPLICATION BLOCK permanent", "APPLICATION UNBLOCK",
                              "CARD BLOCK"])
def test_right_mac_9000_any_challenge_length(gen, n, header):
    card = at(gen)
    assert sw(card, mac84(card, header, n=n)) == "9000"


# --- temporary block --------------------------------------------------------------------------

def test_temporary_block_effects():
    card = at(2)
    assert sw(card, mac84(card, BLOCK)) == "9000"
    # inside the application: only SELECT, GET CHALLENGE, GET RESPONSE, APPLICATION UNBLOCK
    assert sw(card, "00B2012C00") == "6985"
    assert sw(card, "0020000003123456") == "6985"
    assert sw(card, "0088000110" + "00" * 16) == "6985"
    assert sw(card, "805E010007123456FF246810") == "6985"
    assert sw(card, "0084000008") == "9000"
    assert sw(card, "00C0010000") == "6A86"  # GET RESPONSE passes step 5, stops at step 6
    assert rsp(card, "00A4020002EF05") == "6283"  # SELECT passes; EF of the blocked application
    assert rsp(card, SELECT_SSSE) == "6283"  # selected, no FCI and no 61xx
    assert card.current_df.name == "SSSE"
    assert rsp(card, "00A4000002DF03") == "6283"
    assert card.current_df.name == "DF03"
    assert sw(card, "00B2010400") == "6985"


def test_temporary_block_from_a_df_and_the_mf():
    card = at(2, "DF02")
    assert sw(card, mac84(card, BLOCK)) == "9000"  # DF02 is in the SSSE tree
    assert sw(card, "00B2012C00") == "6985"
    ok(card, "00A40000023F00")  # the MF is not part of the application
    assert sw(card, "00B2012C00") == "6A82"
    assert sw(card, "00200000") == "6A88"


@pytest.mark.parametrize("header", [BLOCK, BLOCK_PERM], ids=["temporary", "permanent"])
def test_pki_application_is_not_blocked(header):
    card = at(3)
    assert sw(card, mac84(card, header)) == "9000"
    assert rsp(card, "00A404000C" + PKI_NAME) == "6110"  # 16-byte FCI (§4.5)
    assert sw(card, "00A4000002DF01") == "9000"  # SS.CERT.ADF1


def test_unblock_clears_a_temporary_block():
    card = at(2)
    assert sw(card, mac84(card, BLOCK)) == "9000"
    assert sw(card, mac84(card, UNBLOCK)) == "9000"
    assert sw(card, "00B2012C00") == "9000"
    assert rsp(card, SELECT_SSSE) == "6118"


def test_block_is_persistent():
    card = at(2)
    assert sw(card, mac84(card, BLOCK)) == "9000"
    card.reset()
    assert rsp(card, SELECT_SSSE) == "6283"
    card = reborn(card)
    assert rsp(card, SELECT_SSSE) == "6283"


def test_commands_with_a_mac_inside_a_blocked_application():
    card = at(2)
    assert sw(card, mac84(card, BLOCK)) == "9000"
    assert sw(card, mac84(card, CARD_BLOCK)) == "6985"  # not on the step 5 list
    assert sw(card, mac84(card, BLOCK)) == "6985"
    assert sw(card, mac84(card, "84240000", ref="06")) == "6985"


# --- permanent block --------------------------------------------------------------------------

@pytest.mark.parametrize("target", [SELECT_SSSE, "00A4040C06D15600000500", "00A4040006D15600000504"])
def test_permanent_block_9303_selects_nothing(target):
    card = at(2)
    assert sw(card, mac84(card, BLOCK_PERM)) == "9000"
    ok(card, "00A40000023F00")
    assert rsp(card, target) == "9303"
    assert card.current_df.name == "MF"
    assert sw(card, "00B2012C00") == "6A82"  # still at the MF


def test_permanent_block_survives_reset_and_reload():
    card = at(2)
    assert sw(card, mac84(card, BLOCK_PERM)) == "9000"
    card.reset()
    assert rsp(card, SELECT_SSSE) == "9303"
    assert rsp(reborn(card), SELECT_SSSE) == "9303"


def test_permanent_block_cannot_be_undone():
    # §4.17 says APPLICATION UNBLOCK "clears a temporary block"; for a permanent block the reading
    # taken is the engine's: 6985 (conditions of use not satisfied), and the block stays.
    card = at(2)
    assert sw(card, mac84(card, BLOCK_PERM)) == "9000"
    assert sw(card, mac84(card, UNBLOCK)) == "6985"
    ok(card, "00A40000023F00")
    assert rsp(card, SELECT_SSSE) == "9303"


# --- the SW table -----------------------------------------------------------------------------

@pytest.mark.parametrize("apdu, expected", [
    pytest.param("841E010004" + "00" * 4, "6A86", id="BLOCK P1 01"),
    pytest.param("841E000204" + "00" * 4, "6A86", id="BLOCK P2 02"),
    pytest.param("8418000104" + "00" * 4, "6A86", id="UNBLOCK P2 01"),
    pytest.param("8418010004" + "00" * 4, "6A86", id="UNBLOCK P1 01"),
    pytest.param("8416000104" + "00" * 4, "6A86", id="CARD BLOCK P2 01"),
    pytest.param("8416800004" + "00" * 4, "6A86", id="CARD BLOCK P1 80"),
    pytest.param("841E000008" + "00" * 8, "6700", id="BLOCK Lc 08"),
    pytest.param("841E000003" + "00" * 3, "6700", id="BLOCK Lc 03"),
    pytest.param("8418000005" + "00" * 5, "6700", id="UNBLOCK Lc 05"),
    pytest.param("8416000008" + "00" * 8, "6700", id="CARD BLOCK Lc 08"),
    pytest.param("84160000", "6700", id="CARD BLOCK no data"),
    pytest.param("841E000004" + "00" * 4, "6988", id="BLOCK MAC wrong"),
    pytest.param("8418000004" + "00" * 4, "6988", id="UNBLOCK MAC wrong"),
    pytest.param("8416000004" + "00" * 4, "6988", id="CARD BLOCK MAC wrong"),
])
def test_sw_rows(apdu, expected):
    card = at(2)
    challenge(card)
    assert sw(card, apdu) == expected
    assert rsp(card, SELECT_SSSE) == "6118"  # nothing got blocked


@pytest.mark.parametrize("header", [BLOCK, UNBLOCK, CARD_BLOCK])
def test_6984_without_challenge_and_challenge_consumed_by_a_wrong_mac(header):
    card = at(3)
    assert sw(card, header + "04" + "00" * 4) == "6984"
    good = mac84(card, header)
    assert sw(card, good[:-8] + "FFFFFFFF") == "6988"
    assert sw(card, good) == "6984"


@pytest.mark.parametrize("header", [BLOCK, UNBLOCK, CARD_BLOCK])
def test_mac_error_sw_9302(header):
    card = at(2, mac_error_sw="9302")
    challenge(card)
    assert sw(card, header + "04" + "00" * 4) == "9302"


def test_6a88_without_amk():
    img = image(2)
    del img["keys"]["SSSE"]["08"]
    card = make(2, image_dict=img)
    select_df(card, "SSSE")
    challenge(card)
    for header in (BLOCK, UNBLOCK, CARD_BLOCK):
        assert sw(card, header + "04" + "00" * 4) == "6A88"


def test_mac_with_another_key_is_wrong():
    card = at(2)
    assert sw(card, mac84(card, BLOCK, ref="06")) == "6988"


@pytest.mark.parametrize("df", ["MF", "PKI", "ADF1"])
def test_only_in_the_ssse_tree(df):
    card = at(3, df)
    for header in (BLOCK, UNBLOCK, CARD_BLOCK):
        challenge(card)
        assert sw(card, header + "04" + "00" * 4) == "6D00"


# --- CARD BLOCK -------------------------------------------------------------------------------

AFTER_CARD_BLOCK = ["00A40000023F00", SELECT_SSSE, "0084000008", "00C0000000", "00B2012C00",
                    "0020000003123456", "FF000000", "00FF0000", "00", "", "00B2", "0000000000AA"]


def test_card_block_then_6a81_for_everything_across_reset():
    card = at(2)
    atr = card.atr
    assert sw(card, mac84(card, CARD_BLOCK)) == "9000"
    for when in ("now", "reset", "power cycle", "reloaded"):
        if when == "reset":
            assert card.reset() == atr  # the ATR does not change
        elif when == "power cycle":
            card.power_off()
            assert card.power_on() == atr
        elif when == "reloaded":
            card = reborn(card)
            assert card.power_on() == atr
        for apdu in AFTER_CARD_BLOCK:
            assert rsp(card, apdu) == "6A81", (when, apdu)


def test_card_block_from_a_df():
    card = at(3, "DF07")
    assert sw(card, mac84(card, CARD_BLOCK)) == "9000"
    assert sw(card, "00A404000C" + PKI_NAME) == "6A81"  # the PKI application too

