"""Fault injection for testing the runner: a seeded chaos processor between the tester and the card.

    chaos = ChaosProcessor(ChaosConfig(seed=7, drop=0.01, garbage=0.01, truncate=0.01, remove_at=300))
    Runner(suite, chaos.wrap(EmulatedTransport(card)), described).run()

Per exchange it may, as a bad reader or a bad card would:

- delay the exchange (`delay` probability, `delay_s` seconds: may be longer than the case timeout),
- drop the answer: the command reaches the card, the answer is lost (TransportError, as a reader
  says when the card does not answer),
- answer garbage: a random R-APDU whose SW1 is not 6x/9x (no expectation can accept it, but a
  card could send it: FAIL), or the card's answer truncated to 0 or 1 byte (no status word: no
  card can answer that, so the chain raises TransportError and the case is not FAILed),
- pull the card at exchange `remove_at`: "card removed" from then on, until a reset puts it back
  (`reinsert_on_reset`) or for good.

It is a Processor and can sit in any Chain; the runner builds its own chain per case and resets
the card outside any chain, so `wrap(transport)` puts it at the wire end as a Transport that also
sees resets. Every fault is logged with the case it happened in when the run's events are passed
to `observe` (`runner.run(on_event=chaos.observe)`).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field, fields

from .processors import Processor, Send
from .transport import Transport, TransportError

KINDS = ("delay", "drop", "garbage", "truncate")


@dataclass
class ChaosConfig:
    seed: int = 0
    delay: float = 0.0  # probability per exchange
    delay_s: tuple[float, float] = (0.01, 0.05)  # uniform range of a delay, seconds
    drop: float = 0.0
    garbage: float = 0.0
    truncate: float = 0.0
    remove_at: int | None = None  # 1-based exchange number at which the card is pulled
    reinsert_on_reset: bool = False

    def __post_init__(self):
        for name in KINDS:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"chaos: {name} is a probability (0..1), got {getattr(self, name)}")
        if sum(getattr(self, name) for name in KINDS) > 1.0:
            raise ValueError("chaos: the fault probabilities add up to more than 1")
        low, high = self.delay_s
        if not 0.0 <= low <= high:
            raise ValueError(f"chaos: bad delay range {self.delay_s}")
        if self.remove_at is not None and self.remove_at < 1:
            raise ValueError("chaos: remove_at counts exchanges from 1")


@dataclass(frozen=True)
class Fault:
    number: int  # exchange number (0 for a reset)
    kind: str  # delay | drop | garbage | truncate | removed | pulled | reinserted | reset-refused
    case: str  # the case running when it happened ("" between cases or when no events are observed)
    command: bytes = b""
    detail: str = ""
    seconds: float = 0.0  # for delays


@dataclass
class ChaosProcessor(Processor):
    config: ChaosConfig = field(default_factory=ChaosConfig)
    faults: list[Fault] = field(default_factory=list)
    bypassable = False  # a raw step goes over the same faulty wire

    def __post_init__(self):
        self._rng = random.Random(self.config.seed)
        self._lock = threading.Lock()
        self.exchanges = 0
        self.removed = False
        self.case = ""  # the case running now (from the runner's events)

    def process(self, apdu: bytes, send: Send) -> bytes:
        config = self.config
        with self._lock:  # a timed-out worker may still be sending: keep the draws in order
            self.exchanges += 1
            number = self.exchanges
            if config.remove_at == number and not self.removed:
                self.removed = True
                self._log(number, "pulled", apdu)
            if self.removed:
                self._log(number, "removed", apdu)
                raise TransportError(f"card removed (chaos: pulled at exchange {config.remove_at})")
            kind = self._draw()
            seconds = self._rng.uniform(*config.delay_s) if kind == "delay" else 0.0
            garbage = self._garbage() if kind == "garbage" else b""
            keep = self._rng.randrange(2) if kind == "truncate" else 0
        if kind == "delay":
            self._log(number, kind, apdu, f"{seconds:.3f} s", seconds)
            time.sleep(seconds)
        response = send(apdu)  # the card gets the command in every case: it may have acted on it
        if kind == "drop":
            self._log(number, kind, apdu, f"answer {response.hex().upper()} lost")
            raise TransportError(f"card did not answer (chaos: answer to exchange {number} dropped)")
        if kind == "garbage":
            self._log(number, kind, apdu, f"{response.hex().upper()} -> {garbage.hex().upper()}")
            return garbage
        if kind == "truncate":
            self._log(number, kind, apdu, f"{response.hex().upper()} -> {response[:keep].hex().upper()}")
            return response[:keep]
        return response

    def before_reset(self) -> None:
        """A reset (or a power cycle): puts a pulled card back, or fails as a reader with no card does."""
        with self._lock:
            if not self.removed:
                return
            if self.config.reinsert_on_reset:
                self.removed = False
                self._log(0, "reinserted")
                return
            self._log(0, "reset-refused")
        raise TransportError("card removed (chaos): no card in the reader")

    def observe(self, event) -> None:
        """A runner event: faults from a case_started to its case_done are that case's."""
        kind = getattr(event, "kind", "")
        if kind == "case_started":
            self.case = event.case_id
        elif kind == "case_done":
            self.case = ""

    def wrap(self, transport: Transport) -> "ChaosTransport":
        return ChaosTransport(transport, self)

    def faulted_cases(self) -> set[str]:
        """Cases that saw a fault that changes the answer (delays do not; they can only time out)."""
        return {f.case for f in self.faults if f.case and f.kind in ("drop", "garbage", "truncate", "removed")}

    def delays(self) -> dict[str, float]:
        """Seconds of injected delay per case."""
        total: dict[str, float] = {}
        for fault in self.faults:
            if fault.kind == "delay" and fault.case:
                total[fault.case] = total.get(fault.case, 0.0) + fault.seconds
        return total

    def _draw(self) -> str:
        roll = self._rng.random()
        for kind in KINDS:
            roll -= getattr(self.config, kind)
            if roll < 0:
                return kind
        return ""

    def _garbage(self) -> bytes:
        # SW1 outside 6x/9x: ISO 7816-4 forbids it, so no vector expects it and it cannot pass by luck.
        body = self._rng.randbytes(self._rng.randrange(0, 40))
        sw1 = self._rng.choice([b for b in range(256) if b >> 4 not in (6, 9)])
        return body + bytes((sw1, self._rng.randrange(256)))

    def _log(self, number: int, kind: str, command: bytes = b"", detail: str = "", seconds: float = 0.0) -> None:
        self.faults.append(Fault(number, kind, self.case, bytes(command), detail, seconds))


