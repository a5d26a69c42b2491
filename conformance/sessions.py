"""Recorded sessions: read any of the three formats, write the JSON one.

JSON session (what `sscard record` and the runner's trace produce):

    {"format": "sscard-session/1", "atr": "3B6D...", "reader": "...", "protocol": "T=0",
     "exchanges": [{"command": "00A4...", "response": "6118", "time": "...", "duration": 0.0001},
                   {"reset": true, "atr": "3B6D..."}]}

A bare JSON list of exchanges (`[{"command", "response"}]` or `[["00A4...", "6118"]]`) is read
too. Anything that is not JSON is read as an apdu4j trace or an apdutool script/output.

ReplayTransport plays any of them back as a Transport.
"""

from __future__ import annotations

import json
from pathlib import Path

from .limits import clip
from .reports import apdu4j, apdutool
from .recording import Session
from .transport import Transport, TransportError

FORMAT = "sscard-session/1"


def load_session(path) -> Session:
    path = Path(path)
    return loads(path.read_text(encoding="utf-8"), str(path))


def loads(text: str, source: str = "") -> Session:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            doc = json.loads(text)
        except RecursionError:  # a ValueError like every other unreadable session
            raise ValueError(f"{source}: JSON nested too deep") from None
        return _from_json(doc, source)
    if apdutool.looks_like_apdutool(text):
        return apdutool.loads(text, source)
    return apdu4j.loads(text, source)


def session_from_trace(trace, source: str = "") -> Session:
    """The exchanges and resets of a processors.Trace as a Session (for replay or from-session)."""
    session = Session(atr=trace.atr, reader=trace.reader, protocol=trace.protocol, source=source)
    for entry in trace.entries:
        if entry.kind == "exchange":
            session.exchanges.append((entry.command, entry.response))
        elif entry.kind == "reset":
            session.exchanges.append(None)
    return session


def dumps(trace, extra: dict | None = None) -> str:
    """A processors.Trace as a JSON session, with times and durations; `extra` adds top-level
    keys that readers ignore (`sscard record` notes why the recording ended)."""
    items = []
    for entry in trace.entries:
        if entry.kind == "exchange":
            items.append({"command": entry.command.hex().upper(), "response": entry.response.hex().upper(),
                          "time": entry.time, "duration": round(entry.duration, 6)})
        elif entry.kind == "reset":
            items.append({"reset": True, "atr": (entry.response or b"").hex().upper(), "time": entry.time})
    body = {"format": FORMAT, "atr": trace.atr.hex().upper(), "reader": trace.reader, "protocol": trace.protocol,
            "exchanges": items}
    body.update({k: v for k, v in (extra or {}).items() if k not in body})
    return json.dumps(body, indent=1, ensure_ascii=False) + "\n"


def _from_json(doc, source: str) -> Session:
    if isinstance(doc, list):
        doc = {"exchanges": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("exchanges"), list):
        raise ValueError(f"{source}: a JSON session is an object with 'exchanges' (or a list of exchanges)")
    session = Session(atr=_hex(doc.get("atr", ""), "atr", source), reader=str(doc.get("reader", "")),
                      protocol=str(doc.get("protocol", "T=1")), source=source)
    for index, item in enumerate(doc["exchanges"]):
        where = f"{source}: exchange {index}"
        if isinstance(item, dict) and item.get("reset"):
            session.exchanges.append(None)
        elif isinstance(item, dict):
            session.exchanges.append((_hex(item.get("command"), where, source), _hex(item.get("response"), where, source)))
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            session.exchanges.append((_hex(item[0], where, source), _hex(item[1], where, source)))
        else:
            raise ValueError(f"{where}: expected {{command, response}}, [command, response] or {{reset: true}}")
    return session


def _hex(value, where: str, source: str) -> bytes:
    try:
        return bytes.fromhex("".join(str(value).split()))
    except (TypeError, ValueError):
        raise ValueError(f"{where}: bad hex {clip(value)}") from None


class ReplayTransport(Transport):
    """Plays a recorded session back; a command that differs from the recording is an error.

    Resets are checked only if the recording contains them (apdu4j dumps have none).
    """

    def __init__(self, session):
        if not isinstance(session, Session):
            session = load_session(Path(session))
        self.session = session
        self.name = f"replay:{Path(session.source).name}" if session.source else "replay"
        self.protocol = session.protocol
        self._position = 0
        self._checks_resets = any(e is None for e in session.exchanges)

    @property
    def atr(self) -> bytes:
        return self.session.atr

    @property
    def remaining(self) -> int:
        return len(self.session.exchanges) - self._position

    def transmit(self, apdu: bytes) -> bytes:
        expected = self._next("command " + apdu.hex().upper())
        if expected is None:
            raise TransportError(f"replay: the recording has a reset at exchange {self._position}, "
                                 f"the run sent {apdu.hex().upper()}", fatal=True)
        command, response = expected
        if bytes(apdu) != command:
            raise TransportError(f"replay: exchange {self._position} differs: recorded {command.hex().upper()}, "
                                 f"sent {apdu.hex().upper()}", fatal=True)
        if len(response) < 2:  # an apdutool script records commands only
            raise TransportError(f"replay: exchange {self._position} ({command.hex().upper()}) was recorded "
                                 f"without an answer", fatal=True)
        return response

    def reset(self) -> bytes:
        if self._checks_resets:
            expected = self._next("reset")
            if expected is not None:
                raise TransportError(f"replay: exchange {self._position} is recorded {expected[0].hex().upper()}, "
                                     f"the run reset the card", fatal=True)
        return self.session.atr

    def _next(self, what: str):
        if self._position >= len(self.session.exchanges):
            raise TransportError(f"replay: the recording ended ({len(self.session.exchanges)} exchanges) "
                                 f"before {what}", fatal=True)
        item = self.session.exchanges[self._position]
        self._position += 1
        return item
