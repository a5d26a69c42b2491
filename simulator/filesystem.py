"""The card's file model (spec §2.7): MF/DF, transparent EF, linear-fixed and cyclic record EFs."""

from __future__ import annotations

from dataclasses import dataclass, field

from .security import FREE, NEVER, Condition, Key, Pin


@dataclass(eq=False)
class Node:
    name: str  # designation in the card's own words: "SSSE", "EF05", "0012"
    fid: int | None
    parent: "DF | None" = None

    @property
    def path(self) -> str:
        if self.parent is None or self.parent.parent is None:
            return self.name  # MF children are addressed from the top: "SSSE", "PKI"
        return f"{self.parent.path}/{self.name}"

    @property
    def app(self) -> str | None:
        """The application the node belongs to: "SSSE", "PKI", or None for the MF."""
        node = self
        while node.parent is not None and node.parent.parent is not None:
            node = node.parent
        return node.name if node.parent is not None else None


@dataclass(eq=False)
class DF(Node):
    aid: bytes | None = None
    children: dict[int, Node] = field(default_factory=dict)  # by FID
    named: list["DF"] = field(default_factory=list)  # DF children without FID (select by name)
    by_sfi: dict[int, "EF"] = field(default_factory=dict)
    keys: dict[int, Key] = field(default_factory=dict)
    pins: dict[int, Pin] = field(default_factory=dict)
    dir_sfi: int | None = None
    fci_extra: bytes = b""
    fci: bytes | None = None  # cache of the FCI built from the above

    def add(self, node: Node) -> Node:
        node.parent = self
        if node.fid is not None:
            self.children[node.fid] = node
        elif isinstance(node, DF):
            self.named.append(node)
        if isinstance(node, EF) and node.sfi is not None:
            self.by_sfi[node.sfi] = node
        return node

    def subdfs(self) -> list["DF"]:
        return [c for c in self.children.values() if isinstance(c, DF)] + self.named

    def walk(self):
        """Every node below and including this DF, depth first."""
        yield self
        for child in list(self.children.values()) + self.named:
            if isinstance(child, DF):
                yield from child.walk()
            else:
                yield child


@dataclass(eq=False)
class EF(Node):
    sfi: int | None = None
    read_ac: Condition = FREE
    write_ac: Condition = NEVER
    spec: dict = field(default_factory=dict)  # the profile entry: item names, formats, kind

    structure = "?"
    is_record = False


@dataclass(eq=False)
class TransparentEF(EF):
    data: bytearray = field(default_factory=bytearray)
    structure = "transparent"

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(eq=False)
class RecordEF(EF):
    """Linear fixed: all records exist from creation; a record's identifier is its first byte."""

    records: list[bytearray] = field(default_factory=list)
    record_read: dict[int, Condition] = field(default_factory=dict)  # per-record overrides
    record_write: dict[int, Condition] = field(default_factory=dict)
    structure = "linear-fixed"
    is_record = True

    def find(self, tag: int) -> int | None:
        """Record number (1-based) of the first record whose first byte is tag."""
        for i, rec in enumerate(self.records):
            if rec and rec[0] == tag:
                return i + 1
        return None

    def read_ac_of(self, number: int) -> Condition:
        return self.record_read.get(number, self.read_ac)

    def write_ac_of(self, number: int) -> Condition:
        return self.record_write.get(number, self.write_ac)

    def record_length(self, number: int) -> int:
        return len(self.records[number - 1])


@dataclass(eq=False)
class CyclicEF(RecordEF):
    """Cyclic: starts empty; an append becomes record 1 and the oldest falls off when full."""

    capacity: int = 0
    length: int = 0
    structure = "cyclic"

    def append(self, record: bytes) -> None:
        self.records.insert(0, bytearray(record))
        del self.records[self.capacity:]

    def record_length(self, number: int) -> int:
        return self.length