class ChaosTransport(Transport):
    """A transport behind a chaos processor: transmit goes through it, reset/restore consult it."""

    def __init__(self, inner: Transport, chaos: ChaosProcessor):
        self.inner, self.chaos = inner, chaos
        self.name = f"{getattr(inner, 'name', 'transport')} (chaos seed {chaos.config.seed})"
        self.protocol = getattr(inner, "protocol", "T=1")
        if callable(getattr(inner, "restore", None)):  # the runner runs destructive cases only then
            self.restore = self._restore

    @property
    def atr(self) -> bytes:
        return self.inner.atr

    def transmit(self, apdu: bytes) -> bytes:
        return self.chaos.process(bytes(apdu), self.inner.transmit)

    def reset(self) -> bytes:
        self.chaos.before_reset()
        return self.inner.reset()

    def _restore(self) -> bytes:
        self.chaos.before_reset()
        return self.inner.restore()

    def close(self) -> None:
        self.inner.close()


def parse_spec(spec: str) -> ChaosConfig:
    """`seed=7,drop=0.01,garbage=0.01,truncate=0.01,delay=0.02,delay_s=0.1:2,remove_at=300,reinsert`."""
    known = {f.name for f in fields(ChaosConfig)}
    values: dict = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, text = item.partition("=")
        name = name.strip().replace("-", "_")
        name = {"remove": "remove_at", "reinsert": "reinsert_on_reset"}.get(name, name)
        if name not in known:
            raise ValueError(f"chaos: unknown setting {name!r} (known: {', '.join(sorted(known))})")
        try:
            if name == "reinsert_on_reset":
                values[name] = text.strip().lower() not in ("0", "no", "false")
            elif name in ("seed", "remove_at"):
                values[name] = int(text)
            elif name == "delay_s":
                low, _, high = text.partition(":")
                values[name] = (float(low), float(high or low))
            else:
                values[name] = float(text)
        except ValueError:
            raise ValueError(f"chaos: bad value for {name}: {text!r}") from None
    return ChaosConfig(**values)
