"""Card after card in one reader: wait for a card, run, name its report, wait for it to leave.

The waits ask pcscd (SCardGetStatusChange) in short rounds, so that Ctrl-C and a `stop` event are
seen within a round; nothing sleeps a fixed time. `card_name` names a card by what it says of
itself: the region and serial of the project's ATR (spec §6), else the whole ATR.
"""

from __future__ import annotations

import time
from typing import Callable

from simulator.atr import ssc_fields

from .transport import TransportError

ROUND_MS = 250  # one SCardGetStatusChange round: how soon a stop request is seen


def wait_for_card(reader: str, present: bool = True, timeout: float | None = None,
                  stop: Callable[[], bool] | None = None) -> bytes | None:
    """Block until `reader` holds a card (present=True: its ATR is returned) or is empty (b"").
    None when `timeout` seconds pass or `stop()` says so. TransportError when pcscd or the reader
    cannot be asked."""
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        raise TransportError(f"cannot reach pcscd: {scard.SCardGetErrorMessage(hresult)}", fatal=True)
    deadline = None if timeout is None else time.monotonic() + timeout
    state = scard.SCARD_STATE_UNAWARE
    try:
        while True:
            hresult, states = scard.SCardGetStatusChange(context, ROUND_MS, [(reader, state)])
            if hresult == scard.SCARD_S_SUCCESS:
                _name, state, atr = states[0]
                if bool(state & scard.SCARD_STATE_PRESENT) == present and not state & scard.SCARD_STATE_MUTE:
                    return bytes(atr) if present else b""
                if state & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
                    raise TransportError(f"unknown reader {reader!r}", fatal=True)
                state &= ~scard.SCARD_STATE_CHANGED
            elif hresult != scard.SCARD_E_TIMEOUT:
                raise TransportError(f"{reader}: {scard.SCardGetErrorMessage(hresult)}", fatal=True)
            if stop is not None and stop():
                return None
            if deadline is not None and time.monotonic() >= deadline:
                return None
    finally:
        scard.SCardReleaseContext(context)


def card_name(atr: bytes) -> str:
    """A file-name-safe name for a card: "card-<region>-<serial>" from the project's ATR, else
    "atr-<ATR hex>" (a card that does not carry the project's historical bytes)."""
    fields = ssc_fields(atr)
    if fields is not None:
        return f"card-{fields.region.hex().upper()}-{fields.serial.hex().upper()}"
    return f"atr-{bytes(atr).hex().upper()}"


def unique(name: str, taken: set) -> str:
    """`name`, or `name-2`, `name-3`… when a card comes back in the same batch."""
    chosen, n = name, 1
    while chosen in taken:
        n += 1
        chosen = f"{name}-{n}"
    taken.add(chosen)
    return chosen
