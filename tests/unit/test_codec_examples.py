"""Every construct declaration of the card's structures against the examples declared beside it
(pySim's habit): parse gives the stated value, build gives the bytes back. A module lists its
declarations in CODECS = {name: (declaration, examples)}; a module-level declaration left out of
CODECS (so without examples) fails here, so adding a declaration adds its tests."""

from __future__ import annotations

import construct
import pytest

from simulator import atr, codecs
from simulator.codecs import build_fci
from specvectors import load_spec_vectors

MODULES = (atr, codecs)


def _declared():
    for module in MODULES:
        for name, (declaration, examples) in module.CODECS.items():
            for i, (raw, value) in enumerate(examples):
                yield pytest.param(declaration, raw, value, id=f"{module.__name__}.{name}[{i}]")


def _same(parsed, value, where: str) -> None:
    """parsed (a construct Container/list) holds every field of value (nested dicts and lists)."""
    if isinstance(value, dict):
        for key, want in value.items():
            _same(parsed[key], want, f"{where}.{key}")
    elif isinstance(value, list):
        assert len(parsed) == len(value), where
        for i, (got, want) in enumerate(zip(parsed, value)):
            _same(got, want, f"{where}[{i}]")
    else:
        assert parsed == value, f"{where}: {parsed!r} != {value!r}"


@pytest.mark.parametrize("declaration,raw,value", list(_declared()))
def test_example_parses_to_its_value_and_builds_back(declaration, raw, value):
    parsed = declaration.parse(raw)
    _same(parsed, value, "value")
    assert declaration.build(parsed) == raw
    assert declaration.build(value) == raw  # the stated value alone is enough to build the bytes


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_every_declaration_has_examples(module):
    declared = {id(obj) for name, obj in vars(module).items()
                if not name.startswith("_") and isinstance(obj, construct.Construct)
                and getattr(construct, name, None) is not obj}  # not construct's own Byte, Int16ub…
    listed = {id(declaration) for declaration, examples in module.CODECS.values() if examples}
    assert declared <= listed, "a construct declaration without examples in CODECS"


def test_fci_of_the_spec_defaults():
    assert build_fci(bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF"), 0x0B).hex().upper() == \
        "6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B"
    assert build_fci(bytes.fromhex("504B492EC9E7BBE1B1A3D5CF"), None).hex().upper() == \
        "6F0E840C504B492EC9E7BBE1B1A3D5CF"


@pytest.mark.parametrize("gen", [1, 2, 3])
def test_atr_template_matches_spec_vectors(gen):
    vec = next(v for v in load_spec_vectors() if v.name == f"ATR-G{gen}")
    card_id = bytes.fromhex(vec.fields["REGION"] + "D156000005" + vec.fields["SERIAL"] + "00000000")
    t0, t1 = atr.for_card(gen, card_id, "t0"), atr.for_card(gen, card_id, "t1")
    assert t0.hex().upper() == vec.fields["ATR_T0"]
    assert t1.hex().upper() == vec.fields["ATR_T1"]
    assert atr.parse(t1).tck_ok and atr.parse(t1).protocols == [1] and atr.parse(t0).protocols == [0]
    assert atr.parse(t0).historical == atr.parse(t1).historical
    fields = atr.ssc_fields(t1)
    assert (fields.generation, fields.region, fields.serial) == (gen, card_id[0:2], card_id[8:12])
    assert atr.ssc_fields(bytes.fromhex("3B0300AABBCC")) is None and atr.ssc_fields(t0[:-1]) is None


def test_atr_parse_names_what_does_not_fit():
    with pytest.raises(ValueError, match="3B6D0000"):
        atr.parse(bytes.fromhex("3B6D0000"))          # 13 historical bytes announced, none there
    with pytest.raises(ValueError, match="expected 2"):
        atr.parse(bytes.fromhex("3B0000AA"))           # bytes after the last historical byte
    assert atr.parse(bytes.fromhex("3BED0000010081005353430244035A3C1E0200")).tck_ok is False


def test_record_item_strict_and_lenient():
    assert codecs.record_item(bytes.fromhex("0304322E3030FFFF")) == (0x03, b"2.00")   # padding after
    assert codecs.record_item(bytes.fromhex("0305322E")) is None
    assert codecs.record_item(bytes.fromhex("0305322E"), lenient=True) == (0x03, b"2.")
    assert codecs.record_item(b"\x03") is None
