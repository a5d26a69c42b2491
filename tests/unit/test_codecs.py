"""Every construct codec round-trips on the examples declared beside it (pySim style)."""

import pytest

from simulator.codecs import CODECS, EXAMPLES, atr_for, build_fci


def assert_roundtrip(codec, raw: bytes, fields: dict) -> None:
    parsed = codec.parse(raw)
    for key, value in fields.items():
        got = parsed[key]
        if isinstance(value, dict):
            for k, v in value.items():
                assert got[k] == v, (key, k)
        else:
            assert got == value, key
    assert codec.build(parsed) == raw


@pytest.mark.parametrize("name,raw,fields",
                         [(n, r, f) for n, exs in EXAMPLES.items() for r, f in exs],
                         ids=lambda v: v if isinstance(v, str) else None)
def test_codec_examples_round_trip(name, raw, fields):
    assert_roundtrip(CODECS[name], raw, fields)


def test_every_codec_has_examples():
    assert set(CODECS) == set(EXAMPLES) and all(EXAMPLES.values())


def test_fci_of_the_spec_defaults():
    assert build_fci(bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF"), 0x0B).hex().upper() == \
        "6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B"
    assert build_fci(bytes.fromhex("504B492EC9E7BBE1B1A3D5CF"), None).hex().upper() == \
        "6F0E840C504B492EC9E7BBE1B1A3D5CF"


@pytest.mark.parametrize("gen", [1, 2, 3])
def test_atr_template_matches_spec_vectors(gen):
    from simulator.specvectors import load_spec_vectors
    vec = next(v for v in load_spec_vectors() if v.name == f"ATR-G{gen}")
    card_id = bytes.fromhex(vec.fields["REGION"] + "D156000005" + vec.fields["SERIAL"] + "00000000")
    assert atr_for(gen, card_id, "t0").hex().upper() == vec.fields["ATR_T0"]
    assert atr_for(gen, card_id, "t1").hex().upper() == vec.fields["ATR_T1"]
