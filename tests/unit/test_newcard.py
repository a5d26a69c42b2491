"""simulator/newcard.py: new images of fictional persons, and reading them back through APDUs."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image

from simulator import Card, gb11643, items, schemes
from simulator.image import load_image, save_image
from simulator.newcard import REGIONS, new_image
from simulator.samples import sample_image
from sscard.card_read import exchange, read_card

PROFILES = ("gen1", "gen2", "gen3")
SEEDS = (0, 1, 42, 20240601)
SSSE_NAME = bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF")


def _key(image, df, ref) -> bytes:
    value = image["keys"][df][ref]
    return bytes.fromhex(value["value"] if isinstance(value, dict) else value)


@pytest.fixture(params=[(p, s) for p in PROFILES for s in SEEDS], ids=lambda ps: f"{ps[0]}-seed{ps[1]}")
def made(request):
    profile, seed = request.param
    return profile, seed, new_image(profile, seed)


def test_image_loads_through_card_and_yaml(made, tmp_path):
    profile, _, image = made
    card = Card.from_dict(image)
    assert card.model.generation == int(profile[-1])
    path = tmp_path / "card.yaml"
    save_image(path, image)
    assert (path.stat().st_mode & 0o777) == 0o600
    again = Card.from_image(path)
    assert again.power_on() == card.power_on()
    assert load_image(path)["person"] == image["person"]


def test_person_is_consistent(made):
    _, _, image = made
    person, ef06 = image["person"], image["data"]["SSSE/EF06"]
    ssn = person["ssn"]
    assert gb11643.is_valid(ssn) and ssn[17] == gb11643.check_char(ssn[:17])
    assert ssn[:6] == person["birthplace"] and ssn[6:14] == person["birth_date"]
    assert person["birthplace"] in {code for code, _, _ in REGIONS}
    assert int(ssn[16]) % 2 == (1 if person["sex"] == "1" else 0)
    assert person["sex"] in ("1", "2")
    assert 1 <= int(person["ethnicity"]) <= 56 and len(person["ethnicity"]) == 2
    dt.datetime.strptime(person["birth_date"], "%Y%m%d")
    name = person["name"]
    assert 2 <= len(name) <= 15 and all("\u4e00" <= c <= "\u9fff" for c in name)
    assert len(name.encode("gbk")) <= 30
    assert "fictional" in person["note"]
    assert ef06 == {"08": ssn, "09": name, "0A": person["sex"], "0B": person["ethnicity"],
                    "0C": person["birthplace"], "0D": person["birth_date"]}


def test_card_issuer_data(made):
    profile, _, image = made
    generation = int(profile[-1])
    ef05 = image["data"]["SSSE/EF05"]
    cid = bytes.fromhex(ef05["01"])
    assert len(cid) == 16 and cid[3:8] == bytes.fromhex("D156000005")
    assert cid[0:3].hex() == image["person"]["birthplace"][:4] + "00"
    algorithm = "sm4" if generation == 3 else "3des"
    other = "3des" if generation == 3 else "sm4"
    irk = _key(image, "SSSE", "01")
    assert schemes.cardid_mac(algorithm, irk, cid[:12]) == cid[12:]
    assert schemes.cardid_mac(other, irk, cid[:12]) != cid[12:]
    assert ef05["03"] == f"{generation}.00" and ef05["02"] == "1"
    assert len(ef05["07"]) == 9 and ef05["07"][0].isupper() and ef05["07"][1:].isdigit()
    issue = dt.datetime.strptime(ef05["05"], "%Y%m%d").date()
    expiry = dt.datetime.strptime(ef05["06"], "%Y%m%d").date()
    assert expiry == issue.replace(year=issue.year + (20 if generation == 1 else 10))
    assert len(bytes.fromhex(ef05["04"])) == 12


def test_atr_embeds_serial_and_region(made):
    profile, _, image = made
    cid = bytes.fromhex(image["data"]["SSSE/EF05"]["01"])
    atr = Card.from_dict(image).power_on()
    assert atr[:4] == bytes.fromhex("3B6D0000") and atr[10] == int(profile[-1])
    assert atr[-4:] == cid[8:12] and atr[11:13] == cid[0:2]


def test_keys_match_sample_slots_and_are_fresh(made):
    profile, _, image = made
    sample = sample_image(profile)["keys"]
    assert {df: set(refs) for df, refs in image["keys"].items()} == \
        {df: set(refs) for df, refs in sample.items()}
    values = [_key(image, df, ref) for df, refs in image["keys"].items() for ref in refs]
    assert all(len(v) == 16 for v in values) and len(set(values)) == len(values)
    assert not set(values) & {bytes.fromhex(v) for refs in sample.values() for v in refs.values()}


def test_photo_is_small_jpeg(made):
    _, _, image = made
    raw = bytes.fromhex(image["files"]["SSSE/EF08"])
    assert raw[:2] == b"\xff\xd8" and len(raw) < 8192
    with Image.open(io.BytesIO(raw)) as img:
        assert img.format == "JPEG" and img.size == (96, 120)
    card = Card.from_dict(image)
    assert bytes(card.model.efs["SSSE/EF08"].data[: len(raw)]) == raw


def test_shape_follows_samples(made):
    profile, _, image = made
    sample = sample_image(profile)
    assert set(image["data"]) == set(sample["data"])
    for path in sample["data"]:
        assert set(image["data"][path]) == set(sample["data"][path])
    assert set(image["pins"]) == set(sample["pins"])


@pytest.mark.parametrize("profile", PROFILES)
def test_seeds(profile):
    assert new_image(profile, 7) == new_image(profile, 7)
    assert new_image(profile, 7) != new_image(profile, 8)
    a, b = new_image(profile), new_image(profile)
    assert a["keys"] != b["keys"]
    assert a["data"]["SSSE/EF05"]["01"] != b["data"]["SSSE/EF05"]["01"]


def test_unknown_profile():
    with pytest.raises(ValueError):
        new_image("gen4", 1)


def test_pki_personaliser_called_for_gen3_only():
    calls = []

    def personalise_pki(image, seed):
        calls.append((image["profile"], seed))
        return {**image, "person": {**image["person"], "pki": "done"}}

    assert new_image("gen3", 5, personalise_pki)["person"]["pki"] == "done"
    assert "pki" not in new_image("gen2", 5, personalise_pki)["person"]
    assert "pki" not in new_image("gen3", 5)["person"]  # without one the PKI files stay blank
    assert calls == [("gen3", 5)]


# --- reading back through APDUs ------------------------------------------------------------------

def _authenticate(card, image) -> None:
    challenge = card.transmit(bytes.fromhex("0084000008"))
    assert challenge[-2:] == b"\x90\x00"
    c = challenge[:8]
    body = schemes.external_cryptogram("sm4-session", _key(image, "SSSE", "0A"), c, c) + c
    assert card.transmit(bytes.fromhex("0082000A10") + body) == b"\x90\x00"


def test_ef05_ef06_items_read_back_by_apdu(made):
    """READ RECORD by tag (P2 = SFI<<3 | 0) of every EF05/EF06 item gives the image's value."""
    profile, _, image = made
    card = Card.from_dict(image)
    card.power_on()
    answer = card.transmit(bytes.fromhex("00A404000F") + SSSE_NAME)
    assert answer[0] == 0x61
    assert card.transmit(bytes.fromhex("00C00000") + answer[1:2])[-2:] == b"\x90\x00"
    if profile == "gen3":
        assert card.transmit(bytes.fromhex("00B2013400"))[-2:] == b"\x69\x82"  # g3: key 0A first
        _authenticate(card, image)
    formats = {e.spec["records"][i]["tag"]: e.spec["records"][i]["fmt"]
               for e in (card.model.efs["SSSE/EF05"], card.model.efs["SSSE/EF06"])
               for i in range(len(e.spec["records"]))}
    for path, sfi in (("SSSE/EF05", 5), ("SSSE/EF06", 6)):
        for tag, value in image["data"][path].items():
            answer = card.transmit(bytes((0x00, 0xB2, int(tag, 16), sfi << 3, 0x00)))
            assert answer[-2:] == b"\x90\x00", (path, tag, answer.hex())
            record = answer[:-2]
            assert record[0] == int(tag, 16) and record[1] == items.length(formats[tag])
            assert items.decode(formats[tag], record[2:]) == value


