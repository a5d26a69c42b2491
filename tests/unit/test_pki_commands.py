"""PKI commands of spec §4.19 (gen3): the synthetic vectors of §5.4.9-§5.4.13, every SW of each
command's table, the access rules of PD-27 and the order of checks of §4.3.

The terminal side is computed here with `cryptography` (SM3, SM4) and snowland-smx (`pysmx`, SM2),
not with the simulator's own crypto module; expected bytes come from the spec's vectors.
"""

from __future__ import annotations

import copy

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from simulator import Card
from simulator.samples import sample_image
from simulator.specvectors import load_spec_vectors

pysmx_sm2 = pytest.importorskip("pysmx.SM2", reason="snowland-smx (test extra) not installed")

H = bytes.fromhex
V = {v.name: v for v in load_spec_vectors()}
PKI_NAME, ADF1_NAME = "504B492EC9E7BBE1B1A3D5CF", "53532E434552542E41444631"
SSSE_NAME = "7378312E73682EC9E7BBE1B1A3D5CF"
USER, ADMIN = H("123456"), H("12345678")
MK = H("0D84307FE5546DBC0D31F3561E501477")  # §5.5, the gen3 sample's PKI master key
N = int(pysmx_sm2.sm2_N)  # the SM2 group order
ENV, IMP = V["SM2-ENVELOPE"], V["SM2-IMPORT"]
SIGN_REFS = "C0020012C2020013"


# --- terminal side, independent of simulator.crypto ----------------------------------------------

def sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def sm4(key: bytes, data: bytes, decrypt: bool = False) -> bytes:
    cipher = Cipher(algorithms.SM4(key), modes.ECB())
    ctx = cipher.decryptor() if decrypt else cipher.encryptor()
    return ctx.update(data) + ctx.finalize()


def pad80(data: bytes) -> bytes:
    data += b"\x80"
    return data + bytes(-len(data) % 16)


def sm4_mac(key: bytes, data: bytes, iv: bytes) -> bytes:
    """§5.4.6: SM4-CBC over pad80(data), fold4 of the last block."""
    y = iv
    padded = pad80(data)
    for i in range(0, len(padded), 16):
        y = sm4(key, bytes(a ^ b for a, b in zip(y, padded[i:i + 16])))
    return bytes(y[i] ^ y[i + 4] ^ y[i + 8] ^ y[i + 12] for i in range(4))


def verify_ct(pin: bytes, r: bytes) -> bytes:
    return sm4(sm3(pin)[:16], r)


def change_pin_apdu(old: bytes, p2: int, r: bytes, plain: bytes) -> str:
    key = sm3(old)[:16]
    body = sm4(key, plain)
    header = bytes([0x84, 0x5E, 0x01, p2, 0x14])
    return (header + body + sm4_mac(key, header + body, r)).hex()


def change_mk_apdu(old: bytes, r: bytes, plain: bytes, mac_key: bytes | None = None) -> str:
    body = sm4(old, plain)
    header = bytes.fromhex("84D4010024")
    return (header + body + sm4_mac(mac_key or old, header + body, r)).hex()


def test_terminal_mac_matches_the_spec_vector():
    v = V["SM4-MAC-1"]
    assert sm4_mac(v.hex("K"), v.hex("DATA"), v.hex("IV")) == v.hex("MAC")


# --- card helpers ----------------------------------------------------------------------------

class Forced:
    """The card's random source: queued values first (exact length), then distinct patterns."""

    def __init__(self):
        self.queue: list[bytes] = []
        self.calls = 0

    def __call__(self, n: int) -> bytes:
        self.calls += 1
        if self.queue:
            value = self.queue.pop(0)
            assert len(value) == n, (len(value), n)
            return value
        return bytes((self.calls * 0x1D + i * 7) & 0xFF for i in range(n))


def blank_image(**switches) -> dict:
    """The gen3 sample with its PKI key and certificate files blank (as before personalisation)."""
    image = copy.deepcopy(sample_image("gen3"))
    image["files"] = {p: v for p, v in (image.get("files") or {}).items() if not p.startswith("PKI/")}
    if switches:
        image["switches"] = switches
    return image


def with_envelope_keys(**switches) -> dict:
    image = blank_image(**switches)
    image["files"].update({"PKI/SS.CERT.ADF1/0012": ENV.fields["EF0012"], "PKI/SS.CERT.ADF1/0013": ENV.fields["D"]})
    return image


