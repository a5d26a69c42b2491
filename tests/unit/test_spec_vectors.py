"""Every ```vector block of docs/spec/ssc-card.md, recomputed with simulator.crypto.

One parametrised test: adding a vector to the spec adds a case; a vector of a type nobody
checks fails, and so does any field a checker did not look at.
"""

from __future__ import annotations

import re

import pytest

from simulator import crypto, gb11643, samplekeys, schemes
from simulator.atr import parse as atr_parse
from simulator.samplekeys import SAMPLE_ATR, SAMPLE_REGION, sample_key, sample_keys
from specvectors import (SpecVector, SpecVectorError, find_spec, load_spec_vectors,
                                   parse_vectors)

SPEC = find_spec()
SPEC_TEXT = SPEC.read_text(encoding="utf-8")
VECTORS = load_spec_vectors()

# The SSSE key a vector of this type uses (§5.4.7, §5.4.12); session vectors say it as -Knn.
ROLE_KEY = {"cla84-mac-des": "08", "cla84-mac-sm4": "08", "pin-unblock-des": "06",
            "pin-unblock-sm4": "06", "reload-pin-des": "07", "reload-pin-sm4": "07",
            "cardid-mac-des": "01", "cardid-mac-sm4": "01"}


class Checked:
    """A vector whose fields are compared one by one; remembers which were used."""

    def __init__(self, vector: SpecVector):
        self.v, self.used, self.waived = vector, set(), set()

    def __contains__(self, name: str) -> bool:
        return name in self.v.fields

    def text(self, name: str) -> str:
        self.used.add(name)
        return self.v.fields[name]

    def hex(self, name: str) -> bytes:
        self.used.add(name)
        return self.v.hex(name)

    def expect(self, name: str, computed: bytes) -> None:
        given = self.hex(name)
        assert computed == given, (f"{self.v.where} {self.v.name}.{name}: spec {given.hex().upper()}"
                                   f", computed {computed.hex().upper()}")

    def not_checked_here(self, *names: str) -> None:
        self.used.update(names)
        self.waived.update(names)

    @property
    def generation(self) -> int | None:
        m = re.search(r"-G([123])(?:-|$)", self.v.name)
        return int(m.group(1)) if m else None

    def key_ref(self) -> int:
        """P2: the P2 field, else the -Knn of the vector name."""
        if "P2" in self:
            return self.hex("P2")[0]
        m = re.search(r"-K([0-9A-F]{2})(?:-|$)", self.v.name)
        assert m, f"{self.v.where} {self.v.name}: no P2 field and no -Knn in the name"
        return int(m.group(1), 16)

    def sample_card_key(self, ref: str) -> None:
        """A vector named after a sample card (-G1/-G2/-G3) uses that card's key K (§5.5)."""
        if self.generation is not None:
            self.expect("K", bytes.fromhex(sample_keys(self.generation)["SSSE"][ref]))


CHECKERS = {}


def checker(*types):
    def register(fn):
        for t in types:
            CHECKERS[t] = fn
        return fn
    return register


@checker("gb11643")
def _gb11643(v: Checked):
    d17, check, ssn = v.text("D17"), v.text("CHECK"), v.text("SSN")
    assert gb11643.check_char(d17) == check
    assert ssn == d17 + check and gb11643.is_valid(ssn)
    assert "0812" + ssn.encode().hex().upper() in SPEC_TEXT     # the sample EF06 record (§3.8)


@checker("sm3")
def _sm3(v):
    v.expect("OUT", crypto.sm3(v.hex("IN")))


@checker("des-session-ext", "sm4-session-ext")
def _session_ext(v):
    sm4 = v.v.type.startswith("sm4")
    k, r, d = v.hex("K"), v.hex("R"), v.hex("D")
    v.expect("SK", (schemes.sm4_session_key if sm4 else schemes.des_session_key)(k, r))
    if sm4:
        v.expect("X", schemes.sm4_session_x(k, r, d))
    c = schemes.external_cryptogram("sm4-session" if sm4 else "des-session", k, r, d)
    v.expect("C", c)
    if d == r:                                  # PSAM flows: D defaults to the challenge
        assert schemes.external_cryptogram("sm4-session" if sm4 else "des-session", k, r) == c
    ref = v.key_ref()
    v.expect("APDU", bytes([0, 0x82, 0, ref, 0x11 if sm4 else 0x10]) + c + d + (b"\x01" if sm4 else b""))
    v.sample_card_key(f"{ref:02X}")


