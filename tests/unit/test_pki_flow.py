"""End to end: gen3 cards personalised by sscard.pki_issue (and the built-in gen3 sample)
answer the whole PKI flow of the reference card (§4.19), and keep keys and certificates in the image;
and the PKI state that lives across commands (import key, export reference, files, switches).

Certificates are checked with the CA's public key through simulator.certs and, independently, with
snowland-smx; keys are compared with what 80C9 exports and what the certificates carry.
"""

from __future__ import annotations

import pytest
from asn1crypto import x509
from asn1crypto.algos import DSASignature

from simulator import Card, certs
from simulator.image import ImageError, load_image, save_image
from simulator.samples import sample_pki_image
from simulator.samples import PKI_SEED, sample_image
from sscard.pki_issue import PersonalisationError, personalise_pki
from pkikit import (ADF1_NAME, ADMIN, ENV, GOOD_MK, IMP, MK, PKI_NAME, USER, V, Forced, blank_image, card_at,
                               challenge, change_mk_apdu, change_pin_apdu, pad80, send, SIGN_REFS, sm4, sw,
                               verify, verify_ct)

pysmx_sm2 = pytest.importorskip("pysmx.SM2", reason="snowland-smx (test extra) not installed")

H = bytes.fromhex


@pytest.fixture(scope="module")
def personalised() -> dict:
    return personalise_pki(blank_image(), seed=11)


@pytest.fixture(scope="module")
def made_by_card_new(tmp_path_factory) -> dict:
    """A gen3 card as `sscard card new --profile gen3` writes it (the issue's acceptance 2)."""
    from click.testing import CliRunner

    from simulator.image import load_image
    from sscard.cli import cli

    out = tmp_path_factory.mktemp("card-new") / "card.yaml"
    result = CliRunner().invoke(cli, ["card", "new", "--profile", "gen3", "--out", str(out), "--seed", "4"])
    assert result.exit_code == 0, result.output
    return dict(load_image(out))


@pytest.fixture(params=["personalise_pki", "builtin", "card-new"])
def card(request, personalised, made_by_card_new) -> Card:
    image = {"personalise_pki": personalised, "builtin": sample_image("gen3"),
             "card-new": made_by_card_new}[request.param]
    c = Card.from_dict(image, random=Forced())
    c.power_on()
    return c


def rapdu(card: Card, apdu: str | bytes) -> tuple[bytes, int]:
    """Send like a terminal: follow 61xx with GET RESPONSE."""
    r = card.transmit(H(apdu) if isinstance(apdu, str) else apdu)
    if r[-2] == 0x61:
        r = card.transmit(b"\x00\xC0\x00\x00" + r[-1:])
    return r[:-2], int.from_bytes(r[-2:], "big")


def ok(card: Card, apdu: str | bytes) -> bytes:
    data, sw = rapdu(card, apdu)
    assert sw == 0x9000, (apdu, f"{sw:04X}")
    return data


def login(card: Card, p2: int, pin: bytes) -> None:
    r = ok(card, "0084000010")
    ok(card, f"002001{p2:02X}10" + verify_ct(pin, r).hex())


def read_certificate(card: Card, fid: str) -> bytes:
    ok(card, "00A4000002" + fid)
    head = ok(card, "00B0000004")
    assert head[:2] == b"\x30\x82"  # DER SEQUENCE with a two-byte length
    total = 4 + int.from_bytes(head[2:4], "big")
    der = b""
    while len(der) < total:
        der += ok(card, f"00B0{len(der):04X}00")
    return der[:total]


def cert_key(der: bytes) -> bytes:
    point = x509.Certificate.load(der)["tbs_certificate"]["subject_public_key_info"]["public_key"].native
    assert point[:1] == b"\x04"
    return point[1:]


def envelope_to(pub64: bytes, m: bytes) -> bytes:
    ct = pysmx_sm2.Encrypt(m, pub64, 64)  # independent SM2: C1 ‖ C3 ‖ C2, C1 without 04
    assert len(ct) == 96 + len(m)
    return ct


def decrypt_apdu(priv: str, ct: bytes) -> str:
    data = H(f"C202{priv}C182{len(ct):04X}") + ct
    return f"804E0001{len(data):02X}" + data.hex()


