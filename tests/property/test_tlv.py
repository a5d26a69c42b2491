"""Properties of the tester's BER-TLV reader (simulator/tlv.py) against an independent encoder
written here from ISO/IEC 8825-1 (tag: 1 byte, or xF 1F then bytes with b8 set on all but the last;
length: short form below 128, else 81/82/83 and the big-endian length)."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from simulator import tlv

SETTINGS = settings(max_examples=100, deadline=None)


def ber_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def encode(tree) -> bytes:
    """tree: list of (tag, value bytes) or (tag, [children])."""
    out = b""
    for tag, content in tree:
        value = encode(content) if isinstance(content, list) else content
        out += tag + ber_length(len(value)) + value
    return out


def _tag(constructed: bool):
    first = st.integers(0, 0xFF).map(lambda b: (b & ~0x20) | (0x20 if constructed else 0))
    # 00 and FF are padding between objects (the reader skips them at the end), not tags
    short = first.filter(lambda b: b & 0x1F != 0x1F and b not in (0x00, 0xFF)).map(lambda b: bytes([b]))
    multi = st.tuples(first.map(lambda b: b | 0x1F), st.lists(st.integers(0x80, 0xFF), max_size=2),
                      st.integers(0, 0x7F)).map(lambda t: bytes([t[0], *t[1], t[2]]))
    return st.one_of(short, multi)


# mostly short values; some long enough for the 81 and 82 length forms
primitive = st.tuples(_tag(False), st.one_of(st.binary(max_size=20), st.binary(max_size=20).map(lambda b: b * 15)))
trees = st.recursive(st.lists(primitive, min_size=1, max_size=4),
                     lambda children: st.lists(st.one_of(primitive, st.tuples(_tag(True), children)),
                                               min_size=1, max_size=4),
                     max_leaves=12)


def _padding(rest: bytes) -> bool:
    """Nothing, or a run of one padding byte (00…00 or FF…FF)."""
    return set(rest) in (set(), {0x00}, {0xFF})


def _same(parsed: list[tlv.TLV], tree) -> None:
    assert [p.tag for p in parsed] == [tag for tag, _ in tree]
    for item, (tag, content) in zip(parsed, tree):
        if isinstance(content, list):
            assert item.constructed and item.value == encode(content)
            _same(item.children, content)
        else:
            assert item.value == content and item.children == []


@SETTINGS
@given(tree=trees)
def test_parse_gives_back_what_a_ber_encoder_wrote(tree):
    _same(tlv.parse(encode(tree)), tree)


@SETTINGS
@given(tree=trees, padding=st.sampled_from([b"", b"\x00" * 3, b"\xff" * 5]))
def test_trailing_00_or_ff_padding_is_not_an_object(tree, padding):
    _same(tlv.parse(encode(tree) + padding), tree)


@SETTINGS
@given(tree=trees)
def test_find_follows_the_first_object_of_each_tag_and_a_bare_tag_searches_depth_first(tree):
    parsed = tlv.parse(encode(tree))
    preorder: list[tlv.TLV] = []

    def walk(items, path: list[str] | None):  # path None: not reachable by an exact path
        for item in items:
            preorder.append(item)
            first = next(i for i in items if i.tag == item.tag)
            here = None if path is None or first is not item else path + [item.tag.hex().upper()]
            if here is not None and len(here) > 1:
                assert tlv.find(parsed, "/".join(here)) is item
            walk(item.children, here)

    walk(parsed, [])
    for item in preorder:
        assert tlv.find(parsed, item.tag.hex().upper()) is next(i for i in preorder if i.tag == item.tag)


@SETTINGS
@given(tree=trees, cut=st.integers(1, 400))
def test_a_truncated_object_is_a_clean_tlv_error_and_describe_shows_nothing(tree, cut):
    data = encode(tree)
    short = data[:max(len(data) - cut, 1)]
    if short.rstrip(b"\x00\xff") != short and short.strip(b"\x00\xff") == b"":
        return  # nothing but padding left
    try:
        parsed = tlv.parse(short)
    except tlv.TLVError as exc:
        assert str(exc)  # says what ran past the end
        assert tlv.describe(short) == []
        return
    # the cut fell on an object boundary: what is read re-encodes to the bytes kept, the rest is padding
    kept = encode([(p.tag, p.value) for p in parsed])
    assert short.startswith(kept) and _padding(short[len(kept):])


@SETTINGS
@given(data=st.binary(max_size=200))
def test_any_bytes_read_as_far_as_they_decode_and_parse_is_read_or_its_error(data):
    reading = tlv.read(data)
    kept = encode([(p.tag, p.value) for p in reading.items])
    assert data.startswith(kept)  # the objects read are exactly the bytes before the stop
    if reading.complete:
        assert reading.stopped_at is None and _padding(data[len(kept):])  # only padding skipped
        assert tlv.parse(data) == reading.items and len(tlv.describe(data)) >= len(reading.items)
        return
    assert reading.stopped_at == len(kept) and isinstance(reading.error, tlv.TLVError)
    assert tlv.describe(data) == []
    try:
        tlv.parse(data)
    except tlv.TLVError as exc:
        assert str(exc) == str(reading.error) and f"(at byte {exc.offset})" in str(exc)
    else:
        raise AssertionError("parse accepted what read stopped on")


@SETTINGS
@given(tag=_tag(False), value=st.one_of(st.binary(max_size=20), st.binary(max_size=20).map(lambda b: b * 30)))
def test_encode_is_the_ber_encoding_and_header_reads_it_back(tag, value):
    data = tlv.encode(tag, value)
    assert data == encode([(tag, value)])
    assert tlv.encode_length(len(value)) == ber_length(len(value))
    assert tlv.header(data) == (tag, len(value), len(data) - len(value))
    assert tlv.total_length(data + b"more") == len(data)
    if len(tag) == 1:
        assert tlv.total_length(data, tag[0]) == len(data) and tlv.total_length(data, tag[0] ^ 1) is None


@SETTINGS
@given(values=st.lists(st.tuples(st.integers(0x01, 0x1E), st.binary(max_size=300)), min_size=1, max_size=4),
       wrong=st.integers(0, 3))
def test_objects_takes_exactly_the_declared_shape(values, wrong):
    data = b"".join(bytes([t]) + ber_length(len(v)) + v for t, v in values)
    shape = [(t, len(v)) for t, v in values]
    assert tlv.objects(data, *shape) == [v for _, v in values]
    assert tlv.objects(data, *[(t, None) for t, _ in values]) == [v for _, v in values]
    i = wrong % len(values)
    other_tag = shape[:i] + [(shape[i][0] ^ 0x20, shape[i][1])] + shape[i + 1:]
    assert tlv.objects(data, *other_tag) is None
    assert tlv.objects(data, *shape[:-1]) is None and tlv.objects(data + b"\x01", *shape) is None