def card_at(where: str = "ADF1", image: dict | None = None, **switches) -> Card:
    card = Card.from_dict(image or blank_image(**switches), random=Forced())
    card.power_on()
    if where == "SSSE":
        assert sw(card, "00A404000F" + SSSE_NAME) in ("6118", "9000")
    if where in ("PKI", "ADF1"):
        assert sw(card, "00A4040C0C" + PKI_NAME) == "9000"
    if where == "ADF1":
        assert sw(card, "00A4040C0C" + ADF1_NAME) == "9000"
    return card


def send(card: Card, apdu: str) -> tuple[bytes, str]:
    r = card.transmit(H(apdu.replace(" ", "")))
    return r[:-2], r[-2:].hex().upper()


def sw(card: Card, apdu: str) -> str:
    return send(card, apdu)[1]


def challenge(card: Card, value: bytes | str | None = None) -> bytes:
    if value is not None:
        card.random.queue.append(H(value) if isinstance(value, str) else value)
    data, status = send(card, "0084000010")
    assert status == "9000" and len(data) == 16
    return data


def verify(card: Card, p2: int, pin: bytes) -> str:
    r = challenge(card)
    return sw(card, f"002001{p2:02X}10" + verify_ct(pin, r).hex())


def pki_file(card: Card, fid: str) -> bytes:
    return bytes(card.model.efs[f"PKI/SS.CERT.ADF1/{fid}"].data)


def pin_tries(card: Card, ref: int) -> int:
    return card.model.dfs["PKI/SS.CERT.ADF1"].pins[ref].tries


# --- vectors of the spec -----------------------------------------------------------------------

@pytest.mark.parametrize("apdu,vector", [("80C4010305C10312345600", "SM3-PIN-123456"),
                                         ("80C4010306C1041234567800", "SM3-PIN-12345678")])
def test_hash_pin_examples(apdu, vector):
    card = card_at()
    assert send(card, apdu) == (b"", "6120")
    assert send(card, "00C0000020") == (V[vector].hex("OUT"), "9000")
    t1 = card_at(transport="t1")
    assert send(t1, apdu) == (V[vector].hex("OUT"), "9000")
    assert sw(t1, apdu[:-2] + "10") == "6C20"  # t1 with a short Le: the Le rules apply


@pytest.mark.parametrize("name,p2,entry", [("PKI-VERIFY-USER", 0x81, "PIN(user)"),
                                           ("PKI-VERIFY-ADMIN", 0x00, "PIN(admin)")])
def test_pki_verify_vectors(name, p2, entry):
    v = V[name]
    card = card_at()
    assert challenge(card, v.hex("R")) == v.hex("R")
    assert sw(card, v.fields["APDU"]) == "9000"
    assert card.sec.status == {entry}
    assert sw(card, v.fields["APDU"]) == "6984"  # the challenge was used up (PD-11)


@pytest.mark.parametrize("name,p2", [("PKI-CHANGE-ADMIN-PIN", 0x00), ("PKI-CHANGE-USER-PIN", 0x81)])
def test_pki_change_pin_vectors(name, p2):
    v = V[name]
    card = card_at()
    challenge(card, v.hex("R"))
    assert sw(card, v.fields["APDU"]) == "9000"
    # Proving the PIN counts as a VERIFY (§5.3): the command that needs it works at once.
    needs = "8040000008" + SIGN_REFS if p2 == 0x81 else IMP.fields["APDU_LOADKEY"]
    assert sw(card, needs) == "9000"
    assert verify(card, p2, H(v.fields["NEW"])) == "9000"
    assert verify(card, p2, H(v.fields["OLD"])) == "63C2"
    assert card.export_image()["pins"]["PKI/admin" if p2 == 0 else "PKI/user"]["value"] == v.fields["NEW"]


def test_sm4_direct_pki_mk_and_change_mk_vectors():
    direct, change = V["SM4-DIRECT-PKI-MK"], V["PKI-CHANGE-MK"]
    assert direct.hex("K") == change.hex("OLDMK") == MK
    card = card_at()
    challenge(card, direct.hex("R"))
    assert sw(card, direct.fields["APDU"]) == "9000"
    challenge(card, change.hex("R"))
    assert sw(card, change.fields["APDU"]) == "9000"
    mk = card.model.dfs["PKI/SS.CERT.ADF1"].keys[0]
    assert mk.versions[1] == change.hex("NEWMK") and mk.attributes == b"\0\0\0" and mk.tries == 3
    r = challenge(card)  # key(00) left the status: a second change needs a new authentication
    assert sw(card, change_mk_apdu(change.hex("NEWMK"), r, pad80(b"\x13\0\0\0" + MK))) == "6982"
    r = challenge(card)
    assert sw(card, "0082000010" + sm4(MK, r).hex()) == "63C2"  # the old MK is gone
    r = challenge(card)
    assert sw(card, "0082000010" + sm4(change.hex("NEWMK"), r).hex()) == "9000"


