"""simulator.crypto against standard examples and its own rules (padding, folding, R8/R16,
PIN BCD, ATR, diversification); GB 11643; the §5.5 sample keys against the spec's table.
The spec's vector blocks are checked in test_spec_vectors.py."""

from __future__ import annotations

import re
import warnings

import pytest

from simulator import crypto, gb11643, samplekeys, schemes
from simulator.atr import parse as atr_parse
from simulator.samplekeys import SAMPLE_ATR, sample_keys
from specvectors import find_spec

H = bytes.fromhex

# GB/T 32907-2016 Appendix A, example 1 (the 1,000,000-iteration example 2 is too slow here).
SM4_KEY = H("0123456789ABCDEFFEDCBA9876543210")
SM4_PLAIN = SM4_KEY
SM4_CIPHER = H("681EDF34D206965E86B3E94F536E4246")
# GB/T 32905-2016 Appendix A.
SM3_ABC = H("66C7F0F462EEEDD9D1F2D46BDC10E4E24167C4875CF2F7A2297DA02B8F4BA8E0")
SM3_ABCD16 = H("DEBE9FF92275B8A138604889C18E5A4D6FDB70E5387E5765293DCBA39C0C5732")
# DES: FIPS 81 ECB example ("Now is t") and the classic worked example; two-key 3DES.
DES_KATS = [(H("0123456789ABCDEF"), b"Now is t", H("3FA40E8A984D4815")),
            (H("133457799BBCDFF1"), H("0123456789ABCDEF"), H("85E813540F0AB405"))]
TDES_KAT = (H("0123456789ABCDEFFEDCBA9876543210"), bytes(8), H("08D7B4FB629D0885"))


def test_sm4_standard_example():
    assert crypto.sm4_encrypt(SM4_KEY, SM4_PLAIN) == SM4_CIPHER
    assert crypto.sm4_decrypt(SM4_KEY, SM4_CIPHER) == SM4_PLAIN
    assert crypto.sm4_encrypt(SM4_KEY, SM4_PLAIN * 2) == SM4_CIPHER * 2     # ECB


def test_sm3_standard_examples():
    assert crypto.sm3(b"abc") == SM3_ABC
    assert crypto.sm3(b"abcd" * 16) == SM3_ABCD16
    assert len(crypto.sm3(b"")) == 32


@pytest.mark.parametrize("key, plain, cipher", DES_KATS)
def test_des_known_answers(key, plain, cipher):
    assert crypto.des_encrypt(key, plain) == cipher
    assert crypto.des_decrypt(key, cipher) == plain


def test_tdes_known_answer_and_ede_order():
    key, plain, cipher = TDES_KAT
    assert crypto.tdes_encrypt(key, plain) == cipher
    assert crypto.tdes_decrypt(key, cipher) == plain
    k1, k2 = key[:8], key[8:]
    x = H("A1A2A3A4A5A6A7A8")        # EDE with K3 = K1
    assert crypto.tdes_encrypt(key, x) == crypto.des_encrypt(
        k1, crypto.des_decrypt(k2, crypto.des_encrypt(k1, x)))
    assert crypto.tdes_encrypt(k1 + k1, x) == crypto.des_encrypt(k1, x)


def test_no_deprecated_key_sizes_and_ciphers_are_cached():
    crypto._ecb.cache_clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")     # 8- and 16-byte TripleDES keys would warn
        crypto.des_encrypt(DES_KATS[0][0], bytes(8))
        crypto.tdes_encrypt(TDES_KAT[0], bytes(8))
        crypto.retail_mac(TDES_KAT[0], b"x" * 20)
        crypto.tdes_encrypt(TDES_KAT[0], bytes(8))
    info = crypto._ecb.cache_info()
    assert info.hits >= 1 and info.misses == 2


@pytest.mark.parametrize("call", [
    lambda: crypto.sm4_encrypt(bytes(15), bytes(16)),
    lambda: crypto.sm4_encrypt(bytes(16), bytes(15)),
    lambda: crypto.des_encrypt(bytes(16), bytes(8)),
    lambda: crypto.tdes_encrypt(bytes(8), bytes(8)),
    lambda: crypto.tdes_decrypt(bytes(16), bytes(12)),
])
def test_bad_lengths_raise(call):
    with pytest.raises(ValueError):
        call()