def test_the_whole_pki_flow(card):
    fci = ok(card, "00A404000C" + PKI_NAME)
    assert fci == H("6F0E840C" + PKI_NAME)
    assert ok(card, "00A404000C" + ADF1_NAME) == H("6F0E840C" + ADF1_NAME)
    h = ok(card, "80C4010305C10312345600")
    assert h == V["SM3-PIN-123456"].hex("OUT")
    r = ok(card, "0084000010")
    ok(card, "0020018110" + sm4(h[:16], r).hex())
    login(card, 0x00, ADMIN)

    ok(card, "80C9820008" + SIGN_REFS)
    exported = ok(card, "80C9828000")
    assert len(exported) == 66 and exported[:2] == H("CA40")
    sign_pub = exported[2:]
    ca = certs.test_ca()
    ssn = card.image["person"]["ssn"]
    for fid, pub_fid, usage in (("0018", "0012", "digital_signature"), ("0019", "0014", "key_encipherment")):
        der = read_certificate(card, fid)
        assert certs.verify_certificate(der, ca.pub64)
        assert not certs.verify_certificate(der[:-1] + bytes([der[-1] ^ 1]), ca.pub64)
        cert = x509.Certificate.load(der)
        tbs = cert["tbs_certificate"]
        rs = DSASignature.load(cert["signature_value"].native)  # DER r, s: pysmx takes raw r ‖ s
        raw = rs["r"].native.to_bytes(32, "big") + rs["s"].native.to_bytes(32, "big")
        assert pysmx_sm2.Verify(raw, tbs.dump(), ca.pub64, 64, uid=b"1234567812345678")
        assert cert.subject.native["common_name"] == card.image["data"]["SSSE/EF06"]["09"] and cert.issuer == x509.Certificate.load(ca.certificate).subject
        assert usage in cert.key_usage_value.native
        assert certs.describe_certificate(der)["ssn"] == ssn
        ok(card, "00A4000002" + pub_fid)
        assert cert_key(der) == ok(card, "00B0000042")[2:]
    assert cert_key(read_certificate(card, "0018")) == sign_pub
    ok(card, "00A4040C0C" + ADF1_NAME)

    # Change the admin PIN with MAC (§4.19.8), then use the new one.
    r = ok(card, "0084000010")
    ok(card, change_pin_apdu(ADMIN, 0x00, r, pad80(b"\x04" + H("87654321"))))
    login(card, 0x00, H("87654321"))
    login(card, 0x81, USER)

    # Both key pairs on the card belong together: an envelope to each public key opens with 804E.
    for pub_fid, priv_fid in (("0012", "0013"), ("0014", "0015")):
        ok(card, "00A4000C02" + pub_fid)
        pub = ok(card, "00B0000042")[2:]
        m = bytes(range(16)) if priv_fid == "0013" else b"\xA5" * 24
        assert ok(card, decrypt_apdu(priv_fid, envelope_to(pub, m))) == m


def test_envelope_import_round_trip(card):
    ok(card, "00A4040C0C" + PKI_NAME)
    ok(card, "00A4040C0C" + ADF1_NAME)
    login(card, 0x81, USER)
    login(card, 0x00, ADMIN)
    ok(card, "80C9820008" + SIGN_REFS)
    sign_pub = ok(card, "80C98280")[2:]
    m = H("00112233445566778899AABBCCDDEEFF")
    assert ok(card, decrypt_apdu("0013", envelope_to(sign_pub, m))) == m
    ok(card, "804A021012C110" + m.hex())
    pair = pysmx_sm2.generate_keypair()  # the issuer's encryption key pair, made outside the card
    d, pub = int.from_bytes(pair.privateKey, "big"), pair.publicKey
    ok(card, "80C2400046C0020014CA40" + pub.hex())
    ok(card, "80C2C00126C2020015CB20" + sm4(m, d.to_bytes(32, "big")).hex())
    ok(card, "80C9820008C0020014C2020015")
    assert ok(card, "80C9828000") == H("CA40") + pub
    secret = b"imported key works"
    assert ok(card, decrypt_apdu("0015", envelope_to(pub, secret))) == secret
    assert bytes(card.model.efs["PKI/SS.CERT.ADF1/0015"].data) == d.to_bytes(32, "big")


def test_image_reload_keeps_keys_and_certificates(tmp_path, personalised):
    path = tmp_path / "gen3.yaml"
    save_image(path, personalised)
    card = Card.from_image(path, random=Forced())
    card.power_on()
    ok(card, "00A4040C0C" + PKI_NAME)
    ok(card, "00A4040C0C" + ADF1_NAME)
    login(card, 0x00, ADMIN)
    r = ok(card, "0084000010")
    ok(card, change_pin_apdu(ADMIN, 0x00, r, pad80(b"\x03" + H("246810"))))
    before = {fid: bytes(card.model.efs[f"PKI/SS.CERT.ADF1/{fid}"].data)
              for fid in ("0012", "0013", "0014", "0015", "0018", "0019")}
    again = Card.from_image(path, random=Forced())  # what the card saved as it went
    for fid, data in before.items():
        assert bytes(again.model.efs[f"PKI/SS.CERT.ADF1/{fid}"].data) == data, fid
    assert load_image(path)["pins"]["PKI/admin"]["value"] == "246810"
    again.power_on()
    ok(again, "00A4040C0C" + PKI_NAME)
    ok(again, "00A4040C0C" + ADF1_NAME)
    login(again, 0x00, H("246810"))
    assert ok(again, "80C98280")[2:] == cert_key(read_certificate(again, "0018"))