def test_sm2_envelope_vector():
    card = card_at(image=with_envelope_keys())
    assert verify(card, 0x81, USER) == "9000"
    assert send(card, ENV.fields["APDU"]) == (b"", "6110")  # t0: data via GET RESPONSE
    assert send(card, "00C0000010") == (ENV.hex("M"), "9000")
    t1 = card_at(image=with_envelope_keys(transport="t1"))
    assert verify(t1, 0x81, USER) == "9000"
    assert send(t1, ENV.fields["APDU"]) == (ENV.hex("M"), "9000")
    ct = ENV.hex("C1") + ENV.hex("C3") + ENV.hex("C2")
    for length in ("70", "8170", "820070"):  # the three BER length forms of C1 (§4.19.5)
        data = H("C2020013C1" + length) + ct
        assert send(t1, f"804E0001{len(data):02X}" + data.hex()) == (ENV.hex("M"), "9000")


def test_sm2_import_vector():
    card = card_at()
    assert verify(card, 0x00, ADMIN) == "9000"
    for field in ("APDU_LOADKEY", "APDU_PUB", "APDU_PRIV"):
        assert sw(card, IMP.fields[field]) == "9000", field
    assert pki_file(card, "0014") == H("CA40") + IMP.hex("P2X") + IMP.hex("P2Y")
    assert pki_file(card, "0015") == IMP.hex("D2")
    assert sw(card, IMP.fields["APDU_PRIV"]) == "6985"  # the import key served once
    assert sm4(IMP.hex("M"), IMP.hex("D2")) == IMP.hex("ENCD2")  # the vector's own relation


def test_generate_with_forced_d_gives_the_envelope_vector_key_and_exports_it():
    card = card_at()
    assert verify(card, 0x81, USER) == "9000"
    card.random.queue.append(ENV.hex("D"))
    assert sw(card, "8040000008" + SIGN_REFS) == "9000"
    assert pki_file(card, "0012") == ENV.hex("EF0012") and pki_file(card, "0013") == ENV.hex("D")
    assert sw(card, "80C9820008" + SIGN_REFS) == "9000"
    assert send(card, "80C9828010") == (b"", "6C42")  # Le too small: nothing else happens
    assert send(card, "80C9828042") == (ENV.hex("EF0012"), "9000")
    assert send(card, "80C9828000") == (ENV.hex("EF0012"), "9000")  # default file 0012


def test_generate_draws_a_new_d_in_range():
    card = card_at()
    verify(card, 0x81, USER)
    card.random.queue += [b"\xff" * 32, (N - 1).to_bytes(32, "big"), (5).to_bytes(32, "big")]
    assert sw(card, "8040000008" + SIGN_REFS) == "9000"  # n-1 and above are redrawn, not reduced
    assert pki_file(card, "0013") == (5).to_bytes(32, "big")
    assert pki_file(card, "0012") == H("CA40") + H(pysmx_sm2.kG(5, pysmx_sm2.sm2_G, 64))


# --- negative answers ----------------------------------------------------------------------------

PKI_COMMANDS = ["80C4010305C10312345600", "00200181104794C07B485910BBA3B6CADA20F62211",
                "8040000008" + SIGN_REFS, "80C9820008" + SIGN_REFS, "80C9828000", ENV.fields["APDU"],
                IMP.fields["APDU_LOADKEY"], IMP.fields["APDU_PUB"], IMP.fields["APDU_PRIV"],
                V["PKI-CHANGE-ADMIN-PIN"].fields["APDU"], V["PKI-CHANGE-MK"].fields["APDU"]]


@pytest.mark.parametrize("where", ["MF", "SSSE"])
@pytest.mark.parametrize("apdu", PKI_COMMANDS)
def test_pki_commands_outside_the_pki_application(where, apdu):
    card = card_at(where)
    challenge(card)
    assert sw(card, apdu) == "6D00"
    assert card.sec.challenge is not None  # 6D00 is step 3b: nothing was used


