"""The terminal side of the social security card (docs/spec/ssc-terminal.md): sessions per card
application over any slot, the PSAM client, and the LD/T 33 terminal functions.

Uses only a transport (bytes in, bytes out) and the crypto primitives of simulator.crypto, so the
same code drives an emulated card, a card in a PC/SC reader and a physical PSAM.
"""

from .errors import (ApduError, CardAuthError, CardMismatchError, CardStatusError, HsmNotNeeded, ParamError,
                     PinBlockedError, PinEntryError, PinError, PsamError, ReaderError, TerminalError)
from .hsm import Hsm, StubHsm
from .keys import KeySet
from .pki import PkiSession
from .psam import PsamKeys, PsamSession
from .session import Session
from .ssse import SsseSession
from .terminal import CardBasic, Terminal
from .transport import Channel, Slot

__all__ = [
    "ApduError", "CardAuthError", "CardBasic", "CardMismatchError", "CardStatusError", "Channel", "Hsm",
    "HsmNotNeeded", "KeySet", "ParamError", "PinBlockedError", "PinEntryError", "PinError", "PkiSession",
    "PsamError", "PsamKeys", "PsamSession", "ReaderError", "Session", "Slot", "SsseSession", "StubHsm",
    "Terminal", "TerminalError",
]