@checker("des-session-int", "sm4-session-int")
def _session_int(v):
    sm4 = v.v.type.startswith("sm4")
    k, r1, r2 = v.hex("K"), v.hex("R1"), v.hex("R2")
    v.expect("SK", (schemes.sm4_session_key if sm4 else schemes.des_session_key)(k, r1))
    if sm4:
        v.expect("X", schemes.sm4_session_x(k, r1, r2))
    v.expect("OUT", schemes.internal_authenticate("sm4-session" if sm4 else "des-session", k, r1, r2))
    ref = v.key_ref()
    v.expect("APDU", bytes([0, 0x88, 0, ref, 0x10]) + r1 + r2)
    v.sample_card_key(f"{ref:02X}")


@checker("sm4-direct-ext")
def _sm4_direct(v):
    out = schemes.external_cryptogram("sm4-direct", v.hex("K"), v.hex("R"))
    assert out == schemes.sm4_direct_cryptogram(v.hex("K"), v.hex("R"))
    v.expect("OUT", out)
    v.expect("APDU", bytes.fromhex("0082000010") + out)
    if "PKI-MK" in v.v.name:
        v.expect("K", bytes.fromhex(sample_keys(3)["PKI"]["00"]))


@checker("retail-mac")
def _retail_mac(v):
    k, icv, data = v.hex("K"), v.hex("ICV"), v.hex("DATA")
    v.expect("PADDED", crypto.pad80(data, 8))
    v.expect("MAC8", crypto.retail_mac8(k, data, icv))
    v.expect("MAC", crypto.retail_mac(k, data, icv))


@checker("sm4-mac")
def _sm4_mac(v):
    k, iv, data = v.hex("K"), v.hex("IV"), v.hex("DATA")
    v.expect("PADDED", crypto.pad80(data, 16))
    v.expect("Y", crypto.sm4_mac_block(k, data, iv))
    v.expect("MAC", crypto.sm4_mac(k, data, iv))


def _cla84_mac(v, algorithm: str, macdata: bytes) -> bytes:
    """ICV/IV = the challenge adapted (R8 / R16); the MAC over MACDATA; APDU = MACDATA ‖ MAC."""
    k, r = v.hex("K"), v.hex("R")
    if algorithm == "3des":
        v.expect("ICV", crypto.r8(r))
        mac = crypto.retail_mac(k, macdata, v.hex("ICV"))
    else:
        v.expect("IV", crypto.r16(r))
        mac = crypto.sm4_mac(k, macdata, v.hex("IV"))
    assert crypto.mac(algorithm, k, macdata, r) == mac
    v.expect("MACDATA", macdata)
    v.expect("MAC", mac)
    v.expect("APDU", macdata + mac)
    v.sample_card_key(ROLE_KEY[v.v.type])
    return mac


@checker("cla84-mac-des", "cla84-mac-sm4")
def _cla84(v):
    header = v.hex("MACDATA")
    assert header[:1] == b"\x84" and header[1] in (0x1E, 0x18, 0x16) and len(header) == 5
    assert header[4] == 4, "Lc counts the 4 MAC bytes"
    _cla84_mac(v, "3des" if v.v.type.endswith("des") else "sm4", header)


@checker("pin-unblock-des", "pin-unblock-sm4")
def _pin_unblock(v):
    algorithm, block = ("3des", 8) if v.v.type.endswith("des") else ("sm4", 16)
    enc = b""
    if "NEW" in v:
        k, new = v.hex("K"), schemes.pin_bcd(v.text("NEW"))
        v.expect("PLAIN", crypto.pad80(bytes([len(new)]) + new, block))
        enc = schemes.pin_unblock_enc(algorithm, k, new)
        v.expect("ENC", enc)
        plain = (crypto.tdes_encrypt if block == 8 else crypto.sm4_encrypt)(k, v.hex("PLAIN"))
        assert plain == enc
        assert schemes.pin_unblock_dec(algorithm, k, enc) == new
    _cla84_mac(v, algorithm, bytes([0x84, 0x24, 0, 0, len(enc) + 4]) + enc)


