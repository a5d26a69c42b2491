"""Properties of the declared structures the card and the tester exchange: the ATR (simulator/atr.py,
ISO/IEC 7816-3 §8) against an encoder written here from the standard, and the construct codecs of
simulator/codecs.py (BER length, record `tag len value`, FCI) built and parsed back."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from simulator import atr, codecs, schemes

SETTINGS = settings(max_examples=150, deadline=None)
BYTE = st.integers(0, 255)


def _y(group) -> int:
    """The presence bits of a group: TA 1, TB 2, TC 4, TD 8."""
    return sum(bit for key, bit in (("ta", 1), ("tb", 2), ("tc", 4), ("td", 8)) if group[key] is not None)


@st.composite
def atr_parts(draw):
    """(interface groups, historical bytes): each group TAi TBi TCi (or None); every group but the
    last has TDi = Y(i+1) ‖ protocol, its high nibble announcing the next group (7816-3 §8.2)."""
    groups = [{k: draw(st.one_of(st.none(), BYTE)) for k in ("ta", "tb", "tc")} | {"td": None}
              for _ in range(draw(st.integers(1, 4)))]
    for i in reversed(range(len(groups) - 1)):  # from the end: a TDi needs the next group's Y
        groups[i]["td"] = (_y(groups[i + 1]) << 4) | draw(st.integers(0, 15))
    return groups, draw(st.binary(max_size=15))


def _encode(groups, historical: bytes, ts: int = 0x3B) -> bytes:
    """TS ‖ T0 = Y1 ‖ K ‖ the groups ‖ historical bytes ‖ TCK (XOR of T0…) when a TDi names T ≠ 0."""
    out = bytes([ts, (_y(groups[0]) << 4) | len(historical)])
    for group in groups:
        out += bytes(group[k] for k in ("ta", "tb", "tc", "td") if group[k] is not None)
    out += historical
    if any(g["td"] is not None and g["td"] & 0x0F for g in groups):
        tck = 0
        for b in out[1:]:
            tck ^= b
        out += bytes([tck])
    return out


@SETTINGS
@given(parts=atr_parts())
def test_build_is_7816_3_and_parse_gives_back_the_parts(parts):
    groups, historical = parts
    raw = atr.build(historical, [{k: v for k, v in g.items() if v is not None} for g in groups])
    assert raw == _encode(groups, historical)
    parsed = atr.parse(raw)
    assert parsed.historical == historical and parsed.interface == groups
    named = [g["td"] & 0x0F for g in groups if g["td"] is not None]
    assert parsed.protocols == (named or [0]) == atr.protocols(raw)
    assert (parsed.tck is not None) == any(named) and parsed.tck_ok in (None, True)


@SETTINGS
@given(parts=atr_parts(), cut=st.integers(1, 8), extra=st.binary(min_size=1, max_size=3))
def test_an_atr_of_the_wrong_length_is_refused_naming_it(parts, cut, extra):
    raw = _encode(*parts)
    for bad in (raw[:max(len(raw) - cut, 0)], raw + extra):
        with pytest.raises(ValueError, match="ATR") as caught:
            atr.parse(bad)
        if len(bad) >= 2:
            assert bad.hex().upper() in str(caught.value)


@SETTINGS
@given(generation=st.integers(1, 3), card_id=st.binary(min_size=16, max_size=16))
def test_the_cards_atr_carries_its_fields_and_both_transports_give_the_same_card_div(generation, card_id):
    t0, t1 = atr.for_card(generation, card_id, "t0"), atr.for_card(generation, card_id, "t1")
    for raw in (t0, t1):
        fields = atr.ssc_fields(raw)
        assert (fields.generation, fields.region, fields.serial) == (generation, card_id[0:2], card_id[8:12])
    assert atr.parse(t0).protocols == [0] and atr.parse(t1).protocols == [1] and atr.parse(t1).tck_ok
    assert schemes.card_div(t0) == schemes.card_div(t1) == t0[-8:]  # PD-31: one key set for both modes


def _ber_length(n: int) -> bytes:
    return bytes([n]) if n < 0x80 else bytes([0x81, n]) if n < 0x100 else bytes([0x82]) + n.to_bytes(2, "big")


@SETTINGS
@given(n=st.integers(0, 0xFFFF))
def test_ber_length_builds_the_short_and_long_forms_and_parses_back(n):
    assert codecs.BerLength.build(n) == _ber_length(n)
    assert codecs.BerLength.parse(_ber_length(n)) == n


@SETTINGS
@given(tag=BYTE, value=st.binary(max_size=255), padding=st.binary(max_size=6))
def test_a_record_is_tag_length_value_and_reads_back_past_its_padding(tag, value, padding):
    raw = bytes([tag, len(value)]) + value
    assert codecs.Record.build({"tag": tag, "value": value}) == raw
    assert codecs.record_item(raw + padding) == (tag, value)
    if value:
        cut = raw[:-1]
        assert codecs.record_item(cut) is None  # its length runs past the end
        assert codecs.record_item(cut, lenient=True) == (tag, value[:-1])  # shown as far as it goes


@SETTINGS
@given(name=st.binary(min_size=5, max_size=16), sfi=st.one_of(st.none(), st.integers(1, 30)),
       extra=st.binary(max_size=100).filter(lambda b: not b.startswith(b"\xA5")))  # else it reads as the DIR
def test_an_fci_is_6f_84_name_and_the_dir_sfi_and_parses_back(name, sfi, extra):
    raw = codecs.build_fci(name, sfi, extra)
    inner = b"\x84" + bytes([len(name)]) + name + (bytes([0xA5, 0x03, 0x88, 0x01, sfi]) if sfi else b"") + extra
    assert raw == b"\x6F" + _ber_length(len(inner)) + inner
    body = codecs.FCI.parse(raw).body
    assert body.df_name == name and (body.dir.sfi if body.dir else None) == sfi and body.extra == extra
