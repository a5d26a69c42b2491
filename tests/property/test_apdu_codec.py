"""Properties of the C-APDU codec (simulator/apdu.py, spec §4.1): the four short cases built by hand
here from ISO/IEC 7816-4 parse to what was meant and build back to the same bytes; extended-length
encodings and byte strings of no case are refused with an APDUError naming the bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from simulator.apdu import APDUError, CommandAPDU

SETTINGS = settings(max_examples=200, deadline=None)
HEADER = st.binary(min_size=4, max_size=4)
DATA = st.binary(min_size=1, max_size=255)
LE = st.integers(1, 256)


@st.composite
def short_apdus(draw):
    """(bytes, case, data, le) of a short C-APDU, encoded by the rules of 7816-4 §5.1."""
    case = draw(st.integers(1, 4))
    header = draw(HEADER)
    data = draw(DATA) if case in (3, 4) else None
    le = draw(LE) if case in (2, 4) else None
    raw = header + (bytes([len(data)]) + data if data else b"") + (bytes([le % 256]) if le else b"")
    return raw, case, data, le


@SETTINGS
@given(apdu=short_apdus())
def test_every_short_case_parses_to_its_fields_and_builds_back(apdu):
    raw, case, data, le = apdu
    parsed = CommandAPDU.parse(raw)
    assert (parsed.cla, parsed.ins, parsed.p1, parsed.p2) == tuple(raw[:4]) and parsed.header == raw[:4]
    assert (parsed.case, parsed.data, parsed.le) == (case, data, le)
    assert parsed.to_bytes() == raw and str(parsed) == raw.hex().upper()
    assert CommandAPDU(*raw[:4], data, le) == parsed and hash(CommandAPDU(*raw[:4], data, le)) == hash(parsed)


@st.composite
def extended_apdus(draw):
    """Extended-length cases 2E, 3E, 4E of 7816-4: byte 5 is 00, then 2-byte Lc and/or Le."""
    case = draw(st.sampled_from(["2E", "3E", "4E"]))
    header = draw(HEADER)
    data = draw(st.binary(min_size=1, max_size=300)) if case != "2E" else b""
    le = draw(st.integers(0, 0xFFFF)).to_bytes(2, "big") if case != "3E" else b""
    body = (len(data).to_bytes(2, "big") + data if data else b"") + le
    return header + b"\x00" + body


@SETTINGS
@given(raw=extended_apdus())
def test_extended_length_is_refused_naming_the_bytes(raw):
    with pytest.raises(APDUError) as caught:
        CommandAPDU.parse(raw)
    assert "extended-length" in caught.value.why
    assert caught.value.raw == raw and raw.hex().upper() in str(caught.value)


@SETTINGS
@given(raw=st.binary(max_size=270))
def test_any_bytes_are_one_short_case_or_a_clean_error(raw):
    try:
        parsed = CommandAPDU.parse(raw)
    except APDUError as exc:
        assert exc.raw == raw and (raw.hex().upper() or "(empty)") in str(exc)
        # independent reading of 7816-4: which lengths a short APDU with this byte 5 may have
        fits = len(raw) in (4, 5) or (len(raw) > 5 and raw[4] and len(raw) in (5 + raw[4], 6 + raw[4]))
        assert not fits, f"{raw.hex()} is a short APDU but was refused: {exc}"
        return
    assert parsed.to_bytes() == raw


@SETTINGS
@given(header=HEADER, data=st.one_of(st.just(b""), st.binary(min_size=256, max_size=300)),
       le=st.one_of(st.none(), st.integers(257, 70000), st.integers(-5, 0)))
def test_building_what_a_short_apdu_cannot_carry_is_refused(header, data, le):
    with pytest.raises(ValueError, match="short APDU"):
        CommandAPDU(*header, data, le).to_bytes()
