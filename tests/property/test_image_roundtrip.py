"""Properties of card images (simulator/image.py) over random valid images made as `sscard card new`
makes them (any profile, any seed, either transport): dump then parse gives the same data, a saved
image loads back the same, and a card loaded from it exports the same card (keys, PINs, data, files),
an export being a fixed point."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from hypothesis import given, settings, strategies as st

from simulator import Card
from simulator.image import dump_image, load_image, parse_image, save_image
from simulator.newcard import new_image
from sscard.pki_issue import personalise_pki

SETTINGS = settings(max_examples=25, deadline=None)


@st.composite
def new_cards(draw) -> dict:
    profile = draw(st.sampled_from(["gen1", "gen2", "gen3"]))
    image = new_image(profile, draw(st.integers(0, 2**63)), personalise_pki)
    transport = draw(st.sampled_from([None, "t0", "t1"]))
    if transport:  # as `sscard card new --transport` writes it
        image = {"profile": image["profile"], "switches": {"transport": transport},
                 **{k: v for k, v in image.items() if k != "profile"}}
    return image


def _card_content(image: dict) -> dict:
    """What a card holds, in one spelling: key and PIN values (tries left as the card's defaults
    say), data items, records and files."""
    def value(entry):
        return (entry.get("value") if isinstance(entry, dict) else entry).upper()

    return {"profile": image["profile"], "person": image.get("person"),
            "keys": {df: {ref: value(e) for ref, e in keys.items()} for df, keys in image["keys"].items()},
            "pins": {name: str(value(e)) for name, e in (image.get("pins") or {}).items()},
            "data": image.get("data") or {}, "files": image.get("files") or {}}


@SETTINGS
@given(image=new_cards())
def test_dump_then_parse_gives_the_same_image_with_lines(image):
    text = dump_image(image)
    parsed = parse_image(text, "new.yaml")
    assert dict(parsed) == image
    lines = text.splitlines()
    for key in image:  # every top-level entry points at its own line
        assert lines[parsed.line(key) - 1].startswith(f"{key}:")


@SETTINGS
@given(image=new_cards())
def test_a_card_from_a_saved_image_exports_the_same_card_and_the_export_is_a_fixed_point(image):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "card.yaml"
        save_image(path, image)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # it holds keys and PINs
        assert dict(load_image(path)) == image
        card = Card.from_image(path)
        exported = card.export_image()
        assert _card_content(exported) == _card_content(image)
        again = Card.from_dict(exported)
        assert again.export_image() == exported
        assert again.power_on() == card.power_on()  # the same ATR, transport included


@settings(max_examples=10, deadline=None)
@given(profile=st.sampled_from(["gen1", "gen2", "gen3"]), seed=st.integers(0, 2**63))
def test_same_seed_same_card_other_seed_other_keys(profile, seed):
    first = new_image(profile, seed, personalise_pki)
    assert new_image(profile, seed, personalise_pki) == first
    other = new_image(profile, seed + 1, personalise_pki)
    assert other["keys"]["SSSE"]["00"] != first["keys"]["SSSE"]["00"]