def test_cardholder_verify_in_pki_and_other_p1():
    card = card_at()
    assert sw(card, "0020000003123456") == "6A88"  # P1 00: the cardholder PIN, not reachable here
    assert sw(card, "0020020003123456") == "6A86"


@pytest.mark.parametrize("apdu", ["8040000008" + SIGN_REFS, ENV.fields["APDU"], IMP.fields["APDU_LOADKEY"],
                                  IMP.fields["APDU_PUB"]])
def test_commands_without_their_pin(apdu):
    card = card_at(image=with_envelope_keys())
    assert sw(card, apdu) == "6982"
    other = 0x00 if apdu[:4] in ("8040", "804E") else 0x81  # the other PIN does not do
    assert verify(card, other, ADMIN if other == 0 else USER) == "9000"
    assert sw(card, apdu) == "6982"


def test_import_private_needs_admin_and_the_import_key():
    card = card_at()
    assert sw(card, IMP.fields["APDU_PRIV"]) == "6985"  # no import key (8f) comes before the PIN (11)
    verify(card, 0x00, ADMIN)
    assert sw(card, IMP.fields["APDU_PRIV"]) == "6985"
    assert sw(card, IMP.fields["APDU_LOADKEY"]) == "9000"
    assert verify(card, 0x00, USER) == "63C2"  # a failed VERIFY drops PIN(admin), not the import key
    assert sw(card, IMP.fields["APDU_PRIV"]) == "6982"
    assert verify(card, 0x00, ADMIN) == "9000"
    assert sw(card, IMP.fields["APDU_PRIV"]) == "9000"


@pytest.mark.parametrize("p2,pin,other", [(0x81, USER, 0x00), (0x00, ADMIN, 0x81)])
def test_wrong_pin_counts_down_separately(p2, pin, other):
    card = card_at()
    wrong = b"\x99\x99\x99"
    assert [verify(card, p2, wrong) for _ in range(3)] == ["63C2", "63C1", "63C0"]
    assert verify(card, p2, pin) == "6983"  # blocked: not even the right PIN
    assert pin_tries(card, p2) == 0 and pin_tries(card, other) == 3
    assert verify(card, other, USER if other == 0x81 else ADMIN) == "9000"
    r = challenge(card)
    plain = pad80(b"\x03" + H("111111"))
    assert sw(card, change_pin_apdu(pin, p2, r, plain)) == "6983"
    assert card.sec.challenge == r  # 6983 is step 9: the challenge stays


def test_right_pin_resets_the_counter_and_failure_drops_the_status():
    card = card_at()
    assert verify(card, 0x81, b"\x12\x34") == "63C2"
    assert verify(card, 0x81, USER) == "9000" and pin_tries(card, 0x81) == 3
    assert verify(card, 0x81, b"\x12\x34") == "63C2"
    assert "PIN(user)" not in card.sec.status


def test_change_pin_wrong_mac_is_a_wrong_pin():
    card = card_at()
    r = challenge(card)
    apdu = change_pin_apdu(b"\x11\x11", 0x00, r, pad80(b"\x04" + H("87654321")))  # keyed by a wrong PIN
    assert sw(card, apdu) == "63C2"
    assert verify(card, 0x00, b"\x11\x11") == "63C1"  # the same counter as VERIFY
    r = challenge(card)
    good = change_pin_apdu(ADMIN, 0x00, r, pad80(b"\x04" + H("87654321")))
    assert sw(card, good[:-2] + f"{int(good[-2:], 16) ^ 1:02X}") == "63C0"  # one MAC bit wrong
    assert sw(card, good) == "6983"
    card = card_at()
    r = challenge(card)
    good = change_pin_apdu(ADMIN, 0x00, r, pad80(b"\x04" + H("87654321")))
    assert sw(card, good[:-2] + f"{int(good[-2:], 16) ^ 1:02X}") == "63C2"
    assert sw(card, good) == "6984"  # the failed attempt used the challenge up


@pytest.mark.parametrize("plain", [pad80(b"\x09" + H("123456789012345678")), pad80(b"\x01\x12"),
                                   pad80(b"\x03" + H("12AB56")), b"\x03\x65\x43\x21" + bytes(12),
                                   pad80(b"\x04" + H("654321"))])
