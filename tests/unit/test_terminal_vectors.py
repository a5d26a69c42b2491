"""Every vector of ssc-terminal.md §3, replayed against the emulated PSAM and the emulated card.

The blocks are parsed from docs/spec/ssc-terminal.md. For each: the root key of the PSAM index
is the §5.5 root, the diversified key is the card's own key, the PSAM commands answer the
stated SW and give the stated W/X/C/MAC/ENC, the card APDU is exactly what the PSAM's output
makes, and the card (with its challenges forced) answers the stated SW. A vector of a type no
replayer knows fails the test, and the number of replayed vectors must equal the number of
```vector fences in §3.
"""

from __future__ import annotations

import re

import pytest
from cardkit import Challenges, rsp

from simulator import Card, crypto, samplekeys, schemes
from simulator.atr import parse as atr_parse
from simulator.psam import Psam, default_key_table
from simulator.samplekeys import sample_key
from specvectors import SpecVector, find_spec, parse_vectors

SPEC = find_spec().with_name("ssc-terminal.md")
TEXT = SPEC.read_text(encoding="utf-8")
SECTION = TEXT[TEXT.index("\n## 3. "):TEXT.index("\n## 4. ")]
OFFSET = TEXT[:TEXT.index("\n## 3. ")].count("\n") + 1        # line numbers stay the file's
VECTORS = parse_vectors("\n" * OFFSET + SECTION[1:], str(SPEC))
SELECT_SSSE = "00A404000F7378312E73682EC9E7BBE1B1A3D5CF"
PSAM_APP = {"3des": ("00A4040006D15600000590",),
            "sm4": ("00A404000F7378332E73682EC9E7BBE1B1A3D5CF", "00A4000002DF01")}


def ok(target, apdu: str, sw: str = "9000") -> str:
    r = rsp(target, apdu)
    assert r[-4:] == sw, f"{apdu} answered {r}, expected {sw}"
    return r[:-4]


def psam_run(v: SpecVector, algorithm: str, init: str, enc: str, enc_sw_field: str) -> str:
    """BF DE then 80 FA on a fresh PSAM: the 80 FA output (fetched with GET RESPONSE in t0)."""
    psam = Psam.builtin()
    psam.power_on()
    for apdu in PSAM_APP[algorithm]:
        assert rsp(psam, apdu)[:2] in ("61", "90")
    ok(psam, v.fields[init])
    data_len = int(v.fields[enc][8:10], 16)
    out_len = 4 if v.fields[enc][4:6] == "05" else data_len
    ok(psam, v.fields[enc], v.fields.get(enc_sw_field, f"61{out_len:02X}"))
    return ok(psam, f"00C00000{out_len:02X}")


def generation(algorithm: str) -> int:
    return 3 if algorithm == "sm4" else 2


def check_keys(v: SpecVector, algorithm: str, index: str) -> None:
    """ROOT is the PSAM's root for the index; KCITY → KCARD; KCARD is the card's own key."""
    designation, ref = default_key_table()[int(index, 16)].split("/")
    root = samplekeys.sample_root_key(f"SSC-DEMO-ROOT/{designation}/{ref}")
    if "ROOT" in v.fields:
        assert v.hex("ROOT") == root
        assert Psam.builtin().roots[int(index, 16)] == root
    card_key = sample_key(generation(algorithm), designation, ref)
    if "KCITY" in v.fields:
        assert schemes.diversify(algorithm, v.hex("KCITY"), schemes.card_div(sample_atr(algorithm))) == card_key
    if "KCARD" in v.fields:
        assert v.hex("KCARD") == card_key


def sample_atr(algorithm: str) -> bytes:
    return Card.builtin(f"gen{generation(algorithm)}").power_on()


def check_init(v: SpecVector, algorithm: str, index: str, pf: bytes | None) -> None:
    """P_INIT is BF DE 48 <index> with cardDiv ‖ cityDiv of the sample card [‖ PF]."""
    atr = sample_atr(algorithm)
    div = schemes.card_div(atr) + schemes.city_div("440300")
    body = div + (pf or b"")
    assert v.fields["P_INIT"] == ("BFDE48" + index + f"{len(body):02X}" + body.hex()).upper()
    if "ATR" in v.fields:
        assert v.hex("ATR") == atr
    for name, value in (("CARDDIV", div[:8]), ("CITYDIV", div[8:])):
        if name in v.fields:
            assert v.hex(name) == value


