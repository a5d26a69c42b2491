"""Java Card `apdutool` material as a Session: scripts and the tool's output.

Script (commands only; `powerup;`, `powerdown;`, `echo "...";`, `//` and `/* */` comments):

    0x00 0xA4 0x04 0x00 0x0F 0x73 0x78 ... 0xCF 0x7F;

Bytes are CLA INS P1 P2 Lc [Lc data bytes] Le. apdutool always writes an Lc and an Le; we turn
them into the APDU a terminal sends: Lc 00 means no data field (then Le is sent: case 2);
with data, an Le of 7F (apdutool's "any") is dropped (case 3), any other Le is kept (case 4).

Output (what apdutool / jcardsim's APDUScriptTool print, commands with their answers):

    CLA: 00, INS: a4, P1: 04, P2: 00, Lc: 0f, 73, ..., cf, Le: 18, 6f, ..., SW1: 61, SW2: 18

Here `Le: n` is followed by the n response bytes; the command's own Le is not recorded, so it is
rebuilt as n (or 00 when the answer is empty) for a command without data.
"""

from __future__ import annotations

import re

from ..limits import clip
from ..recording import Session

# Linear time on any input: blanks before CLA do not cross a line end (`^\s*` under re.M rescans
# every following blank line from each line start: 240 KB of them took 93 s).
_OUTPUT_LINE = re.compile(r"^[^\S\n]*CLA:[^\S\n]*[0-9A-Fa-f]{2}[^\S\n]*,", re.M)


def looks_like_apdutool(text: str) -> bool:
    return bool(_OUTPUT_LINE.search(text)) or bool(re.search(r"0x[0-9A-Fa-f]{2}\s+0x[0-9A-Fa-f]{2}", text))


def loads(text: str, source: str = "") -> Session:
    if _OUTPUT_LINE.search(text):
        return _output(text, source)
    return _script(text, source)


def script_command(values: list[int]) -> bytes:
    """The C-APDU for one script command (see the module docstring for the Lc/Le rule)."""
    if len(values) < 4:
        raise ValueError(f"a command needs at least CLA INS P1 P2, got {len(values)} bytes")
    header = bytes(values[:4])
    if len(values) == 4:
        return header
    lc = values[4]
    data = bytes(values[5:5 + lc])
    if len(data) != lc:
        raise ValueError(f"Lc {lc:02X} but {len(data)} data bytes")
    rest = values[5 + lc:]
    if len(rest) > 1:
        raise ValueError(f"{len(rest)} bytes after the data; expected at most Le")
    le = rest[0] if rest else None
    if lc == 0:
        return header + (bytes([le]) if le is not None else b"")
    if le is None or le == 0x7F:
        return header + bytes([lc]) + data
    return header + bytes([lc]) + data + bytes([le])


def _script(text: str, source: str) -> Session:
    session = Session(source=source, protocol="T=0")
    line = 1
    for raw in _without_comments(text).split(";"):
        statement = raw.strip()
        where = line + raw[:len(raw) - len(raw.lstrip())].count("\n")
        line += raw.count("\n")
        if not statement or statement.lower() in ("powerup", "powerdown") or statement.lower().startswith("echo"):
            if statement.lower() == "powerup" and session.exchanges:
                session.exchanges.append(None)  # a second power-up is a reset
            continue
        try:
            values = [int(token, 16) for token in statement.split()]
        except ValueError:
            raise ValueError(f"line {where}: not an apdutool command: {clip(statement)}") from None
        # No response recorded: the empty bytes mark "unknown" for vectors from-session.
        try:
            session.exchanges.append((script_command(values), b""))
        except ValueError as exc:
            raise ValueError(f"line {where}: {exc}") from None
    return session


def _without_comments(text: str) -> str:
    """`/* */` and `//` comments removed in one pass, their line ends kept (for line numbers).
    A `/*` that is never closed is an error (a regex would rescan the rest from each one)."""
    out, pos, block, line = [], 0, -2, -2
    while True:  # each search resumes where the last found nothing before it: one pass in all
        block = text.find("/*", pos) if -1 < block < pos or block == -2 else block
        line = text.find("//", pos) if -1 < line < pos or line == -2 else line
        if block < 0 and line < 0:
            out.append(text[pos:])
            return "".join(out)
        if line < 0 or 0 <= block < line:
            end = text.find("*/", block + 2)
            if end < 0:
                raise ValueError(f"line {text.count(chr(10), 0, block) + 1}: comment /* is not closed")
            out += [text[pos:block], "\n" * text.count("\n", block, end)]
            pos = end + 2
        else:
            end = text.find("\n", line)
            out.append(text[pos:line])
            pos = len(text) if end < 0 else end


def _output(text: str, source: str) -> Session:
    session = Session(source=source, protocol="T=0")
    for number, line in enumerate(text.splitlines(), 1):
        if not _OUTPUT_LINE.match(line):
            continue
        fields = [f.strip() for f in line.split(",")]
        named: dict[str, int] = {}
        current = None
        lists: dict[str, list[int]] = {"Lc": [], "Le": []}
        try:
            for item in fields:
                if ":" in item:
                    name, value = (part.strip() for part in item.split(":", 1))
                    named[name] = _byte(value)
                    current = name if name in lists else None
                elif current is not None and item:
                    lists[current].append(_byte(item))
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
        try:
            header = bytes(named[k] for k in ("CLA", "INS", "P1", "P2"))
            sw = bytes((named["SW1"], named["SW2"]))
        except KeyError as exc:
            raise ValueError(f"line {number}: no {exc.args[0]} field") from None
        data = bytes(lists["Lc"])
        answer = bytes(lists["Le"])
        command = header + (bytes([len(data)]) + data if data else bytes([len(answer) & 0xFF]))
        session.exchanges.append((command, answer + sw))
    return session


def _byte(text: str) -> int:
    """One byte of apdutool output (`a4`): a wider number would be no byte of an APDU."""
    try:
        value = int(text, 16)
    except ValueError:
        raise ValueError(f"not a hex byte: {clip(text)}") from None
    if not 0 <= value <= 0xFF:
        raise ValueError(f"not a byte: {clip(text)}")
    return value