@checker("reload-pin-des", "reload-pin-sm4")
def _reload_pin(v):
    algorithm, zero = ("3des", "ICV") if v.v.type.endswith("des") else ("sm4", "IV")
    k, new = v.hex("K"), schemes.pin_bcd(v.text("NEW"))
    v.expect(zero, bytes(8 if algorithm == "3des" else 16))   # RELOAD PIN: zero ICV (§5.4.7)
    mac = crypto.mac(algorithm, k, new)
    v.expect("MAC", mac)
    v.expect("APDU", bytes([0x80, 0x5E, 0, 0, len(new) + 4]) + new + mac)
    v.sample_card_key(ROLE_KEY[v.v.type])


@checker("ssse-verify")
def _ssse_verify(v):
    pin = schemes.pin_bcd(v.text("PIN"))
    assert schemes.bcd_pin(pin) == v.text("PIN")
    v.expect("APDU", bytes([0, 0x20, 0, 0, len(pin)]) + pin)


@checker("ssse-change-pin")
def _ssse_change_pin(v):
    data = schemes.pin_bcd(v.text("OLD")) + b"\xff" + schemes.pin_bcd(v.text("NEW"))
    v.expect("APDU", bytes([0x80, 0x5E, 1, 0, len(data)]) + data)


def _pki_pin_ref(v) -> int:
    name = v.v.name
    assert ("USER" in name) != ("ADMIN" in name), f"{name}: say USER or ADMIN"
    return 0x81 if "USER" in name else 0x00


@checker("pki-verify")
def _pki_verify(v):
    pin, r = schemes.pin_bcd(v.text("PIN")), v.hex("R")
    v.expect("H", crypto.sm3(pin))
    ct = schemes.pki_verify_cryptogram(pin, r)
    assert ct == crypto.sm4_encrypt(v.hex("H")[:16], r)
    v.expect("CT", ct)
    v.expect("APDU", bytes([0, 0x20, 1, _pki_pin_ref(v), 0x10]) + ct)


@checker("pki-change-pin")
def _pki_change_pin(v):
    old, new, r, p2 = (schemes.pin_bcd(v.text("OLD")), schemes.pin_bcd(v.text("NEW")),
                       v.hex("R"), _pki_pin_ref(v))
    v.expect("K", schemes.pki_pin_key(old))
    v.expect("PLAIN", crypto.pad80(bytes([len(new)]) + new, 16))
    body, mac = schemes.pki_change_pin(old, new, p2, r)
    assert body == crypto.sm4_encrypt(v.hex("K"), v.hex("PLAIN"))
    v.expect("BODY", body)
    macdata = bytes([0x84, 0x5E, 1, p2, 0x14]) + body
    v.expect("MACDATA", macdata)
    assert crypto.sm4_mac(v.hex("K"), macdata, crypto.r16(r)) == mac
    v.expect("MAC", mac)
    v.expect("APDU", macdata + mac)
    assert schemes.open_pin_block(crypto.sm4_decrypt(v.hex("K"), body), 16, 2, 8) == new


@checker("pki-change-mk")
def _pki_change_mk(v):
    old, new, r = v.hex("OLDMK"), v.hex("NEWMK"), v.hex("R")
    v.expect("OLDMK", bytes.fromhex(sample_keys(3)["PKI"]["00"]))    # the gen3 sample MK
    v.expect("PLAIN", crypto.pad80(b"\x13\x00\x00\x00" + new, 16))
    body, mac = schemes.pki_change_mk(old, new, 0x00, r)
    assert body == crypto.sm4_encrypt(old, v.hex("PLAIN"))
    v.expect("BODY", body)
    macdata = bytes([0x84, 0xD4, 1, 0x00, 0x24]) + body
    v.expect("MACDATA", macdata)
    assert crypto.sm4_mac(old, macdata, crypto.r16(r)) == mac
    v.expect("MAC", mac)
    v.expect("APDU", macdata + mac)
    assert schemes.open_pki_change_mk(old, body) == (b"\0\0\0", new)


@checker("cardid-mac-des", "cardid-mac-sm4")
def _cardid(v):
    data = v.hex("DATA")
    assert data[0:3] == bytes.fromhex(SAMPLE_REGION) and data[3:8] == bytes.fromhex("D156000005")
    mac = schemes.cardid_mac("3des" if v.v.type.endswith("des") else "sm4", v.hex("K"), data)
    v.expect("MAC", mac)
    v.expect("CARDID", data + mac)
    v.sample_card_key(ROLE_KEY[v.v.type])
    if v.generation:      # the card ID is EF05 record 1 of that sample card, serial = ATR tail
        assert data[8:12] == SAMPLE_ATR[v.generation][-4:]
        assert "0110" + (data + mac).hex().upper() in SPEC_TEXT


