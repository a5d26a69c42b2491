"""The emulated PSAM, command by command and status word by status word (ssc-terminal.md §2.4).

Expected values come from the spec (ATRs, FCIs, EF contents, the §3 vectors) or are computed on
the terminal side with simulator.crypto from the card §5.5 sample keys, never from the PSAM.
"""

from __future__ import annotations

import pytest
from cardkit import rsp

from simulator import crypto, schemes
from simulator.atr import parse as atr_parse
from simulator.psam import Psam, command_name
from simulator.samplekeys import sample_key

SX3 = "7378332E73682EC9E7BBE1B1A3D5CF"
SELECT_ADF = "00A4040006D15600000590"
SELECT_SX3 = "00A404000F" + SX3
SELECT_DF01 = "00A4000002DF01"
DIV_G2 = "430244035A3C1E02" "3434303330307378"      # cardDiv ‖ cityDiv of the gen2 sample
DIV_G3 = "430344035A3C1E03" "3434303330307378"
INIT_G2_K04 = "BFDE481218" + DIV_G2 + "A0A1A2A3A4A5A6A7"   # §3 PSAM-EXT-G2-K04
INIT_G3_K0A = "BFDE481120" + DIV_G3 + "1122334455667788" + "00" * 8


def psam(profile: str = "default", transport: str = "t0", *apdus: str) -> Psam:
    p = Psam.builtin(profile, transport)
    p.power_on()
    for apdu in apdus:
        r = rsp(p, apdu)
        assert r[-4:] in ("9000", "610A", "6113"), (apdu, r)
    return p


def des_app(*apdus: str, transport: str = "t0") -> Psam:
    return psam("default", transport, SELECT_ADF, *apdus)


def sm4_app(*apdus: str, transport: str = "t0") -> Psam:
    return psam("default", transport, SELECT_SX3, SELECT_DF01, *apdus)


def fetch(p: Psam, apdu: str) -> str:
    """Send a command that answers 61xx and fetch its data with GET RESPONSE."""
    first = rsp(p, apdu)
    assert first[:2] == "61", (apdu, first)
    out = rsp(p, "00C00000" + first[2:])
    assert out.endswith("9000"), out
    return out[:-4]


# --- ATR, power, transport ------------------------------------------------------------------

def test_atr_of_both_transports_pd_t01():
    t0, t1 = Psam.builtin().power_on(), Psam.builtin(transport="t1").power_on()
    assert t0.hex().upper() == "3B6C00000081005353435053414D0001"
    assert t1.hex().upper() == "3BEC0000010081005353435053414D000121"
    for atr in (t0, t1):
        hist = atr_parse(atr).historical
        assert hist == bytes.fromhex("008100") + b"SSCPSAM" + b"\x00\x01"
    tck = 0
    for b in t1[1:]:
        tck ^= b
    assert tck == 0                       # TCK makes the XOR of T0 … TCK zero


def test_unknown_profile_and_transport_refused():
    with pytest.raises(ValueError, match="no-rk"):
        Psam.builtin("gen2")
    with pytest.raises(ValueError, match="t0 or t1"):
        Psam.builtin(transport="t2")


def test_transmit_before_power_on_powers_up_and_answers():
    p = Psam.builtin()
    assert rsp(p, "00B0960006") == "4403000000019000"
    assert p.powered


@pytest.mark.parametrize("event", ["reset", "power_off"])
def test_reset_and_power_off_clear_working_key_df_and_buffer(event):
    p = des_app(INIT_G2_K04)
    assert rsp(p, "80FA000008A0A1A2A3A4A5A6A7") == "6108"
    getattr(p, event)()
    assert rsp(p, "00C0000008") == "6985"                       # buffer gone
    assert rsp(p, "80FA000008A0A1A2A3A4A5A6A7") == "6985"       # W gone
    assert rsp(p, "00B0960006") == "4403000000019000"           # the MF is current again


def test_internal_fault_answers_6f00(monkeypatch):
    p = des_app()

    def broken(apdu, buffered):
        raise RuntimeError("simulated emulator bug")

    monkeypatch.setattr(p, "_bfde", broken)
    assert rsp(p, INIT_G2_K04) == "6F00"
    assert rsp(p, "00B0960006")[-4:] == "6A82"                   # still answers afterwards
    assert p.transmit(None) == b"\x6f\x00"                      # not even bytes: still an answer


