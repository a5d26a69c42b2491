"""APDU processors in the yubikit manner: small links between the runner and the Transport.

Each processor gets the C-APDU and a `send` function for the next link, and may send more than
once (GET RESPONSE after 61xx, a resend after 6Cxx). They note what they did in the trace, so a
report shows "auto GET RESPONSE" next to the exchanges it caused; the exchanges themselves are
traced one by one at the wire. The GET RESPONSE and 6Cxx links are the terminal's own
(terminal/transport.py): the tester adds its notes, an on/off switch, the raw bypass and the case
timeout around them, not a second copy. A `transport: raw` step skips
every bypassable processor and sees the card's 61xx/6Cxx itself; tracing is never skipped.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from terminal.transport import GetResponse, RetryWrongLength, Send, compose

from .transport import TransportError


class Cancelled(Exception):
    """The case ran out of time; raised before the next APDU goes to the card."""


@dataclass
class TraceEntry:
    kind: str  # exchange | note | error | reset
    time: str  # ISO 8601 UTC wall-clock time
    command: bytes | None = None
    response: bytes | None = None
    duration: float = 0.0  # seconds on the wire
    text: str = ""


@dataclass
class Trace:
    """Every exchange of a run, in order, with timestamps: the APDU trace."""

    entries: list[TraceEntry] = field(default_factory=list)
    atr: bytes = b""
    protocol: str = "T=1"
    reader: str = ""

    def add(self, kind: str, **fields) -> TraceEntry:
        entry = TraceEntry(kind, datetime.now(timezone.utc).isoformat(timespec="milliseconds"), **fields)
        self.entries.append(entry)
        return entry

    def note(self, text: str) -> None:
        self.add("note", text=text)

    def mark(self) -> int:
        return len(self.entries)

    def since(self, mark: int) -> list[TraceEntry]:
        return self.entries[mark:]

    def exchanges(self) -> list[TraceEntry]:
        return [e for e in self.entries if e.kind == "exchange"]


class Processor:
    bypassable = True  # skipped for raw steps

    def process(self, apdu: bytes, send: Send) -> bytes:  # pragma: no cover - interface
        raise NotImplementedError


class GetResponseProcessor(GetResponse, Processor):
    """61xx: terminal.transport.GetResponse, each GET RESPONSE noted in the trace; off = not sent."""

    def __init__(self, trace: Trace | None = None, enabled: bool = True, max_rounds: int = 32):
        super().__init__(max_rounds if enabled else 0, _noter(trace))
        self.trace, self.enabled = trace, enabled


class WrongLengthRetryProcessor(RetryWrongLength, Processor):
    """6Cxx: terminal.transport.RetryWrongLength (spec §4.2), the resend noted in the trace."""

    def __init__(self, trace: Trace | None = None, enabled: bool = True):
        super().__init__(_noter(trace))
        self.trace, self.enabled = trace, enabled

    def process(self, apdu: bytes, send: Send) -> bytes:
        return super().process(apdu, send) if self.enabled else send(apdu)


class TracingProcessor(Processor):
    """Records every exchange on the wire (after the other processors) with time and duration."""

    bypassable = False

    def __init__(self, trace: Trace):
        self.trace = trace

    def process(self, apdu: bytes, send: Send) -> bytes:
        start = time.perf_counter()
        try:
            response = send(apdu)
        except Exception as exc:
            self.trace.add("error", command=apdu, duration=time.perf_counter() - start, text=str(exc))
            raise
        self.trace.add("exchange", command=apdu, response=response, duration=time.perf_counter() - start)
        return response


class Chain:
    """The transport behind its processors, outermost first: `Chain(t, [GetResponse(), Tracing(tr)])`."""

    def __init__(self, transport, processors: list[Processor], cancel: threading.Event | None = None):
        self.transport = transport
        self.processors = list(processors)
        self.cancel = cancel

    def transmit(self, apdu: bytes, raw: bool = False) -> bytes:
        links = [p for p in self.processors if not (raw and getattr(p, "bypassable", True))]
        return compose([_Checked(p) for p in links], self._wire)(bytes(apdu))

    def _wire(self, apdu: bytes) -> bytes:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("case timeout: stopped before sending " + apdu.hex().upper())
        return _with_status_word(self.transport.transmit(apdu))


class _Checked:
    """A processor whose answer must carry a status word too (a processor may build its own)."""

    def __init__(self, processor):
        self.processor = processor

    def process(self, apdu: bytes, send: Send) -> bytes:
        return _with_status_word(self.processor.process(apdu, send))


def _with_status_word(response: bytes) -> bytes:
    """No card answers without SW1 SW2: a shorter answer is a transport fault (not the card's FAIL)."""
    if len(response) < 2:
        raise TransportError(f"malformed answer {response.hex().upper() or '(empty)'}: "
                             f"{len(response)} byte(s), no status word")
    return response


def _noter(trace: Trace | None):
    return None if trace is None else trace.note


def standard_chain(transport, trace: Trace, get_response: bool = True, retry_6c: bool = True,
                   cancel: threading.Event | None = None) -> Chain:
    """The runner's chain: GET RESPONSE outermost, then 6Cxx retry, then tracing at the wire."""
    return Chain(transport, [GetResponseProcessor(trace, get_response), WrongLengthRetryProcessor(trace, retry_6c),
                             TracingProcessor(trace)], cancel)
