"""Command APDUs: the one parser and builder of cases 1-4 (short; extended is recognised and refused)."""

from __future__ import annotations


class APDUError(ValueError):
    """A byte string that is not a C-APDU of spec §4.1; names the offending bytes."""

    def __init__(self, raw: bytes, why: str):
        super().__init__(f"{why}: {raw.hex().upper() or '(empty)'}")
        self.raw = bytes(raw)
        self.why = why


class CommandAPDU:
    """A parsed C-APDU. A plain slotted class: it is built for every command, so it stays cheap."""

    __slots__ = ("cla", "ins", "p1", "p2", "data", "le")

    def __init__(self, cla: int, ins: int, p1: int, p2: int, data: bytes | None = None,
                 le: int | None = None):
        self.cla, self.ins, self.p1, self.p2 = cla, ins, p1, p2
        self.data = data  # None = no data field (case 1/2)
        self.le = le  # None = absent; 1..256 (a coded 00 is 256)

    def __eq__(self, other) -> bool:
        return isinstance(other, CommandAPDU) and self.to_bytes() == other.to_bytes()

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def __repr__(self) -> str:
        return (f"CommandAPDU(cla=0x{self.cla:02X}, ins=0x{self.ins:02X}, p1=0x{self.p1:02X}, "
                f"p2=0x{self.p2:02X}, data={self.data!r}, le={self.le!r})")

    @property
    def case(self) -> int:
        return (1 if self.le is None else 2) if self.data is None else (3 if self.le is None else 4)

    @property
    def header(self) -> bytes:
        return bytes((self.cla, self.ins, self.p1, self.p2))

    def to_bytes(self) -> bytes:
        out = bytearray(self.header)
        if self.data is not None:
            if not 1 <= len(self.data) <= 255:
                raise ValueError(f"short APDU data field must be 1-255 bytes, got {len(self.data)}")
            out.append(len(self.data))
            out += self.data
        if self.le is not None:
            if not 1 <= self.le <= 256:
                raise ValueError(f"short APDU Le must be 1-256, got {self.le}")
            out.append(self.le & 0xFF)
        return bytes(out)

    @classmethod
    def parse(cls, raw: bytes) -> "CommandAPDU":
        """Parse a short C-APDU (spec §4.1); anything else raises APDUError."""
        n = len(raw)
        if n < 4:
            raise APDUError(raw, "C-APDU shorter than 4 bytes")
        cla, ins, p1, p2 = raw[0], raw[1], raw[2], raw[3]
        if n == 4:
            return cls(cla, ins, p1, p2)
        b5 = raw[4]
        if n == 5:
            return cls(cla, ins, p1, p2, None, b5 or 256)
        if b5 == 0:
            raise APDUError(raw, "extended-length or malformed C-APDU (byte 5 is 00)")
        if n == 5 + b5:
            return cls(cla, ins, p1, p2, bytes(raw[5:]))
        if n == 6 + b5:
            return cls(cla, ins, p1, p2, bytes(raw[5:-1]), raw[-1] or 256)
        raise APDUError(raw, f"length {n} does not fit Lc={b5}")

    def __str__(self) -> str:
        return self.to_bytes().hex().upper()
