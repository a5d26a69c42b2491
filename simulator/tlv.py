"""BER-TLV (ISO/IEC 7816-4 §5.2): the one reader of tag-length-value objects, for the card
(PKI data fields), the tester (FCI `6F 84 A5 88`, expectations, reports), the terminal and the TUI.

`read` is lenient: it returns the objects it could decode and, for a broken answer, where it
stopped and why, because a report must show a malformed answer rather than fail on it.
`parse` is the strict form (TLVError naming the offset). Record-EF items (`tag len value`, one
byte each) are the `Record` declaration of `codecs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TLV:
    tag: bytes
    value: bytes
    children: list["TLV"] = field(default_factory=list)

    @property
    def constructed(self) -> bool:
        return bool(self.tag[0] & 0x20)

    @property
    def tag_hex(self) -> str:
        return self.tag.hex().upper()

    @property
    def tag_int(self) -> int:
        return int.from_bytes(self.tag, "big")


class TLVError(ValueError):
    def __init__(self, message: str, offset: int):
        super().__init__(f"{message} (at byte {offset})")
        self.offset = offset


@dataclass
class Reading:
    """What `read` made of the data: the objects, and where and why it stopped when it did."""

    items: list[TLV]
    stopped_at: int | None = None  # offset of the first byte not read; None when all was read
    error: TLVError | None = None

    @property
    def complete(self) -> bool:
        return self.error is None


def read(data: bytes, padding: bool = True, max_length_bytes: int = 3) -> Reading:
    """The top-level objects of `data` as far as they decode. Constructed objects get children
    (a constructed value that does not decode keeps its raw value and no children). With
    `padding`, a run of 00 or FF after the last object ends the data (record and file padding)."""
    data = bytes(data)
    items: list[TLV] = []
    pos = 0
    while pos < len(data):
        if padding and data[pos] in (0x00, 0xFF) and data[pos:].count(data[pos]) == len(data) - pos:
            break
        try:
            tag, length, start = header(data, pos, max_length_bytes)
        except TLVError as exc:
            return Reading(items, pos, exc)
        if start + length > len(data):
            return Reading(items, pos, TLVError(f"tag {tag.hex().upper()}: length {length} runs past the end", pos))
        item = TLV(tag, data[start:start + length])
        if item.constructed:
            inner = read(item.value, padding, max_length_bytes)
            item.children = inner.items if inner.complete else []
        items.append(item)
        pos = start + length
    return Reading(items)


def parse(data: bytes, padding: bool = True, max_length_bytes: int = 3) -> list[TLV]:
    """All top-level objects of `data`, or TLVError naming where the data stops being BER-TLV."""
    reading = read(data, padding, max_length_bytes)
    if reading.error is not None:
        raise reading.error
    return reading.items


def header(data: bytes, pos: int = 0, max_length_bytes: int = 3) -> tuple[bytes, int, int]:
    """(tag, length, offset of the value) of the object at `pos`; TLVError when cut short or when
    the length form is not one of 0x..7F, 81 LL, 82 LL LL … (up to max_length_bytes)."""
    start = pos
    if pos >= len(data):
        raise TLVError("tag missing", pos)
    if data[pos] & 0x1F == 0x1F:  # multi-byte tag: more bytes while b8 is set
        pos += 1
        while pos < len(data) and data[pos] & 0x80:
            pos += 1
    pos += 1
    if pos > len(data):
        raise TLVError("tag runs past the end", start)
    tag = bytes(data[start:pos])
    if pos >= len(data):
        raise TLVError(f"tag {tag.hex().upper()}: length missing", pos)
    first = data[pos]
    if first < 0x80:
        return tag, first, pos + 1
    count = first & 0x7F
    if count == 0 or count > max_length_bytes or pos + 1 + count > len(data):
        raise TLVError(f"tag {tag.hex().upper()}: bad length byte {first:02X}", pos)
    return tag, int.from_bytes(data[pos + 1:pos + 1 + count], "big"), pos + 1 + count


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    size = (length.bit_length() + 7) // 8
    return bytes([0x80 | size]) + length.to_bytes(size, "big")


def encode(tag: bytes | int, value: bytes) -> bytes:
    tag = bytes([tag]) if isinstance(tag, int) else bytes(tag)
    return tag + encode_length(len(value)) + bytes(value)


def total_length(data: bytes, tag: int | None = None) -> int | None:
    """Header plus value length of the object at the start of `data` (e.g. a DER certificate,
    tag 30, read in 256-byte pieces), or None when it does not start with such an object.
    The value need not be all there yet."""
    try:
        found, length, start = header(data, 0)
    except TLVError:
        return None
    if tag is not None and found != bytes([tag]):
        return None
    return start + length


def objects(data: bytes, *shape: tuple[int, int | None], max_length_bytes: int = 2) -> list[bytes] | None:
    """The values when `data` is exactly the objects of shape ((tag, length or None), ...) in
    order, else None (the card's PKI data fields: one-byte tags, lengths LL / 81 LL / 82 LL LL)."""
    reading = read(data, padding=False, max_length_bytes=max_length_bytes)
    found = reading.items
    if not reading.complete or len(found) != len(shape):
        return None
    for item, (want, length) in zip(found, shape):
        if item.tag != bytes([want]) or (length is not None and len(item.value) != length):
            return None
    return [item.value for item in found]


def find(items: list[TLV], path: str) -> TLV | None:
    """`"84"` = the first object with tag 84 at any depth; `"6F/A5/88"` = that exact nesting."""
    steps = [bytes.fromhex(s) for s in path.split("/")]
    if len(steps) == 1:
        return next(_walk(items, steps[0]), None)
    level = items
    found = None
    for step in steps:
        found = next((i for i in level if i.tag == step), None)
        if found is None:
            return None
        level = found.children
    return found


def describe(data: bytes, indent: str = "") -> list[str]:
    """Lines of a readable tree, or [] when the data is not BER-TLV."""
    reading = read(data)
    if not reading.complete:
        return []
    lines: list[str] = []
    _describe(reading.items, indent, lines)
    return lines


def _describe(items, indent, lines):
    for item in items:
        if item.children:
            lines.append(f"{indent}{item.tag_hex} ({len(item.value)})")
            _describe(item.children, indent + "  ", lines)
        else:
            lines.append(f"{indent}{item.tag_hex} ({len(item.value)}) {item.value.hex().upper()}")


def _walk(items, tag):
    for item in items:
        if item.tag == tag:
            yield item
        yield from _walk(item.children, tag)