def test_generate_is_saved_before_the_answer(tmp_path):
    path = tmp_path / "blank.yaml"
    save_image(path, blank_image())
    card = Card.from_image(path, random=Forced())
    ok(card, "00A4040C0C" + PKI_NAME)
    ok(card, "00A4040C0C" + ADF1_NAME)
    login(card, 0x81, USER)
    card.random.queue.append(V["SM2-ENVELOPE"].hex("D"))
    ok(card, "8040000008" + SIGN_REFS)
    saved = load_image(path)["files"]
    assert H(saved["PKI/SS.CERT.ADF1/0012"]) == V["SM2-ENVELOPE"].hex("EF0012")
    assert H(saved["PKI/SS.CERT.ADF1/0013"]) == V["SM2-ENVELOPE"].hex("D")


def keys_of(image: dict) -> dict:
    return {p: v for p, v in image["files"].items() if p[-4:] in ("0012", "0013", "0014", "0015")}


def test_personalisation_is_deterministic_for_a_seed(personalised):
    assert keys_of(personalise_pki(blank_image(), seed=11)) == keys_of(personalised)
    other = keys_of(personalise_pki(blank_image(), seed=12))
    assert set(other) == set(keys_of(personalised))
    assert all(other[p] != personalised["files"][p] for p in other)
    assert keys_of(personalise_pki(blank_image())) != keys_of(personalise_pki(blank_image()))


def test_personalised_keys_are_pairs(personalised):
    files = {p[-4:]: H(v).ljust(66 if p[-2:] in ("12", "14") else 32, b"\0") for p, v in personalised["files"].items()}
    for pub, priv in (("0012", "0013"), ("0014", "0015")):
        d = int.from_bytes(files[priv], "big")
        assert H(pysmx_sm2.kG(d, pysmx_sm2.sm2_G, 64)) == files[pub][2:], pub


def test_builtin_gen3_carries_the_seeded_pki_application():
    image = sample_image("gen3")
    assert keys_of(image) == keys_of(personalise_pki(blank_image(), seed=PKI_SEED))
    assert sample_pki_image() is sample_pki_image()  # built once per process
    assert image["keys"] == blank_image()["keys"] and "state" not in image  # the sample's own shape


def test_personalise_needs_gen3_and_a_holder():
    with pytest.raises(ValueError, match="gen3"):
        personalise_pki(sample_image("gen2"), seed=1)
    nameless = blank_image()
    nameless.pop("person")
    del nameless["data"]["SSSE/EF06"]["09"]
    with pytest.raises(ValueError, match="holder"):
        personalise_pki(nameless, seed=1)


def test_personalise_reports_a_refusal():
    blocked = blank_image()
    blocked["pins"]["PKI/user"] = {"value": "123456", "tries": 0}
    with pytest.raises(PersonalisationError, match="6983"):
        personalise_pki(blocked, seed=1)


def test_holder_name_from_ef06_when_no_person():
    image = blank_image()
    image.pop("person")
    image["data"]["SSSE/EF06"]["09"] = "李四"
    done = personalise_pki(image, seed=3)
    data = bytes(Card.from_dict(done).model.efs["PKI/SS.CERT.ADF1/0019"].data)
    der = data[: 4 + int.from_bytes(data[2:4], "big")]
    assert certs.describe_certificate(der)["subject"] == "CN=李四, C=CN"
    assert certs.verify_certificate(der, certs.test_ca().pub64)


# --- state across commands: volatile references, files, the DF they need ---------------------

@pytest.mark.parametrize("clear", ["00A4040C0C" + ADF1_NAME, "00A4040C0C" + PKI_NAME, "reset", "power-off"])
def test_import_key_is_volatile(clear):
    card = card_at()
    login(card, 0x00, ADMIN)
    assert sw(card, IMP.fields["APDU_LOADKEY"]) == "9000"
    assert sw(card, "00A4000C020018") == "9000"  # an EF select keeps it (§4.5)
    assert sw(card, "00A4000C020015") == "9000"
    if clear == "reset":
        card.reset()
    elif clear == "power-off":
        card.power_off()
    else:
        assert sw(card, clear) == "9000"
    for name in (PKI_NAME, ADF1_NAME):
        assert sw(card, "00A4040C0C" + name) == "9000"
    assert verify(card, 0x00, ADMIN) == "9000"
    assert sw(card, IMP.fields["APDU_PRIV"]) == "6985"