@pytest.mark.parametrize("raw", ["", "00", "00A404", "BFDE48120018"])
def test_unparsable_apdus_answer_6700(raw):
    assert rsp(psam(), raw) == "6700"


# --- CLA / INS (order of checks, steps 1-2) -------------------------------------------------

@pytest.mark.parametrize("apdu, sw", [
    ("90DE481210" + DIV_G2, "6E00"),      # CLA unknown
    ("00DE481210" + DIV_G2, "6E00"),      # INS DE known, but not with CLA 00
    ("BFFA000008A0A1A2A3A4A5A6A7", "6E00"),
    ("BF12000000", "6D00"),               # INS unknown for every CLA
    ("0084000008", "6D00"),               # GET CHALLENGE: the PSAM keeps no challenge
    ("80B2012C00", "6D00"),               # READ RECORD is no PSAM command
])
def test_cla_then_ins(apdu, sw):
    assert rsp(des_app(), apdu) == sw


def test_cla_checked_before_apdu_structure():
    assert rsp(psam(), "90DE") == "6E00"
    assert rsp(psam(), "BF12") == "6D00"


# --- SELECT ---------------------------------------------------------------------------------

def test_select_by_name_t0_and_t1_fcis():
    p = psam()
    assert fetch(p, SELECT_ADF) == "6F088406D15600000590"
    assert fetch(p, SELECT_SX3) == "6F11840F" + SX3
    assert fetch(p, SELECT_DF01) == "6F088406D15600000591"
    t1 = psam(transport="t1")
    assert rsp(t1, SELECT_ADF) == "6F088406D156000005909000"
    assert rsp(t1, SELECT_SX3 + "00") == "6F11840F" + SX3 + "9000"
    assert rsp(t1, SELECT_DF01) == "6F088406D156000005919000"


def test_select_p2_0c_and_efs_give_no_fci():
    p = psam()
    assert rsp(p, "00A4040C06D15600000590") == "9000"
    assert rsp(p, "00A40000023F00") == "9000"
    assert rsp(p, "00A40000020016") == "9000"
    assert rsp(p, "00A40000020015") == "9000"
    assert rsp(p, "00B0960006") == "4403000000019000"   # selecting an EF leaves the MF current


def test_select_t1_short_le_answers_6cxx():
    assert rsp(psam(transport="t1"), SELECT_ADF + "04") == "6C0A"


@pytest.mark.parametrize("setup, apdu", [
    ((), SELECT_DF01),                                   # DF01 only below the sx3 DF
    ((SELECT_ADF,), SELECT_DF01),
    ((SELECT_ADF,), "00A40000020016"),                   # MF EFs only from the MF
    ((), "00A4040006D15600000591"),                      # DF01's placeholder AID is no name
    ((), "00A40400067378332E7368"),                      # partial names do not match
    ((), "00A40000023F01"),
])
def test_select_not_found_6a82(setup, apdu):
    assert rsp(psam("default", "t0", *setup), apdu) == "6A82"


@pytest.mark.parametrize("profile, apdu", [("des-only", SELECT_SX3), ("sm4-only", SELECT_ADF)])
def test_profiles_without_an_application(profile, apdu):
    assert rsp(psam(profile), apdu) == "6A82"


@pytest.mark.parametrize("apdu, sw", [
    ("00A40400", "6700"),                                # no data
    ("00A4000003DF0100", "6700"),                        # FID not 2 bytes
    ("00A4040011" + "00" * 17, "6700"),                  # name longer than 16 bytes
    ("00A4020002DF01", "6A86"),                          # P1
    ("00A4040406D15600000590", "6A86"),                  # P2
])
def test_select_structure_and_p1_p2(apdu, sw):
    assert rsp(psam(), apdu) == sw


# --- READ BINARY ----------------------------------------------------------------------------

def test_read_binary_ef0015_ef0016_by_sfi():
    p = psam()
    assert rsp(p, "00B0960006") == "4403000000019000"
    assert rsp(p, "00B0950000") == "44030000000000000001" "01000100" "9000"
    assert rsp(p, "00B0950A04") == "010001009000"                 # offset
    assert rsp(p, "00B0960020") == "4403000000019000"             # what exists, never 6Cxx
    assert rsp(p, "00B0960002") == "44039000"


