"""Properties of the card engine under arbitrary input (hypothesis)."""

from __future__ import annotations

import shutil

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from simulator import Card, schemes
from simulator.apdu import CommandAPDU
from simulator.image import save_image
from simulator.samples import sample_image
from simulator.sw import is_listed

SELECT_SSSE = bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")
KNOWN_INS = [0xA4, 0xB2, 0xB0, 0xDC, 0xD6, 0x84, 0x82, 0x88, 0x20, 0x5E, 0x24, 0x1E, 0x18, 0x16, 0xC0,
             0xC4, 0x40, 0xC9, 0x4E, 0x4A, 0xC2, 0xD4]


@st.composite
def apdus(draw):
    """Mostly APDUs of known commands with random parameters, sometimes any bytes at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    head = bytes([draw(st.sampled_from([0x00, 0x80, 0x84, draw(st.integers(0, 255))])),
                  draw(st.sampled_from(KNOWN_INS)), draw(st.integers(0, 255)), draw(st.integers(0, 255))])
    data = draw(st.one_of(st.none(), st.binary(min_size=1, max_size=40)))
    le = draw(st.one_of(st.none(), st.integers(1, 256)))
    tail = b"" if data is None else bytes([len(data)]) + data
    return head + tail + (b"" if le is None else bytes([le & 0xFF]))


@given(st.builds(CommandAPDU, st.integers(0, 255), st.integers(0, 255), st.integers(0, 255),
                 st.integers(0, 255), st.one_of(st.none(), st.binary(min_size=1, max_size=255)),
                 st.one_of(st.none(), st.integers(1, 256))))
def test_apdu_build_parse_round_trip(apdu):
    raw = apdu.to_bytes()
    again = CommandAPDU.parse(raw)
    assert again == apdu and again.to_bytes() == raw


@pytest.fixture(scope="module", params=["gen1", "gen2", "gen3"])
def image_file(request, tmp_path_factory):
    path = tmp_path_factory.mktemp(request.param) / "card.yaml"
    save_image(path, sample_image(request.param))
    return path


def _prefix(card: Card, state: int, gen: int) -> None:
    if state >= 1:
        card.transmit(SELECT_SSSE)
    if state >= 2:  # authenticated with the update key 04
        challenge = card.transmit(bytes.fromhex("0084000008"))[:-2]
        key = bytes.fromhex(card.export_image()["keys"]["SSSE"]["04"]["value"])
        scheme = "sm4-session" if gen == 3 else "des-session"
        c = schemes.external_cryptogram(scheme, key, challenge)
        assert card.transmit(bytes.fromhex("0082000410") + c + challenge) == b"\x90\x00"


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=apdus(), state=st.integers(0, 2), t1=st.booleans())
def test_transmit_never_raises_and_rejections_change_nothing(image_file, tmp_path_factory, raw, state, t1):
    path = tmp_path_factory.mktemp("fuzz") / "card.yaml"
    shutil.copy(image_file, path)
    card = Card.from_image(path, random=lambda n: bytes(range(7, 7 + n)))
    card.t0 = not t1  # exercise both response modes of the same card
    gen = card.model.generation
    _prefix(card, state, gen)
    before = path.read_bytes()
    response = card.transmit(raw)
    assert len(response) >= 2
    sw = int.from_bytes(response[-2:], "big")
    assert is_listed(sw), f"{raw.hex()} -> {sw:04X}"
    assert sw != 0x6F00, f"internal fault on {raw.hex()}"
    if not (sw == 0x9000 or response[-2] in (0x61, 0x63)):
        assert response == response[-2:], "an error status carries no data"
        assert path.read_bytes() == before, f"rejected {raw.hex()} ({sw:04X}) changed the image"