def test_pad80_unpad80():
    assert crypto.pad80(b"", 8) == H("8000000000000000")
    assert crypto.pad80(H("01020304050607"), 8) == H("0102030405060780")
    assert crypto.pad80(bytes(8), 8) == bytes(8) + H("8000000000000000")   # always adds
    assert crypto.pad80(b"\x01", 16) == H("0180") + bytes(14)
    for n in range(0, 40):
        data = bytes(range(1, n + 1)) + b"\x00"
        assert crypto.unpad80(crypto.pad80(data, 16), 16) == data
    for bad in (b"", bytes(8), H("0102030400000000"), H("0180FF"), H("80") + b"\x01"):
        with pytest.raises(ValueError):
            crypto.unpad80(bad)
    with pytest.raises(ValueError):
        crypto.unpad80(H("01028000"), 8)                # not a multiple of the block
    with pytest.raises(ValueError):
        crypto.unpad80(H("0180") + bytes(14), 8)       # padding longer than a block


def test_fold8_fold4():
    x = H("0102030405060708F0F0F0F0F0F0F0F0")
    assert crypto.fold8(x) == H("F1F2F3F4F5F6F7F8")
    assert crypto.fold4(H("01000000" "00020000" "00000300" "00000004")) == H("01020304")
    assert crypto.fold4(x) == H("0404040C")             # the two F0 words cancel
    with pytest.raises(ValueError):
        crypto.fold8(bytes(8))


def test_challenge_adaptation():
    c4, c8, c16 = H("01020304"), H("0102030405060708"), bytes(range(16))
    assert crypto.r8(c4) == c4 + bytes(4) and crypto.r8(c8) == c8 and crypto.r8(c16) == c16[:8]
    assert crypto.r16(c4) == c4 + bytes(12) and crypto.r16(c8) == c8 + bytes(8)
    assert crypto.r16(c16) == c16
    for bad in (b"", bytes(5), bytes(32)):
        with pytest.raises(ValueError):
            crypto.r8(bad)
        with pytest.raises(ValueError):
            crypto.r16(bad)


def test_retail_mac_is_iso9797_alg3():
    key, icv = TDES_KAT[0], H("1122334455667788")
    for data in (b"", b"1234567", b"12345678", bytes(range(30))):
        blocks = crypto.pad80(data, 8)
        y = icv
        for i in range(0, len(blocks) - 8, 8):
            y = crypto.des_encrypt(key[:8], bytes(a ^ b for a, b in zip(y, blocks[i:i + 8])))
        last = crypto.tdes_encrypt(key, bytes(a ^ b for a, b in zip(y, blocks[-8:])))
        assert crypto.retail_mac8(key, data, icv) == last
        assert crypto.retail_mac(key, data, icv) == last[:4]
    assert crypto.retail_mac(key, b"abc") == crypto.retail_mac(key, b"abc", bytes(8))


def test_sm4_mac_is_cbc_then_fold4():
    iv = bytes(range(16))
    for data in (b"", bytes(16), bytes(range(40))):
        blocks, y = crypto.pad80(data, 16), iv
        for i in range(0, len(blocks), 16):
            y = crypto.sm4_encrypt(SM4_KEY, bytes(a ^ b for a, b in zip(y, blocks[i:i + 16])))
        assert crypto.sm4_mac_block(SM4_KEY, data, iv) == y
        assert crypto.sm4_mac(SM4_KEY, data, iv) == crypto.fold4(y)


def test_mac_dispatch_uses_the_challenge():
    data, c4 = H("841E000004"), H("5E6F7A8B")
    assert crypto.mac("3des", TDES_KAT[0], data, c4) == crypto.retail_mac(TDES_KAT[0], data, c4 + bytes(4))
    assert crypto.mac("3des", TDES_KAT[0], data) == crypto.retail_mac(TDES_KAT[0], data)
    assert crypto.mac("sm4", SM4_KEY, data, c4) == crypto.sm4_mac(SM4_KEY, data, c4 + bytes(12))
    assert crypto.mac("sm4", SM4_KEY, data) == crypto.sm4_mac(SM4_KEY, data)
    with pytest.raises(ValueError):
        crypto.mac("des", TDES_KAT[0], data)