def replay_ext(v: SpecVector, algorithm: str) -> None:
    r, index = v.hex("R"), v.fields["IDX"]
    pf = r + bytes(8) if algorithm == "sm4" else r
    check_keys(v, algorithm, index)
    check_init(v, algorithm, index, pf)
    assert v.fields["P_ENC"] == f"80FA0000{len(pf):02X}{pf.hex().upper()}"
    out = bytes.fromhex(psam_run(v, algorithm, "P_INIT", "P_ENC", "P_ENC_SW"))
    if algorithm == "sm4":
        assert out == v.hex("X") == crypto.sm4_encrypt(v.hex("SK"), pf)
        c = crypto.fold8(out)
    else:
        c = out
        assert c == crypto.des_encrypt(v.hex("SK"), pf)
    assert c == v.hex("C")
    apdu = v.hex("APDU")
    key_ref = apdu[3]
    tail = b"\x01" if algorithm == "sm4" else b""
    assert apdu == bytes((0, 0x82, 0, key_ref, 16 + len(tail))) + c + r + tail
    card = Card.builtin(f"gen{generation(algorithm)}", random=Challenges(r.hex()))
    card.power_on()
    assert rsp(card, SELECT_SSSE)[:2] == "61"
    assert ok(card, "0084000008") == r.hex().upper()
    ok(card, v.fields["APDU"], v.fields["SW"])


def replay_int(v: SpecVector, algorithm: str) -> None:
    r1, r2 = v.hex("R1"), v.hex("R2")
    pad = bytes(8) if algorithm == "sm4" else b""
    check_keys(v, algorithm, "10")
    check_init(v, algorithm, "10", r1 + pad)
    assert v.fields["P_ENC"] == f"80FA0000{len(r2 + pad):02X}{(r2 + pad).hex().upper()}"
    card = Card.builtin(f"gen{generation(algorithm)}")
    card.power_on()
    assert rsp(card, SELECT_SSSE)[:2] == "61"
    assert v.fields["CARD"] == "0088000110" + (r1 + r2).hex().upper()
    ok(card, v.fields["CARD"], "6108")
    assert ok(card, "00C0000008") == v.fields["OUT"]
    out = bytes.fromhex(psam_run(v, algorithm, "P_INIT", "P_ENC", "P_ENC_SW"))
    if algorithm == "sm4":
        assert out == v.hex("X") == crypto.sm4_encrypt(v.hex("SK"), r2 + pad)
        out = crypto.fold8(out)
    else:
        assert out == crypto.des_encrypt(v.hex("SK"), r2)
    assert out == v.hex("EXPECTED") == v.hex("OUT")


def replay_mac(v: SpecVector, algorithm: str) -> None:
    index = v.fields["IDX"]
    check_keys(v, algorithm, index)
    check_init(v, algorithm, index, None)
    r = v.hex("R") if "R" in v.fields else None
    card = Card.builtin(f"gen{generation(algorithm)}", random=Challenges(*([r.hex()] if r else [])))
    card.power_on()
    assert rsp(card, SELECT_SSSE)[:2] == "61"
    for sw in ("63C2", "63C1", "63C0"):                       # block the PIN first
        ok(card, "0020000003999999", sw)
    ok(card, "0020000003123456", "6983")
    if r is not None:
        assert ok(card, f"00840000{len(r):02X}") == r.hex().upper()
    psam = Psam.builtin()
    psam.power_on()
    for apdu in PSAM_APP[algorithm]:
        assert rsp(psam, apdu)[:2] in ("61", "90")
    ok(psam, v.fields["P_INIT"])
    block = 16 if algorithm == "sm4" else 8
    enc = b""
    if "P_ENC" in v.fields:
        plain = schemes.pin_block(bytes.fromhex(v.fields["NEW"]), block)
        assert v.fields["P_ENC"] == f"80FA0000{len(plain):02X}{plain.hex().upper()}"
        ok(psam, v.fields["P_ENC"], f"61{len(plain):02X}")
        enc = bytes.fromhex(ok(psam, f"00C00000{len(plain):02X}"))
        assert enc == v.hex("ENC")
    if r is None:       # RELOAD PIN (card §4.15): MAC over the new PIN, zero ICV
        message = bytes.fromhex(v.fields["NEW"])
        header = bytes.fromhex("805E0000") + bytes([len(message) + 4])
    else:               # PIN UNBLOCK (card §4.16): MAC over header ‖ Lc ‖ [ENC], ICV = challenge
        header = b""
        message = bytes.fromhex("84240000") + bytes([len(enc) + 4]) + enc
    icv = (r + bytes(block - len(r))) if r is not None else bytes(block)
    padded = crypto.pad80(message, block)
    assert v.fields["P_MAC"] == f"80FA0500{len(icv + padded):02X}{(icv + padded).hex().upper()}"
    ok(psam, v.fields["P_MAC"], v.fields.get("P_MAC_SW", "6104"))
    mac = bytes.fromhex(ok(psam, "00C0000004"))
    assert mac == v.hex("MAC")
    assert v.hex("APDU") == header + message + mac
    ok(card, v.fields["APDU"], v.fields["SW"])
    ok(card, "0020000003123456")                              # the PIN works again