def test_read_card_gives_every_image_value(made):
    profile, _, image = made
    card = Card.from_dict(image)
    card.power_on()
    rows = read_card(card.transmit, image)
    got = {(r.file, r.tag): r.value for r in rows if r.record}
    for path, values in image["data"].items():
        for tag, value in values.items():
            assert got[(path, tag)] == value, (path, tag)
    assert all(r.sw.endswith("9000") for r in rows if r.sw)
    if profile == "gen3":
        assert any(r.en.startswith("EXTERNAL AUTHENTICATE") and r.value == "authenticated" for r in rows)


def test_exchange_follows_6cxx_and_61xx():
    card = Card.builtin("gen2")
    card.power_on()
    data, sw, sws = exchange(card.transmit, bytes.fromhex("00A404000F") + SSSE_NAME)
    assert sw == 0x9000 and sws == [0x6118, 0x9000] and data[0] == 0x6F and len(data) == 0x18
    data, sw, sws = exchange(card.transmit, bytes.fromhex("00B2072C05"))
    assert sws == [0x6C0B, 0x9000] and data == bytes.fromhex("0709413031323334353632")


def test_read_card_without_secrets_shows_refusals():
    card = Card.builtin("gen3")
    image = card.export_image()
    image["keys"]["SSSE"].pop("0A")
    image["pins"]["SSSE"] = {"value": "654321"}
    rows = read_card(card.transmit, image)
    by = {(r.file, r.record): r for r in rows}
    assert by[("SSSE/EF05", 1)].sw == "9000" and by[("SSSE/EF05", 7)].sw == "6982"
    assert by[("SSSE/EF06", 1)].sw == "6982" and by[("SSSE/EF06", 1)].value == ""
    verify = next(r for r in rows if r.en == "VERIFY")
    assert verify.value == "refused" and verify.sw == "63C2"
    assert by[("SSSE/DF01/EF06", 1)].sw == "6982"
