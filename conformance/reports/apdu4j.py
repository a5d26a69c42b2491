"""The APDU trace in apdu4j's formats, and a reader for them.

Written (style "log", what apdu4j's LoggingCardTerminal prints, with its dump header):

    # Generated on 2025-01-01T10:00:00+00:00 by sscard/0.1.0
    # Using Virtual PCD 00 00
    # ATR: 3B6D00000081005353430244035A3C1E02
    # PROTOCOL: T=0
    #
    A>> T=0 (4+0015) 00A40400 0F 7378312E73682EC9E7BBE1B1A3D5CF
    A<< (0000+2) (0.12ms) 6118
    # auto GET RESPONSE: 6118 -> 00C0000018
    A>> T=0 (4+0000) 00C00000 18
    A<< (0024+2) (0.09ms) 6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B 9000

Style "dump" is apdu4j's replayable dump: the same header, then `# Sent` / hex / `# Received in
Nms` / hex. The reader takes either (and plain alternating hex lines). A reset is written as the
comment `# RESET ATR: ...`, which apdu4j ignores and this reader turns back into a reset.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from ..limits import clip, clip_hex
from ..recording import Session

_HEX = re.compile(r"^[0-9A-Fa-f]+$")


def format_command(apdu: bytes, protocol: str) -> str:
    """`A>> T=1 (4+0005) 00A40400 05 A000000003` — header, Lc, data, Le split as apdu4j does."""
    header = apdu[:4].hex().upper()
    if len(apdu) <= 4:
        return f"A>> {protocol} (4+0000) {header}"
    p3 = apdu[4]
    body = apdu[5:]
    if len(body) >= p3 and p3 > 0:  # case 3 or 4: P3 is Lc
        data, rest = body[:p3], body[p3:]
        text = f"A>> {protocol} (4+{len(data):04d}) {header} {p3:02X} {data.hex().upper()}"
        return text + (f" {rest.hex().upper()}" if rest else "")
    return f"A>> {protocol} (4+0000) {header} {p3:02X}" + (f" {body.hex().upper()}" if body else "")


def format_response(response: bytes, duration: float) -> str:
    data, sw = response[:-2], response[-2:]
    text = f"A<< ({len(data):04d}+2) ({_elapsed(duration)})"
    return text + (f" {data.hex().upper()}" if data else "") + f" {sw.hex().upper()}"


def dumps(trace, tool: str = "sscard", style: str = "log", provenance: dict | None = None) -> str:
    """The whole trace (a processors.Trace) as text in apdu4j's log or dump style."""
    lines = [f"# Generated on {datetime.now(timezone.utc).isoformat(timespec='seconds')} by {tool}"]
    if trace.reader:
        lines.append(f"# Using {trace.reader}")
    lines += [f"# {line}" for line in _provenance_lines(provenance or {})]
    lines += [f"# ATR: {trace.atr.hex().upper()}", f"# PROTOCOL: {trace.protocol}", "#"]
    for entry in trace.entries:
        if entry.kind == "exchange":
            if style == "dump":
                lines += ["# Sent", entry.command.hex().upper(),
                          f"# Received in {_elapsed(entry.duration)}", entry.response.hex().upper()]
            else:
                lines += [format_command(entry.command, trace.protocol), format_response(entry.response, entry.duration)]
        elif entry.kind == "reset":
            lines.append(f"# RESET ATR: {(entry.response or b'').hex().upper()}")
        elif entry.kind == "error":
            lines.append(f"# ERROR {entry.command.hex().upper() if entry.command else ''}: {_one_line(entry.text)}")
        elif entry.text:
            lines.append(f"# {_one_line(entry.text)}")
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    """A note stays one comment line: a line break in it cannot add exchanges to a replayed trace."""
    return " ".join(str(text).splitlines())


def write(trace, path, tool: str = "sscard", style: str = "log", provenance: dict | None = None) -> None:
    from .writing import write_text  # atomic, mode 0600: a trace holds the PINs sent

    write_text(path, dumps(trace, tool, style, provenance))


def _provenance_lines(provenance: dict) -> list[str]:
    """The run's provenance as comments (apdu4j and our reader skip unknown comments)."""
    suite, card = provenance.get("suite") or {}, provenance.get("card") or {}
    lines = []
    if suite:
        lines.append(f"sscard suite {suite.get('version')} ({suite.get('cases')} cases, git {suite.get('git')})")
        lines += [f"sscard vectors {path} sha256 {digest}" for path, digest in (suite.get("files") or {}).items()]
    if card:
        lines.append(f"sscard card {card.get('label')} image {card.get('image')} sha256 {card.get('image_sha256')}")
    if provenance.get("started"):
        lines.append(f"sscard run {provenance.get('started')} .. {provenance.get('ended')}")
    return lines


def loads(text: str, source: str = "") -> Session:
    """Read a log-style or dump-style apdu4j trace into a Session. Raises ValueError with a line."""
    session = Session(source=source)
    pending: bytes | None = None  # a command waiting for its response
    for number, raw_line in enumerate(text.splitlines(), 1):
        line = raw_line.strip()
        if not line:
            continue
        if line.startswith("#"):
            _header(line, session, number)
            if line.upper().startswith("# RESET"):
                session.exchanges.append(None)
            continue
        if line.startswith("A>>") or line.startswith("B>>"):
            command = _hex_tokens(line, number)
        elif line.startswith("A<<") or line.startswith("B<<"):
            if pending is None:
                raise ValueError(f"line {number}: a response without a command")
            session.exchanges.append((pending, _hex_tokens(line, number)))
            pending = None
            continue
        elif _HEX.match(line.replace(" ", "")):
            command = bytes.fromhex(line.replace(" ", ""))
            if pending is not None:  # dump style: the line after a command is its response
                session.exchanges.append((pending, command))
                pending = None
                continue
        else:
            raise ValueError(f"line {number}: not an apdu4j trace line: {clip(line)}")
        if pending is not None:
            raise ValueError(f"line {number}: command {clip_hex(pending)} has no response")
        pending = command
    if pending is not None:
        raise ValueError(f"the trace ends with a command without response: {clip_hex(pending)}")
    return session


def _hex_tokens(line: str, number: int) -> bytes:
    """The hex tokens after the last bracketed field of an A>> / A<< line, joined."""
    tokens = line.split()
    start = 1
    for i, token in enumerate(tokens):
        if token.endswith(")"):
            start = i + 1
    hex_text = "".join(tokens[start:])
    if not _HEX.match(hex_text or "x") or len(hex_text) % 2:
        raise ValueError(f"line {number}: bad hex in {clip(line)}")
    return bytes.fromhex(hex_text)


def _header(line: str, session: Session, number: int) -> None:
    body = line[1:].strip()
    for prefix, attribute in (("ATR:", "atr"), ("PROTOCOL:", "protocol"), ("Using ", "reader")):
        if body.startswith(prefix):
            value = body[len(prefix):].strip()
            if attribute == "atr":
                try:
                    value = bytes.fromhex(value)
                except ValueError:
                    raise ValueError(f"line {number}: bad hex in the ATR {clip(value)}") from None
            setattr(session, attribute, value)


def _elapsed(seconds: float) -> str:
    ms = seconds * 1000
    if ms >= 1000:
        return f"{int(ms) // 1000}s{int(ms) % 1000}ms"
    if ms < 3:
        return f"{ms:.2f}ms"
    return f"{int(ms)}ms"
