"""EchoCard: a do-nothing card with the Card API, the baseline for benchmarks and transport tests.

It answers every C-APDU with its data field (if any) followed by 9000, so the time it takes is
the cost of the transport alone. It counts power events so tests can see what a reader did.
"""

from __future__ import annotations

import threading
from collections import deque

# A T=0 ATR in the shape of spec §6 with a made-up generation byte (EE) so nobody mistakes it
# for an emulated social security card.
ECHO_ATR = bytes.fromhex("3B6D0000008100535343EE00000000EC60")


class EchoCard:
    """Answers data-field ‖ 9000 to every C-APDU; never raises, never answers empty."""

    def __init__(self, atr: bytes = ECHO_ATR):
        if not 2 <= len(atr) <= 33:
            raise ValueError(f"an ATR has 2-33 bytes, got {len(atr)}")
        self._atr = bytes(atr)
        self.powered = False
        # Bounded so a long-running server does not grow without end.
        self.events: deque[str] = deque(maxlen=4096)  # "power_on", "power_off", "reset"
        self.commands: deque[bytes] = deque(maxlen=4096)  # C-APDUs received, for transport tests
        self.closed = False
        self._lock = threading.Lock()

    @property
    def atr(self) -> bytes:
        return self._atr

    def power_on(self) -> bytes:
        with self._lock:
            self.powered = True
            self.events.append("power_on")
        return self._atr

    def reset(self) -> bytes:
        with self._lock:
            self.powered = True
            self.events.append("reset")
        return self._atr

    def power_off(self) -> None:
        with self._lock:
            self.powered = False
            self.events.append("power_off")

    def transmit(self, capdu: bytes) -> bytes:
        capdu = bytes(capdu)
        with self._lock:
            self.commands.append(capdu)
        # Short case 3/4: CLA INS P1 P2 Lc data [Le]; anything else has no data to echo.
        if len(capdu) > 5 and capdu[4] and len(capdu) >= 5 + capdu[4]:
            return capdu[5 : 5 + capdu[4]] + b"\x90\x00"
        return b"\x90\x00"

    def close(self) -> None:
        self.closed = True