def test_session_schemes():
    k, r = SM4_KEY, H("1122334455667788")
    d = H("0011223344556677")
    assert schemes.external_cryptogram("des-session", k, r) == schemes.des_session_cryptogram(k, r, r)
    assert schemes.external_cryptogram("des-session", k, r, d) == crypto.des_encrypt(
        crypto.tdes_encrypt(k, r), d)
    assert schemes.external_cryptogram("sm4-session", k, r, d) == crypto.fold8(
        crypto.sm4_encrypt(crypto.sm4_encrypt(k, r + bytes(8)), d + bytes(8)))
    # a 4-byte challenge enters as R8 = challenge ‖ 00×4 (PD-11)
    assert schemes.des_session_key(k, r[:4]) == schemes.des_session_key(k, r[:4] + bytes(4))
    assert schemes.external_cryptogram("sm4-direct", k, r) == crypto.sm4_encrypt(k, r + bytes(8))
    assert schemes.internal_authenticate("des-session", k, r, d) == schemes.des_session_cryptogram(k, r, d)
    assert schemes.internal_authenticate("sm4-session", k, r, d) == schemes.sm4_session_cryptogram(k, r, d)
    for bad in (lambda: schemes.external_cryptogram("des", k, r),
                lambda: schemes.internal_authenticate("sm4-direct", k, r, d),
                lambda: schemes.internal_authenticate("des-session", k, r[:4], d),
                lambda: schemes.des_session_cryptogram(k, r, d[:4])):
        with pytest.raises(ValueError):
            bad()


def test_constant_time_equal():
    assert crypto.constant_time_equal(b"\x01\x02", bytearray(b"\x01\x02"))
    assert not crypto.constant_time_equal(b"\x01\x02", b"\x01\x03")
    assert not crypto.constant_time_equal(b"\x01", b"\x01\x00")


def test_pin_bcd():
    assert schemes.pin_bcd("123456") == H("123456")
    assert schemes.pin_bcd("12345") == H("12345F")
    assert schemes.pin_bcd("0") == H("0F")
    for bad in ("", "12a4", "12 34", "１２３４", "-123"):
        with pytest.raises(ValueError):
            schemes.pin_bcd(bad)
    for pin in ("00", "1234", "12345", "123456789012", "9"):
        assert schemes.bcd_pin(schemes.pin_bcd(pin)) == pin
    for bad in (b"", H("FF"), H("12A4"), H("1F34"), H("12FF"), H("F1"), H("1E")):
        assert schemes.bcd_pin(bad) is None


def test_pin_blocks_round_trip_and_reject():
    puk, new = TDES_KAT[0], schemes.pin_bcd("24681")
    enc = schemes.pin_unblock_enc("3des", puk, new)
    assert len(enc) == 8 and schemes.pin_unblock_dec("3des", puk, enc) == new
    enc16 = schemes.pin_unblock_enc("sm4", SM4_KEY, new)
    assert len(enc16) == 16 and schemes.pin_unblock_dec("sm4", SM4_KEY, enc16) == new
    for plain in (H("0412345680000000"),     # L does not match
                  H("0112800000000000"),     # L below 2
                  H("031234A680000000"),     # not BCD
                  H("0312345681000000")):    # bad padding
        with pytest.raises(ValueError):
            schemes.pin_unblock_dec("3des", puk, crypto.tdes_encrypt(puk, plain))
    with pytest.raises(ValueError):
        schemes.pin_unblock_enc("des", puk, new)