@checker("div-3des", "div-sm4")
def _div(v):
    f = v.hex("F")
    v.expect("NOTF", bytes(b ^ 0xFF for b in f))
    v.expect("OUT", schemes.diversify(v.v.type[4:], v.hex("K"), f))


@checker("div-chain-3des", "div-chain-sm4")
def _div_chain(v):
    algorithm, gen = v.v.type[10:], v.generation
    assert gen and algorithm == ("sm4" if gen == 3 else "3des")
    label = v.text("LABEL")
    root = samplekeys.sample_root_key(label)
    v.expect("ROOT", root)
    v.expect("CITYDIV", schemes.city_div(SAMPLE_REGION))
    v.expect("KCITY", schemes.diversify(algorithm, root, v.hex("CITYDIV")))
    v.expect("CARDDIV", schemes.card_div(SAMPLE_ATR[gen]))
    kcard = schemes.diversify_chain(algorithm, root, v.hex("CITYDIV"), v.hex("CARDDIV"))
    v.expect("KCARD", kcard)
    _, designation, p2 = label.split("/")
    assert sample_key(gen, designation, p2) == kcard


@checker("atr")
def _atr(v):
    gen = v.hex("GEN")
    v.expect("REGION", bytes.fromhex(SAMPLE_REGION))       # the sample cards' issuing region
    hist = (bytes.fromhex("008100") + b"SSC" + gen + v.hex("REGION")[:2] + v.hex("SERIAL"))
    v.expect("HIST", hist)
    t0 = bytes.fromhex("3B6D0000") + hist
    v.expect("ATR_T0", t0)
    assert t0 == SAMPLE_ATR[gen[0]]
    body = bytes.fromhex("3BED000001") + hist
    tck = 0
    for b in body[1:]:
        tck ^= b
    v.expect("ATR_T1", body + bytes([tck]))
    assert (atr_parse(t0).historical, atr_parse(t0).tck) == (hist, None)
    assert (atr_parse(body + bytes([tck])).historical, atr_parse(body + bytes([tck])).tck) == (hist, tck)
    v.expect("CARDDIV", schemes.card_div(t0))
    assert schemes.card_div(body + bytes([tck])) == schemes.card_div(t0) == hist[-8:]


@checker("sm2-decrypt")
def _sm2_decrypt(v):
    # SM2 belongs to the SM2 adapter; its tests check D·G = (PX, PY), C1 = KEPH·G, the KDF,
    # C2 and C3. Here only the layout of the APDU and of file 0012 (§4.19.5, §5.4.13).
    v.not_checked_here("D", "KEPH")
    c1, c3, c2, m = v.hex("C1"), v.hex("C3"), v.hex("C2"), v.hex("M")
    assert len(c1) == 64 and len(c3) == 32 and len(c2) == len(m) == 16
    ct = c1 + c3 + c2
    v.expect("C1LEN", b"\x82" + len(ct).to_bytes(2, "big"))
    data = bytes.fromhex("C2020013C1") + v.hex("C1LEN") + ct
    v.expect("APDU", bytes([0x80, 0x4E, 0, 1, len(data)]) + data)
    v.expect("EF0012", b"\xca\x40" + v.hex("PX") + v.hex("PY"))
    # §5.4.13: the unwrapped M is the key SM2-IMPORT then loads
    (imported,) = [x for x in VECTORS if x.type == "sm2-import"]
    v.expect("M", imported.hex("M"))


@checker("sm2-import")
def _sm2_import(v):
    # (P2X, P2Y) = D2·G is the SM2 adapter's to check; the SM4 wrapping and the APDUs are ours.
    m, d2 = v.hex("M"), v.hex("D2")
    v.expect("ENCD2", crypto.sm4_encrypt(m, d2))
    assert crypto.sm4_decrypt(m, v.hex("ENCD2")) == d2
    v.expect("APDU_LOADKEY", bytes.fromhex("804A021012C110") + m)
    v.expect("APDU_PUB", bytes.fromhex("80C2400046C0020014CA40") + v.hex("P2X") + v.hex("P2Y"))
    v.expect("APDU_PRIV", bytes.fromhex("80C2C00126C2020015CB20") + v.hex("ENCD2"))