@pytest.mark.parametrize("setup, apdu, sw", [
    ((), "00B0160006", "6A86"),                  # offset form (b8 = 0) is not offered
    ((), "00B0D60006", "6A86"),                  # b7-b6 not 00
    ((), "00B0970006", "6A82"),                  # no EF with SFI 17
    ((SELECT_ADF,), "00B0960006", "6A82"),       # only while the MF is current
    ((), "00B0960606", "6B00"),                  # offset at the end of the 6-byte EF
    ((), "00B096000100", "6700"),                # a data field
])
def test_read_binary_status_words(setup, apdu, sw):
    assert rsp(psam("default", "t0", *setup), apdu) == sw


# --- GET RESPONSE ---------------------------------------------------------------------------

def test_get_response_rules_card_pd04():
    p = psam()
    assert rsp(p, "00C0000000") == "6985"                         # nothing buffered
    assert rsp(p, SELECT_ADF) == "610A"
    assert rsp(p, "00C0000004") == "6C0A"                         # short Le: buffer kept
    assert rsp(p, "00C0010000") == "6A86"                         # P1 P2; buffer now gone
    assert rsp(p, "00C000000A") == "6985"
    assert rsp(p, SELECT_ADF) == "610A"
    assert rsp(p, "00B0960006")[-4:] == "6A82"                    # any other command empties it
    assert rsp(p, "00C000000A") == "6985"
    assert rsp(p, SELECT_ADF) == "610A"
    assert rsp(p, "00C0000000") == "6F088406D156000005909000"     # Le 00: all of it
    assert rsp(psam(transport="t1", ), "00C0000000") == "6985"


# --- BF DE ----------------------------------------------------------------------------------

def test_bf_de_sets_w_for_each_form():
    k04_g2, k04_g3 = sample_key(2, "SSSE", "04"), sample_key(3, "SSSE", "04")
    r = bytes.fromhex("A0A1A2A3A4A5A6A7")
    p = des_app("BFDE481210" + DIV_G2)                               # Lc 10: W = K_card (3DES)
    assert fetch(p, "80FA000008" + r.hex()) == crypto.tdes_encrypt(k04_g2, r).hex().upper()
    p = des_app(INIT_G2_K04)                                         # Lc 18: W = 3DES(K, PF), DES
    sk = schemes.des_session_key(k04_g2, r)
    assert fetch(p, "80FA000008" + r.hex()) == crypto.des_encrypt(sk, r).hex().upper()
    p = sm4_app("BFDE481210" + DIV_G3)                               # Lc 10: W = K_card (SM4)
    block = r + bytes(8)
    assert fetch(p, "80FA000010" + block.hex()) == crypto.sm4_encrypt(k04_g3, block).hex().upper()
    p = sm4_app("BFDE481220" + DIV_G3 + block.hex())                 # Lc 20: W = SM4(K, PF)
    assert fetch(p, "80FA000010" + block.hex()) == schemes.sm4_session_x(k04_g3, r, r).hex().upper()


@pytest.mark.parametrize("setup, apdu, sw", [
    ((SELECT_ADF,), "BFDE4812", "6700"),                               # no data
    ((SELECT_ADF,), "BFDE2812" + "10" + DIV_G2, "6A86"),                # 1 level
    ((SELECT_ADF,), "BFDE4712" + "10" + DIV_G2, "6A86"),                # key type 7
    ((), "BFDE481210" + DIV_G2, "6985"),                                # MF current
    ((SELECT_SX3,), "BFDE481210" + DIV_G3, "6985"),                     # sx3 DF without DF01
    ((SELECT_ADF,), "BFDE481220" + DIV_G2 + "00" * 16, "6700"),         # Lc 20 in the DES app
    ((SELECT_SX3, SELECT_DF01), INIT_G2_K04, "6700"),                  # Lc 18 in the SM4 app
    ((SELECT_ADF,), "BFDE481208" + DIV_G2[:16], "6700"),
    ((SELECT_ADF,), "BFDE489910" + DIV_G2, "6A88"),                     # no key record 99
    ((SELECT_ADF,), "BFDE480110" + DIV_G2, "6A88"),
    ((SELECT_ADF,), "BFDE488710" + DIV_G2, "6A88"),                     # DF07 has no key 87
])
def test_bf_de_status_words(setup, apdu, sw):
    assert rsp(psam("default", "t0", *setup), apdu) == sw