def test_pki_change_pin_and_mk():
    old, new, r = schemes.pin_bcd("12345678"), schemes.pin_bcd("87654321"), bytes(range(16))
    body, mac = schemes.pki_change_pin(old, new, 0x00, r)
    k = schemes.pki_pin_key(old)
    assert k == crypto.sm3(old)[:16]
    assert schemes.open_pin_block(crypto.sm4_decrypt(k, body), 16, 2, 8) == new
    assert mac == crypto.sm4_mac(k, H("845E010014") + body, r)
    assert schemes.pki_change_pin(old, new, b"\x81", r)[1] != mac      # P2 is MACed
    with pytest.raises(ValueError):
        schemes.pki_change_pin(old, bytes(15), 0, r)
    mk, nk = SM4_KEY, bytes(range(16))
    body, mac = schemes.pki_change_mk(mk, nk, 0, r, attrs=H("010203"))
    assert len(body) == 32 and schemes.open_pki_change_mk(mk, body) == (H("010203"), nk)
    assert mac == crypto.sm4_mac(mk, H("84D4010024") + body, r)
    with pytest.raises(ValueError):
        schemes.open_pki_change_mk(mk, crypto.sm4_encrypt(mk, crypto.pad80(b"\x12" + bytes(19), 16)))


def test_cardid_mac():
    data = H("440300D1560000055A3C1E01")
    assert schemes.cardid_mac("3des", TDES_KAT[0], data) == crypto.retail_mac(TDES_KAT[0], data)
    assert schemes.cardid_mac("sm4", SM4_KEY, data) == crypto.sm4_mac(SM4_KEY, data)
    with pytest.raises(ValueError):
        schemes.cardid_mac("sm4", SM4_KEY, data + b"\0")


def test_diversification():
    f = H("430244035A3C1E02")
    nf = bytes(b ^ 0xFF for b in f)
    k = TDES_KAT[0]
    assert schemes.diversify("3des", k, f) == crypto.tdes_encrypt(k, f) + crypto.tdes_encrypt(k, nf)
    assert schemes.diversify("sm4", k, f) == crypto.sm4_encrypt(k, f + nf)
    city = schemes.city_div("440300")
    assert city == H("3434303330307378")
    assert schemes.diversify_chain("sm4", k, city, f) == schemes.diversify(
        "sm4", schemes.diversify("sm4", k, city), f)
    for bad in ("44030", "44030X", "4403001"):
        with pytest.raises(ValueError):
            schemes.city_div(bad)
    with pytest.raises(ValueError):
        schemes.diversify("des", k, f)
    assert samplekeys.sample_root_key("SSC-DEMO-ROOT/SSSE/04") == H("73ECD0E2FDDB55EE61A286C88A8CBA3E")


HIST = H("0081005353430244035A3C1E02")


@pytest.mark.parametrize("atr, hist, tck", [
    (H("3B6D0000") + HIST, HIST, False),                       # the default t0 ATR
    (H("3BED000001") + HIST + H("11"), HIST, True),            # t1: TD1 = 01, TCK at the end
    (H("3B9F9680B1FE451F01") + bytes(range(15)) + H("00"), bytes(range(15)), True),
    # ^ TA1, TD1 (T=0), TA2 TB2 TD2 (T=1), TA3 TB3 TD3 (T=15), TA4
    (H("3B00"), b"", False),
])
def test_atr_parse_and_card_div(atr, hist, tck):
    parsed = atr_parse(atr)
    parsed_hist = parsed.historical
    assert (parsed.tck is not None) is tck
    if hist is not None:
        assert parsed_hist == hist
    if len(parsed_hist) >= 8:
        assert schemes.card_div(atr) == parsed_hist[-8:]


def test_card_div_rules():
    t0 = H("3B6D0000") + HIST
    assert schemes.card_div(t0) == H("430244035A3C1E02")
    assert schemes.card_div(H("3BED000001") + HIST + H("11")) == schemes.card_div(t0)
    short_t0 = H("3B6500001122334455")                          # 5 historical bytes, no TCK
    assert schemes.card_div(short_t0) == short_t0[-8:]
    for bad in (H("3B"), H("3B6D0000") + HIST[:-1], H("3B6D0000") + HIST + H("00"),
                H("3B8D"), H("3B8501") + H("0102030405") + H("00")):   # last: 5 hist with TCK
        with pytest.raises(ValueError):
            schemes.card_div(bad)


