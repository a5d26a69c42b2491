"""BER-TLV reading for expectations and reports (FCI `6F 84 A5 88`, PKI `CA 40`, records `tag len`).

Lenient by design: it decodes what it can and reports the rest as `rest`, because a report
must show a malformed answer rather than fail on it.
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


class TLVError(ValueError):
    pass


def parse(data: bytes) -> list[TLV]:
    """All top-level objects of `data`; constructed ones are parsed into children. Raises TLVError."""
    items, pos = [], 0
    while pos < len(data):
        if data[pos] in (0x00, 0xFF) and all(b == data[pos] for b in data[pos:]):
            break  # padding after the last object
        tag, pos = _tag(data, pos)
        length, pos = _length(data, pos)
        if pos + length > len(data):
            raise TLVError(f"tag {tag.hex().upper()}: length {length} runs past the end")
        value = data[pos:pos + length]
        pos += length
        item = TLV(tag, value)
        if item.constructed:
            try:
                item.children = parse(value)
            except TLVError:
                item.children = []  # keep the raw value; a report still shows it
        items.append(item)
    return items


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
    try:
        items = parse(data)
    except (TLVError, IndexError):
        return []
    lines: list[str] = []
    _describe(items, indent, lines)
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


def _tag(data: bytes, pos: int) -> tuple[bytes, int]:
    start = pos
    if data[pos] & 0x1F == 0x1F:  # multi-byte tag: more bytes while b8 is set
        pos += 1
        while pos < len(data) and data[pos] & 0x80:
            pos += 1
    pos += 1
    if pos > len(data):
        raise TLVError("tag runs past the end")
    return bytes(data[start:pos]), pos


def _length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise TLVError("length missing")
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 3 or pos + 1 + count > len(data):
        raise TLVError(f"bad length byte {first:02X}")
    return int.from_bytes(data[pos + 1:pos + 1 + count], "big"), pos + 1 + count