def test_export_follows_the_recorded_reference():
    card = card_at()
    login(card, 0x00, ADMIN)
    assert sw(card, IMP.fields["APDU_PUB"]) == "9000"
    assert send(card, "80C98280") == (b"", "6A88")  # 0012 still all zeros
    assert sw(card, "80C9820008C0020014C2020015") == "9000"
    assert send(card, "80C9828041") == (b"", "6C42")  # keeps the recorded reference
    assert send(card, "80C9828042") == (H("CA40") + IMP.hex("P2X") + IMP.hex("P2Y"), "9000")
    assert send(card, "80C98280") == (b"", "6A88")  # used: back to 0012
    assert sw(card, "80C9820008C0020014C2020015") == "9000"
    assert sw(card, "00A4040C0C" + ADF1_NAME) == "9000"
    assert sw(card, "80C9820008C0020014C2020015") == "9000"
    assert sw(card, "00A4040C0C" + ADF1_NAME) == "9000"  # a DF change drops the reference
    assert sw(card, "80C9828000") == "6A88"


@pytest.mark.parametrize("switch, user_pin_sw", [("either", "9000"), ("admin", "6982")])
def test_certificate_files_need_a_pki_pin(switch, user_pin_sw):
    """Certificate writes: either PKI PIN (R2-4), the admin PIN only with pki_write_pin: admin."""
    card = card_at(pki_write_pin=switch)
    assert sw(card, "00A4000C020018") == "9000"
    assert sw(card, "00D6000003308203") == "6982"
    assert verify(card, 0x81, USER) == "9000"
    assert sw(card, "00D6000003308203") == user_pin_sw
    assert verify(card, 0x00, ADMIN) == "9000"
    assert sw(card, "00A4000C020019") == "9000"
    assert sw(card, "00D607FE03AABBCC") == "6A84"  # 2048 bytes (PD-26)
    assert sw(card, "00D607FD03AABBCC") == "9000"
    assert send(card, "00B007FD00") == (H("AABBCC"), "9000")  # read: free
    for fid in ("0012", "0013", "0014", "0015"):  # only 8040 / 80C2 write the key files
        assert sw(card, "00A4000C02" + fid) == "9000"
        assert sw(card, "00D6000001AA") == "6982"



def test_key_and_pin_commands_need_ss_cert_adf1():
    card = card_at("PKI")
    assert send(card, "80C4010305C10312345600") == (b"", "6120")  # no state: fine in the PKI DF
    assert sw(card, "00200181104794C07B485910BBA3B6CADA20F62211") == "6A88"
    assert sw(card, "8040000008" + SIGN_REFS) == "6A82"
    assert sw(card, "80C9828000") == "6A82"
    assert sw(card, ENV.fields["APDU"]) == "6A82"
    assert sw(card, V["PKI-CHANGE-ADMIN-PIN"].fields["APDU"]) == "6A88"
    assert sw(card, GOOD_MK[:6] + "05" + GOOD_MK[8:]) == "6A88"  # no key 05 in the PKI DF
    assert sw(card, GOOD_MK) == "6984"  # key 00 is the PKI DF's own (R2-3): it needs a challenge



def test_change_master_key_resets_the_counter():
    image = blank_image()
    image["defects"] = ["counter-not-reset"]  # so that only 84D4 can put the counter back
    card = card_at(image=image)
    r = challenge(card)
    assert sw(card, "0082000010" + sm4(b"\x11" * 16, r).hex()) == "63C2"
    r = challenge(card)
    assert sw(card, "0082000010" + sm4(MK, r).hex()) == "9000"
    assert card.model.dfs["PKI/SS.CERT.ADF1"].keys[0].tries == 1  # decremented before each check
    r = challenge(card)
    assert sw(card, change_mk_apdu(MK, r, pad80(b"\x13\0\0\0" + b"\x22" * 16))) == "9000"
    assert card.model.dfs["PKI/SS.CERT.ADF1"].keys[0].tries == 3


def test_pub_prefix_switch():
    card = card_at(sm2_pub_prefix="0440")
    login(card, 0x81, USER)
    card.random.queue.append(ENV.hex("D"))
    assert sw(card, "8040000008" + SIGN_REFS) == "9000"
    assert send(card, "80C98280")[0] == H("0440") + ENV.hex("EF0012")[2:]
    with pytest.raises(ImageError, match="sm2_pub_prefix"):
        Card.from_dict(blank_image(sm2_pub_prefix="CA4"))