def test_gb11643():
    assert gb11643.check_char("44030519850315123") == "8"
    assert gb11643.check_char("11010519491231002") == "X"      # GB 11643 example
    assert gb11643.is_valid("11010519491231002X")
    assert gb11643.is_valid("440305198503151238")
    for bad in ("440305198503151237", "11010519491231002x", "44030519850315123",
                "4403051985031512380", "44030519850315A238", 440305198503151238):
        assert not gb11643.is_valid(bad)
    for bad in ("4403051985031512", "4403051985031512A", "440305198503151234"):
        with pytest.raises(ValueError):
            gb11643.check_char(bad)


# --- §5.5 sample keys, against the table of the spec ---------------------------------------------------------------------------

_SPEC_TEXT = find_spec().read_text(encoding="utf-8")


def _table_rows():
    rows = []
    for line in _SPEC_TEXT.splitlines():
        if re.match(r"\| (SSSE|DF0[1-7]) \| [0-9A-F]{2} \|", line):
            cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
            rows.append(cells)
    return rows


TABLE = _table_rows()


def test_sample_key_table_is_parsed():
    assert len(TABLE) == 14 and all(len(r) == 7 for r in TABLE)


@pytest.mark.parametrize("row", TABLE, ids=[f"{r[0]}-{r[1]}" for r in TABLE])
def test_sample_key_table_row(row):
    designation, p2, _role, root, *cards = row
    assert samplekeys.sample_root_key(f"SSC-DEMO-ROOT/{designation}/{p2}").hex().upper() == root
    for gen, expected in zip((1, 2, 3), cards):
        keys = sample_keys(gen)[designation]
        if expected == "—":
            assert p2 not in keys
            continue
        computed = schemes.diversify_chain("sm4" if gen == 3 else "3des", bytes.fromhex(root),
                                          schemes.city_div("440300"), schemes.card_div(SAMPLE_ATR[gen]))
        assert computed.hex().upper() == expected
        assert keys[p2] == expected


def test_sample_atrs_are_the_spec_ones():
    row = next(l for l in _SPEC_TEXT.splitlines() if l.startswith("| ATR (T=0, §6) |"))
    assert re.findall(r"`([0-9A-F]+)`", row) == [SAMPLE_ATR[g].hex().upper() for g in (1, 2, 3)]


def test_pki_master_key():
    m = re.search(r'`SM3\("SSC-DEMO-ROOT/SS\.CERT\.ADF1/00"\)\[0:16\]` =\s*`([0-9A-F]{32})`', _SPEC_TEXT)
    assert m
    assert sample_keys(3)["PKI"] == {"00": m.group(1)}
    assert samplekeys.sample_root_key("SSC-DEMO-ROOT/SS.CERT.ADF1/00").hex().upper() == m.group(1)
    assert "PKI" not in sample_keys(1) and "PKI" not in sample_keys(2)


def test_sample_keys_shape():
    refs = {"DF01": ["81", "83", "84", "85", "86", "87"], "DF02": ["81", "83"],
            "DF03": ["81", "82", "83", "84", "85"], "DF04": ["81", "83", "84"],
            "DF05": ["81", "83"], "DF06": ["81", "83"], "DF07": ["81", "83"]}
    ssse = ["00", "01", "04", "06", "07", "08", "0A"]
    for gen in (1, 2, 3):
        keys = sample_keys(gen)
        assert {d: sorted(k) for d, k in keys.items() if d not in ("PKI", "PKI/DF")} == {
            "SSSE": ssse + (["0D"] if gen == 3 else []), **refs}
        assert all(re.fullmatch(r"[0-9A-F]{32}", h) for d in keys.values() for h in d.values())
    # keys outside the §5.5 table follow the same rule
    root = samplekeys.sample_root_key("SSC-DEMO-ROOT/DF03/82")
    assert sample_keys(2)["DF03"]["82"] == schemes.diversify_chain(
        "3des", root, bytes.fromhex("3434303330307378"), bytes.fromhex("430244035A3C1E02")).hex().upper()
    # a caller cannot spoil the cached keys
    sample_keys(1)["SSSE"]["00"] = "spoiled"
    assert sample_keys(1)["SSSE"]["00"] == "03EF642DDE11261299BD9F8FE64B0B34"
    with pytest.raises(ValueError):
        sample_keys(4)