def test_change_pin_malformed_body_after_a_right_mac(plain):
    card = card_at()
    assert verify(card, 0x81, b"\x99\x99") == "63C2"
    r = challenge(card)
    assert sw(card, change_pin_apdu(USER, 0x81, r, plain)) == "6A80"
    assert pin_tries(card, 0x81) == 3  # the MAC proved the PIN
    assert verify(card, 0x81, USER) == "9000"


def test_change_master_key_wrong_mac_and_bad_plain():
    card = card_at()
    r = challenge(card)
    assert sw(card, "0082000010" + sm4(MK, r).hex()) == "9000"
    new = H("F0E1D2C3B4A5968778695A4B3C2D1E0F")
    r = challenge(card)
    assert sw(card, change_mk_apdu(MK, r, pad80(b"\x13\0\0\0" + new), mac_key=new)) == "6988"
    for plain in (pad80(b"\x12\0\0\0" + new), b"\x13\0\0\0" + new + bytes(12), pad80(b"\x13\0\0" + new)):
        r = challenge(card)
        assert sw(card, change_mk_apdu(MK, r, plain)) == "6A80"
    assert card.model.dfs["PKI/SS.CERT.ADF1"].keys[0].versions[1] == MK
    r = challenge(card)
    assert sw(card, change_mk_apdu(MK, r, pad80(b"\x13\x01\x02\x03" + new))) == "9000"
    assert card.export_image()["keys"]["PKI"]["00"]["attributes"] == "010203"


def test_envelope_errors():
    card = card_at(image=with_envelope_keys(transport="t1"))
    verify(card, 0x81, USER)
    c1, c3, c2 = ENV.hex("C1"), ENV.hex("C3"), ENV.hex("C2")

    def env(ct: bytes, priv: str = "0013", form: str = "82") -> str:
        data = H(f"C202{priv}C1" + ("82" + f"{len(ct):04X}" if form == "82" else f"{len(ct):02X}")) + ct
        return f"804E0001{len(data):02X}" + data.hex()

    assert sw(card, env(c1 + bytes([c3[0] ^ 1]) + c3[1:] + c2)) == "6A80"  # C3 mismatch
    assert sw(card, env(c1[:63] + bytes([c1[63] ^ 1]) + c3 + c2)) == "6A80"  # C1 off the curve
    assert sw(card, env(c1 + c3)) == "6A80"  # shorter than 97 bytes
    assert sw(card, env(c1 + c3 + c2, form="1")) == "9000"
    assert sw(card, "804E000176C2020013C171" + (c1 + c3 + c2).hex()) == "6A80"  # C1 runs past the data
    assert sw(card, "804E000177C2020013C170" + (c1 + c3 + c2).hex() + "00") == "6A80"  # a byte after it
    assert sw(card, "804E000176C2020013C083" + (c1 + c3 + c2).hex()) == "6A80"  # another tag
    assert sw(card, "804E000179C2020013C183000070" + (c1 + c3 + c2).hex()) == "6A80"  # length form 83
    assert sw(card, env(c1 + c3 + c2, priv="0012")) == "6A82"  # not a private-key file
    assert sw(card, env(c1 + c3 + c2, priv="0015")) == "6A88"  # empty private-key file


def test_import_errors():
    card = card_at()
    verify(card, 0x00, ADMIN)
    off_curve = IMP.fields["APDU_PUB"][:-2] + f"{int(IMP.fields['APDU_PUB'][-2:], 16) ^ 1:02X}"
    assert sw(card, off_curve) == "6A80"
    assert sw(card, IMP.fields["APDU_PUB"].replace("C0020014", "C0020012")) == "6A82"  # only 0014
    assert sw(card, IMP.fields["APDU_PUB"].replace("C0020014", "C0020015")) == "6A82"  # wrong kind
    assert sw(card, IMP.fields["APDU_LOADKEY"]) == "9000"
    assert sw(card, IMP.fields["APDU_PRIV"].replace("C2020015", "C2020013")) == "6A82"
    for d in (0, N - 1):  # 1 <= d <= n-2
        assert sw(card, IMP.fields["APDU_LOADKEY"]) == "9000"
        enc = sm4(IMP.hex("M"), d.to_bytes(32, "big")).hex()
        assert sw(card, "80C2C00126C2020015CB20" + enc) == "6A80"
    assert sw(card, "80C2C00126C2020015CB20" + "00" * 32) == "6985"  # each attempt used the key
    assert not any(pki_file(card, "0015"))


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


GOOD_MK = V["PKI-CHANGE-MK"].fields["APDU"]
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