def check_vector(vector: SpecVector) -> Checked:
    assert vector.type in CHECKERS, f"{vector.where}: no checker for vector type {vector.type!r}"
    checked = Checked(vector)
    CHECKERS[vector.type](checked)
    unchecked = set(vector.fields) - checked.used
    assert not unchecked, f"{vector.where} {vector.name}: fields not checked: {sorted(unchecked)}"
    return checked


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_spec_vector(vector):
    check_vector(vector)


def _mutated(value: str) -> str:
    # +2, not +1: the low bit of each DES key byte is parity and is ignored (§5.4.1)
    last = int(value[-1], 16)
    return value[:-1] + "%X" % ((last + 2) % (10 if last < 10 else 16))


def test_every_checked_field_matters():
    """Changing the last digit of any field a checker claims to check makes it fail."""
    for vector in VECTORS:
        for name in sorted(set(vector.fields) - check_vector(vector).waived):
            fields = {**vector.fields, name: _mutated(vector.fields[name])}
            bad = SpecVector(vector.name, vector.type, fields, vector.source, vector.line)
            with pytest.raises(Exception):
                check_vector(bad)
                pytest.fail(f"{vector.name}: field {name} changed and still passes")


# --- the collector and the checker machinery ---------------------------------------------------

def test_every_vector_block_is_collected():
    assert len(VECTORS) == SPEC_TEXT.count("```vector") >= 46
    assert {v.type for v in VECTORS} <= set(CHECKERS)


def test_unknown_type_and_unchecked_field_fail():
    with pytest.raises(AssertionError, match="no checker"):
        check_vector(SpecVector("NEW-1", "brand-new", {"K": "00"}))
    with pytest.raises(AssertionError, match=r"not checked: \['EXTRA'\]"):
        check_vector(SpecVector("SM3-X", "sm3", {"IN": "616263", "EXTRA": "00", "OUT":
                     "66C7F0F462EEEDD9D1F2D46BDC10E4E24167C4875CF2F7A2297DA02B8F4BA8E0"}))
    with pytest.raises(AssertionError, match="SM3-Y.OUT"):
        check_vector(SpecVector("SM3-Y", "sm3", {"IN": "616263", "OUT": "00" * 32}))


def test_parse_vectors_fields_and_lines():
    text = "intro\n```vector\nvector  : A-1\ntype = sm3\nIN   = 61\n\nOUT  = 0A0B\n```\n```\nx\n```\n"
    (v,) = parse_vectors(text, "t.md")
    assert (v.name, v.type, v.fields, v.line, v.where) == ("A-1", "sm3", {"IN": "61", "OUT": "0A0B"},
                                                           3, "t.md:3")
    assert v.field_lines == {"IN": 5, "OUT": 7} and v.hex("OUT") == b"\x0a\x0b"


@pytest.mark.parametrize("text, line, message", [
    ("```vector\ntype = sm3\n```", 2, "expected 'vector : NAME'"),
    ("```vector\nvector : A\ntype = sm3\nIN 61\n```", 4, "expected 'FIELD = value'"),
    ("```vector\nvector : A\nIN = 61\n```", 2, "no 'type"),
    ("```vector\nvector : A\ntype = sm3\nIN = 1\nIN = 2\n```", 5, "given twice"),
    ("```vector\nvector : A\ntype = sm3\nIN =\n```", 4, "no value"),
    ("x\n```vector\nvector : A\ntype = sm3\n", 2, "not closed"),
    ("```vector\n```", 1, "empty"),
    ("```vector\nvector : A\ntype = t\n```\n```vector\nvector : A\ntype = t\n```", 6, "already defined"),
])
def test_parse_errors_name_file_and_line(text, line, message):
    with pytest.raises(SpecVectorError, match=message) as err:
        parse_vectors(text, "bad.md")
    assert str(err.value).startswith(f"bad.md:{line}: ") and err.value.line == line


def test_hex_error_names_the_field_line():
    (v,) = parse_vectors("```vector\nvector : A\ntype = t\nK = 0G\n```", "f.md")
    with pytest.raises(SpecVectorError, match=r"^f\.md:4: A: field K is not hex"):
        v.hex("K")


def test_spec_location(tmp_path):
    assert SPEC.parts[-3:] == ("docs", "spec", "ssc-card.md")
    assert load_spec_vectors(SPEC) == VECTORS
    with pytest.raises(FileNotFoundError, match="docs/spec/ssc-card.md"):
        find_spec(tmp_path)
