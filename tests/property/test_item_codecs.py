"""Properties of the data-item formats of spec §3.1 (simulator/items.py): an (GBK text padded with
00 or 20), cn (BCD digits padded with F), b (binary), and the record a card builds from them (tag ‖
length ‖ value) as the tester's BER-TLV reader (simulator/tlv.py) sees it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from simulator import Card, items, tlv
from simulator.samples import sample_image

SETTINGS = settings(max_examples=150, deadline=None)
PADS = st.sampled_from([0x00, 0x20])
# GBK text that does not end in a pad character (the format strips trailing 00 and 20 by design)
GBK_TEXT = st.text(st.characters(codec="gbk"), max_size=40).filter(lambda t: not t.endswith(("\x00", " ")))


@SETTINGS
@given(text=GBK_TEXT, extra=st.integers(0, 20), pad=PADS)
def test_an_is_gbk_padded_to_the_length_and_decodes_back(text, extra, pad):
    gbk = text.encode("gbk")
    n = max(len(gbk) + extra, 1)
    raw = items.encode(f"an{n}", text, pad)
    assert len(raw) == n
    assert raw[:len(gbk)] == gbk and set(raw[len(gbk):]) <= {pad}
    assert items.decode(f"an{n}", raw) == text
    assert items.decode(f"an{n}", items.blank(f"an{n}")) == ""


@SETTINGS
@given(text=GBK_TEXT.filter(lambda t: len(t.encode("gbk")) >= 2), pad=PADS)
def test_an_longer_than_its_length_is_refused_naming_the_format(text, pad):
    n = len(text.encode("gbk")) - 1
    with pytest.raises(items.ItemError, match=f"an{n} item is {n + 1} bytes in GBK, longer than {n}"):
        items.encode(f"an{n}", text, pad)


@SETTINGS
@given(head=GBK_TEXT, bad=st.characters(codec="utf-8").filter(lambda c: not _gbk(c)))
def test_an_refuses_what_gbk_cannot_write_and_names_it(head, bad):
    with pytest.raises(items.ItemError, match="which GBK cannot write"):
        items.encode("an200", head + bad)


def _gbk(c: str) -> bool:
    try:
        c.encode("gbk")
        return True
    except UnicodeEncodeError:
        return False


@SETTINGS
@given(digits=st.text("0123456789", min_size=1, max_size=20), extra=st.integers(0, 6))
def test_cn_is_bcd_with_f_padding_and_decodes_back(digits, extra):
    n = (len(digits) + 1) // 2 + extra
    raw = items.encode(f"cn{n}", digits)
    assert len(raw) == n
    nibbles = [half for byte in raw for half in (byte >> 4, byte & 0xF)]  # first digit in the high nibble
    assert nibbles[:len(digits)] == [int(d) for d in digits]
    assert set(nibbles[len(digits):]) <= {0xF}
    assert items.decode(f"cn{n}", raw) == digits


@SETTINGS
@given(value=st.one_of(st.text(max_size=12).filter(lambda v: not (v.isascii() and v.isdigit())),
                       st.text("0123456789", min_size=9, max_size=12)))
def test_cn_refuses_non_digits_and_too_many_digits(value):
    with pytest.raises(items.ItemError, match=r"cn4 item (takes digits only|holds at most 8 digits)"):
        items.encode("cn4", value)


@SETTINGS
@given(raw=st.binary(min_size=1, max_size=64), lower=st.booleans())
def test_b_is_hex_of_exactly_its_length(raw, lower):
    n = len(raw)
    text = raw.hex() if lower else raw.hex().upper()
    assert items.encode(f"b{n}", text) == raw == items.encode(f"b{n}", raw)
    assert items.decode(f"b{n}", raw) == raw.hex().upper()
    with pytest.raises(items.ItemError, match=f"b{n + 1} item needs {n + 1} bytes of hex, got {n}"):
        items.encode(f"b{n + 1}", text)


# --- the record the card builds from a data item, read back by the tester's TLV reader -----------

RECORD_ITEMS = [("SSSE/EF06", 0x08, "an18"), ("SSSE/EF06", 0x09, "an30"), ("SSSE/EF06", 0x0C, "cn3"),
                ("SSSE/EF05", 0x07, "an9"), ("SSSE/EF05", 0x05, "cn4"), ("SSSE/EF05", 0x04, "b12")]
SELECT_SSSE = bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")


def _value(draw, fmt: str):
    kind, n = items.parse_format(fmt)
    if kind == "b":
        return draw(st.binary(min_size=n, max_size=n)).hex().upper()
    if kind == "cn":
        return draw(st.text("0123456789", min_size=1, max_size=2 * n))
    return draw(GBK_TEXT.filter(lambda t: t and len(t.encode("gbk")) <= n))


@st.composite
def personalised(draw):
    path, tag, fmt = draw(st.sampled_from(RECORD_ITEMS))
    return path, tag, fmt, _value(draw, fmt), draw(st.sampled_from(["00", "20"])), draw(st.sampled_from(["gen1", "gen2"]))  # free read (gen3 guards EF06)


@settings(max_examples=40, deadline=None)
@given(case=personalised())
def test_the_record_a_card_builds_reads_back_as_one_tlv_with_the_value(case):
    path, tag, fmt, value, pad, gen = case
    image = sample_image(gen)
    image.setdefault("data", {}).setdefault(path, {})[f"{tag:02X}"] = value
    image["switches"] = {**(image.get("switches") or {}), "an_pad": pad}
    card = Card.from_dict(image)
    card.power_on()
    assert card.transmit(SELECT_SSSE)[-2:] == b"\x61\x18"
    sfi, number = int(path[-2:]), card.model.efs[path].find(tag)
    read = bytes([0x00, 0xB2, number, (sfi << 3) | 0x04])
    answer = card.transmit(read + b"\x00")
    if answer[-2] == 0x6C:  # T=0: Le must be the record length
        answer = card.transmit(read + answer[-1:])
    assert answer[-2:] == b"\x90\x00", answer.hex()
    (record,) = tlv.parse(answer[:-2])
    assert record.tag == bytes([tag]) and len(record.value) == items.length(fmt)
    assert items.decode(fmt, record.value) == value
    if fmt.startswith("an"):
        assert set(record.value[len(value.encode("gbk")):]) <= {int(pad, 16)}