def replay_hsm_read(v: SpecVector) -> None:
    """The HSM is played by the PSAM's derivation: index 10 (PF S2, data S1) and index 11
    (PF S4 = the live challenge, data S3); the card accepts the second part."""
    s1, s2, s3, s4 = (v.hex(f"S{i}") for i in range(1, 5))
    card = Card.builtin("gen3", random=Challenges(s4.hex()))
    atr = card.power_on()
    assert rsp(card, SELECT_SSSE)[:2] == "61"
    card_id = ok(card, "00B2012C00")[4:]
    assert v.fields["CARD_INT"] == "0088000110" + (s2 + s1).hex().upper()
    ok(card, v.fields["CARD_INT"], "6108")
    assert ok(card, "00C0000008") == v.fields["OUT"]
    hist = atr_parse(atr).historical
    assert v.fields["STEP1"] == "|".join([card_id[:6], hist.hex().upper(), "03", card_id,
                                          s2.hex().upper(), s1.hex().upper(), s4.hex().upper(),
                                          s3.hex().upper(), "", ""])
    psam = Psam.builtin()
    psam.power_on()
    for apdu in PSAM_APP["sm4"]:
        assert rsp(psam, apdu)[:2] in ("61", "90")
    div = (schemes.card_div(atr) + schemes.city_div("440300")).hex().upper()
    parts = []
    for index, pf, d in (("10", s2, s1), ("11", s4, s3)):
        ok(psam, f"BFDE48{index}20{div}{(pf + bytes(8)).hex().upper()}")
        ok(psam, f"80FA000010{(d + bytes(8)).hex().upper()}", "6110")
        parts.append((crypto.fold8(bytes.fromhex(ok(psam, "00C0000010"))) + d).hex().upper())
    assert v.fields["PKEY"] == "|".join(parts) + "|"
    assert parts[0][:16] == v.fields["OUT"]
    assert ok(card, "0084000008") == s4.hex().upper()
    assert v.fields["APDU"] == "0082000A10" + parts[1]
    ok(card, v.fields["APDU"], v.fields["SW"])


REPLAY = {
    "psam-ext-sm4": lambda v: replay_ext(v, "sm4"),
    "psam-ext-des": lambda v: replay_ext(v, "3des"),
    "psam-int-sm4": lambda v: replay_int(v, "sm4"),
    "psam-int-des": lambda v: replay_int(v, "3des"),
    "psam-mac-sm4": lambda v: replay_mac(v, "sm4"),
    "psam-mac-des": lambda v: replay_mac(v, "3des"),
    "hsm-read": replay_hsm_read,
}


def test_every_vector_of_section_3_is_parsed():
    fences = len(re.findall(r"^```vector\s*$", SECTION, flags=re.M))
    assert fences == len(VECTORS) >= 10
    unknown = [f"{v.where} {v.name} ({v.type})" for v in VECTORS if v.type not in REPLAY]
    assert not unknown, f"no replayer for: {unknown}"


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_vector(vector):
    REPLAY[vector.type](vector)


def test_wrong_key_index_gives_63c2_as_section_3_says():
    """The prose after PSAM-EXT-G3-K0A: with IDX 12 the card answers 63C2 to that APDU."""
    assert "answers `63C2` to\n`0082000A113640F099211E523C112233445566778801`" in SECTION
    psam = Psam.builtin()
    for apdu in PSAM_APP["sm4"]:
        rsp(psam, apdu)
    pf = "1122334455667788" + "00" * 8
    ok(psam, "BFDE481220430344035A3C1E033434303330307378" + pf)
    ok(psam, "80FA000010" + pf, "6110")
    c = crypto.fold8(bytes.fromhex(ok(psam, "00C0000010"))).hex().upper()
    assert c == "3640F099211E523C"
    card = Card.builtin("gen3", random=Challenges("1122334455667788"))
    card.power_on()
    rsp(card, SELECT_SSSE)
    ok(card, "0084000008")
    ok(card, "0082000A11" + c + "112233445566778801", "63C2")
