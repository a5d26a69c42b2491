"""How much work a vector may make the tester do, and how much of a user's value a message shows.

Vector files, card descriptions, recorded sessions and card answers are outside input. Evaluating
them is bounded so that a hostile or careless one ends as a clear ERROR, never as a hang, a
gigabyte of memory or a report nobody can open:

- a template's result, and every value inside it, is at most MAX_VALUE bytes (the longest
  extended APDU); sizes that can be known from the text are checked when the file loads;
- a regex has at most MAX_REGEX characters and expands to at most MAX_REGEX_SIZE items (`regex`
  expands counted repeats when it compiles); a match gets REGEX_TIMEOUT seconds (or the case's
  time left, if less), then the step is ERROR;
- a case has its time (`timeout:`, `sscard run --timeout`) on every transport, checked before each
  APDU and reset, and records at most MAX_CASE_EXCHANGES exchanges and MAX_CASE_BYTES bytes
  (commands, answers and rendered expectations), so a report stays small;
- a message quotes at most about CLIP characters of a value, with its full length.
"""

from __future__ import annotations

import re
import time

from simulator.quote import CLIP, clip, clip_hex, shorten  # noqa: F401  (one quoting rule for every message)

from .processors import Cancelled

MAX_VALUE = 4 + 3 + 65535 + 2  # bytes: header, extended Lc, 65,535 data bytes, extended Le
REGEX_TIMEOUT = 1.0  # seconds per regex match
MAX_REGEX = 1000  # characters of a regex
MAX_REGEX_SIZE = 20_000  # items of a regex with its counted repeats written out
# What one case may record; the suite's largest case makes 22 exchanges and records 2.8 KB. A whole
# 64 KiB EF read 256 bytes at a time fits; a report stays a few MB per case at worst.
MAX_CASE_EXCHANGES = 1000  # APDUs and resets
MAX_CASE_BYTES = 512 * 1024  # commands, answers and rendered expectations


class CaseLimits:
    """One case's time and recording budget, checked before each APDU and reset (LimitedTransport).
    `set()` stops the case from outside: the runner's watchdog, when a transmit does not return."""

    def __init__(self, seconds: float | None = None, max_exchanges: int = MAX_CASE_EXCHANGES,
                 max_bytes: int = MAX_CASE_BYTES):
        self.deadline = None if not seconds else time.monotonic() + seconds
        self.max_exchanges, self.max_bytes = max_exchanges, max_bytes
        self.exchanges = self.bytes = 0
        self._stopped = False

    def set(self) -> None:
        self._stopped = True

    @property
    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def time_left(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def charge(self, size: int) -> None:
        """Bytes the case recorded besides the wire (rendered expectations)."""
        self.bytes += size

    def before(self, apdu: bytes | None) -> None:
        """Called before an APDU (None: a reset) goes out; raises Cancelled when the case must stop."""
        size = 0 if apdu is None else len(apdu)
        if self._stopped or self.expired:
            raise Cancelled(f"case timeout: stopped before {_what(apdu)}")
        if self.exchanges >= self.max_exchanges:
            raise Cancelled(f"case stopped before {_what(apdu)}: it made {self.exchanges} exchanges, "
                            f"the most one case may make")
        if self.bytes + size > self.max_bytes:
            raise Cancelled(f"case stopped before {_what(apdu)}: it would record more than {self.max_bytes} bytes "
                            f"of APDUs and expectations, the most one case may record")
        self.exchanges += 1
        self.bytes += size


def _what(apdu: bytes | None) -> str:
    return "a reset" if apdu is None else f"sending {clip_hex(apdu)}"


class LimitedTransport:
    """The runner's transport as one case sees it: each APDU and reset checked against the case's
    limits first, so a case stops at its time on every transport, in-process ones included."""

    def __init__(self, transport, limits: CaseLimits):
        self._transport, self._limits = transport, limits

    def __getattr__(self, name):
        return getattr(self._transport, name)

    @property
    def atr(self) -> bytes:
        return self._transport.atr

    def transmit(self, apdu: bytes) -> bytes:
        self._limits.before(apdu)
        response = self._transport.transmit(apdu)
        self._limits.charge(len(response))
        return response

    def reset(self) -> bytes:
        self._limits.before(None)
        return self._transport.reset()


class RegexTimeout(ValueError):
    """A regex took longer than its time on an answer (it backtracks without end)."""


def compile_regex(pattern: str):
    """A vector's regex for the `regex` engine (it can stop a match at a timeout, `re` cannot).
    Raises ValueError for a bad, long or hugely expanding one (`(?:a{65535}){65535}`)."""
    import regex

    if len(pattern) > MAX_REGEX:
        raise ValueError(f"regex of {len(pattern)} characters, over the limit of {MAX_REGEX}")
    try:  # Python's own parser: the syntax check, and a tree to measure without expanding it
        size = _expanded(re._parser.parse(pattern))
    except re.error as exc:
        raise ValueError(f"bad regex: {exc}") from None
    except RecursionError:
        raise ValueError("bad regex: nested too deep") from None
    if size > MAX_REGEX_SIZE:
        raise ValueError(f"regex expands to {size} items (its counted repeats written out), "
                         f"over the limit of {MAX_REGEX_SIZE}")
    try:
        return regex.compile(pattern)
    except regex.error as exc:
        raise ValueError(f"bad regex: {exc}") from None


def regex_search(compiled, text: str, seconds: float) -> bool:
    """Whether the regex matches somewhere in `text`; RegexTimeout after `seconds`."""
    try:
        return compiled.search(text, timeout=seconds) is not None
    except TimeoutError:
        raise RegexTimeout(f"regex {clip(compiled.pattern)} took more than {seconds:.2g} s on an answer of "
                           f"{len(text)} hex digits and was stopped: it backtracks without end "
                           f"(a nested repeat such as (X+)+ needs rewriting)") from None


_REPEATS = {re._constants.MAX_REPEAT, re._constants.MIN_REPEAT, getattr(re._constants, "POSSESSIVE_REPEAT", None)}


def _expanded(node) -> int:
    """Items of a parsed regex once `x{n}` is written out as n copies of x (sizes multiply when nested)."""
    if isinstance(node, re._parser.SubPattern):
        return sum(_expanded(item) for item in node.data)
    if isinstance(node, tuple) and len(node) == 2 and node[0] in _REPEATS:
        low, high, sub = node[1]
        return 1 + max(1, low if high == re._constants.MAXREPEAT else high) * _expanded(sub)
    if isinstance(node, (tuple, list)):
        return sum(_expanded(item) for item in node) or 1
    return 0
