"""PKI commands of spec §4.19 (gen3): the synthetic vectors of §5.4.9-§5.4.13, every SW of each
command's table, the access rules of PD-27 and the order of checks of §4.3.

The terminal side is computed here with `cryptography` (SM3, SM4) and snowland-smx (`pysmx`, SM2),
not with the simulator's own crypto module; expected bytes come from the spec's vectors.
"""

from __future__ import annotations

import pytest

from pkikit import (ADMIN, ENV, H, IMP, MK, N, SIGN_REFS, USER, V, blank_image, card_at, challenge, change_mk_apdu,
                    change_pin_apdu, pad80, pin_tries, pki_file, pysmx_sm2, send, sm4, sm4_mac, sw, verify,
                    with_envelope_keys)


def test_terminal_mac_matches_the_spec_vector():
    v = V["SM4-MAC-1"]
    assert sm4_mac(v.hex("K"), v.hex("DATA"), v.hex("IV")) == v.hex("MAC")


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


@pytest.mark.parametrize("apdu", ["8040000008" + SIGN_REFS, ENV.fields["APDU"]])
def test_user_commands_without_the_user_pin(apdu):
    card = card_at(image=with_envelope_keys())
    assert sw(card, apdu) == "6982"
    assert verify(card, 0x00, ADMIN) == "9000"  # the admin PIN does not do (PD-27)
    assert sw(card, apdu) == "6982"


@pytest.mark.parametrize("apdu", [IMP.fields["APDU_LOADKEY"], IMP.fields["APDU_PUB"]])
@pytest.mark.parametrize("switch, user_pin_sw", [("either", "9000"), ("admin", "6982")])
def test_write_commands_need_a_pki_pin(apdu, switch, user_pin_sw):
    """804A, 80C2: either PKI PIN (R2-4, PD-27 revised), only the admin PIN with pki_write_pin: admin."""
    card = card_at(image=blank_image(pki_write_pin=switch))
    assert sw(card, apdu) == "6982"  # neither PIN verified
    assert verify(card, 0x81, USER) == "9000"
    assert sw(card, apdu) == user_pin_sw


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