@pytest.mark.parametrize("setup, apdu, sw", [
    # one fault masks the next, in the order of PD-T07
    ((SELECT_ADF,), "BFDE2812", "6700"),                                # structure before P1
    ((), "BFDE2812" + "10" + DIV_G2, "6A86"),                           # P1 before 6985
    ((), "BFDE489920" + DIV_G2 + "00" * 16, "6985"),                    # 6985 before Lc and index
    ((SELECT_ADF,), "BFDE489920" + DIV_G2 + "00" * 16, "6700"),         # Lc before the index
    ((), "80FA0100", "6700"),                                           # 80 FA: structure first
    ((), "80FA010008A0A1A2A3A4A5A6A7", "6A86"),                         # P1 before no-W
    ((), "80FA000007A0A1A2A3A4A5A6", "6985"),                           # no W before Lc
])
def test_order_of_checks_pd_t07(setup, apdu, sw):
    assert rsp(psam("default", "t0", *setup), apdu) == sw


def test_failed_bf_de_and_any_select_clear_w():
    p = des_app(INIT_G2_K04)
    assert rsp(p, "BFDE489918" + DIV_G2 + "A0A1A2A3A4A5A6A7") == "6A88"
    assert rsp(p, "80FA000008A0A1A2A3A4A5A6A7") == "6985"
    p = des_app(INIT_G2_K04)
    assert rsp(p, "00A40000020099") == "6A82"                           # a failed SELECT too
    assert rsp(p, "80FA000008A0A1A2A3A4A5A6A7") == "6985"
    p = des_app(INIT_G2_K04)
    assert rsp(p, SELECT_ADF) == "610A"
    assert rsp(p, "80FA000008A0A1A2A3A4A5A6A7") == "6985"


def test_no_rk_profile_lacks_index_11_only():
    p = psam("no-rk", "t0", SELECT_SX3, SELECT_DF01)
    assert rsp(p, INIT_G3_K0A) == "6A88"
    assert rsp(p, "BFDE481220" + DIV_G3 + "00" * 16) == "9000"
    assert rsp(sm4_app(), INIT_G3_K0A) == "9000"


def test_df_keys_at_their_indexes():
    # DF01 key 86 sits at index 26, DF03 key 82 at 42, DF07 key 83 at 83 (§2.2): W = K_card is the card's key
    for ref, df, index in (("86", "DF01", "26"), ("82", "DF03", "42"), ("83", "DF07", "83")):
        p = sm4_app("BFDE48" + index + "10" + DIV_G3)
        block = bytes(16)
        assert fetch(p, "80FA000010" + block.hex()) == \
            crypto.sm4_encrypt(sample_key(3, df, ref), block).hex().upper()


# --- 80 FA ----------------------------------------------------------------------------------

def test_80fa_ecb_many_blocks_and_w_survives():
    k = sample_key(2, "SSSE", "04")
    p = des_app("BFDE481210" + DIV_G2)
    data = bytes(range(24))
    assert fetch(p, "80FA000018" + data.hex()) == crypto.tdes_encrypt(k, data).hex().upper()
    assert fetch(p, "80FA000018" + data.hex()) == crypto.tdes_encrypt(k, data).hex().upper()


def test_80fa_t1_answers_directly_and_short_le_6cxx():
    p = des_app(INIT_G2_K04, transport="t1")
    assert rsp(p, "80FA000008A0A1A2A3A4A5A6A7") == "5F9D388E1264BBCC9000"   # §3 C
    assert rsp(p, "80FA000008A0A1A2A3A4A5A6A704") == "6C08"
    assert rsp(p, "80FA000008A0A1A2A3A4A5A6A708") == "5F9D388E1264BBCC9000"


def test_80fa_mac_three_kinds():
    icv = bytes.fromhex("1A2B3C4D00000000")
    msg = bytes.fromhex("8424000004")
    # retail MAC, 16-byte W = the card's PUK (§3 PSAM-MAC-UNBLOCK-G2)
    p = des_app("BFDE481610" + DIV_G2)
    mac = fetch(p, "80FA050010" + (icv + crypto.pad80(msg, 8)).hex())
    assert mac == crypto.retail_mac(sample_key(2, "SSSE", "06"), msg, icv).hex().upper()
    # single-DES CBC-MAC, 8-byte W (after a process factor)
    p = des_app("BFDE481618" + DIV_G2 + "0102030405060708")
    w = schemes.des_session_key(sample_key(2, "SSSE", "06"), bytes.fromhex("0102030405060708"))
    blocks = crypto.pad80(msg + bytes(5), 8)                                   # two blocks
    y = icv
    for i in range(0, len(blocks), 8):
        y = crypto.des_encrypt(w, bytes(a ^ b for a, b in zip(y, blocks[i:i + 8])))
    assert fetch(p, "80FA050018" + (icv + blocks).hex()) == y[:4].hex().upper()
    # SM4 MAC with fold4
    iv = bytes.fromhex("1A2B3C4D5E6F70810000000000000000")
    p = sm4_app("BFDE481610" + DIV_G3)
    mac = fetch(p, "80FA050020" + (iv + crypto.pad80(msg, 16)).hex())
    assert mac == crypto.sm4_mac(sample_key(3, "SSSE", "06"), msg, iv).hex().upper()


@pytest.mark.parametrize("init, apdu, sw", [
    (INIT_G2_K04, "80FA020008A0A1A2A3A4A5A6A7", "6A86"),          # P1
    (INIT_G2_K04, "80FA000108A0A1A2A3A4A5A6A7", "6A86"),          # P2
    (INIT_G2_K04, "80FA0000", "6700"),                            # no data
    (INIT_G2_K04, "80FA000007A0A1A2A3A4A5A6", "6700"),            # not a multiple of 8
    (INIT_G2_K04, "80FA050008A0A1A2A3A4A5A6A7", "6700"),          # MAC: fewer than 2 blocks
    (INIT_G3_K0A, "80FA000008A0A1A2A3A4A5A6A7", "6700"),          # SM4 blocks are 16 bytes
    (INIT_G3_K0A, "80FA050010" + "00" * 16, "6700"),
    (None, "80FA000008A0A1A2A3A4A5A6A7", "6985"),                 # no BF DE yet
])
def test_80fa_status_words(init, apdu, sw):
    p = sm4_app() if init == INIT_G3_K0A else des_app()
    if init:
        assert rsp(p, init) == "9000"
    assert rsp(p, apdu) == sw


def test_command_names_for_traces():
    assert command_name(bytes.fromhex("BFDE4812")) == "DIVERSIFY 分散密钥"
    assert command_name(bytes.fromhex("80FA0000")) == "ENCRYPT/MAC 通用计算"
    assert command_name(bytes.fromhex("00A40400")) == "SELECT"
    assert command_name(bytes.fromhex("0084")) == "CLA 00 INS 84"
    assert Psam.builtin().command_name(b"\x00\xc0") == "GET RESPONSE"


def test_in_process_pyscard_reader_holds_a_psam_beside_the_card():
    from smartcard.System import readers

    from simulator import Card
    from simulator.pcsc_reader import PSAM_READER_NAME, installed

    with installed(Card.builtin("gen3"), psam=Psam.builtin()) as reader:
        names = [str(r) for r in readers()]
        assert reader.name in names and PSAM_READER_NAME in names
        conn = reader.psam_reader.createConnection()
        conn.connect()
        assert bytes(conn.getATR()).hex().upper() == "3B6C00000081005353435053414D0001"
        data, sw1, sw2 = conn.transmit(list(bytes.fromhex("00B0960006")))
        assert bytes(data).hex() + f"{sw1:02X}{sw2:02X}" == "4403000000019000"
        card = reader.createConnection()
        card.connect()
        assert bytes(card.getATR()).hex().upper() == "3B6D00000081005353430344035A3C1E03"
    assert PSAM_READER_NAME not in [str(r) for r in readers()]
