"""The LD/T 33 functions under their own names (ssc-terminal.md §4.4, §4.6): each returns
`(0, result)` or `(code, message)` and never raises, as the DLL's `long f(…, char* pOutInfo)` does.

Bind them to a Terminal once (`ldt33.bind(terminal)`), or pass the terminal as the first argument.
"""

from __future__ import annotations

import functools
import logging

from .errors import MESSAGES, TerminalError
from .terminal import Terminal

log = logging.getLogger(__name__)
INTERNAL = -11  # a fault below the terminal (a reader's own error): 读卡器连接错


def _never_raises(function):
    @functools.wraps(function)
    def run(terminal: Terminal, *args) -> tuple[int, str]:
        try:
            return 0, function(terminal, *args)
        except TerminalError as exc:  # -51 carries N, the tries left, in its message (§4.4.4)
            return exc.code, exc.message
        except Exception as exc:  # the DLL contract: a code, whatever happened underneath
            log.exception("LD/T 33 %s failed", function.__name__)
            return INTERNAL, f"{MESSAGES[INTERNAL]}: {exc}"
    return run


@_never_raises
def iReadCardBas(terminal: Terminal, iType: int) -> str:
    return terminal.read_card_bas(iType).to_ldt33()


@_never_raises
def iReadCard(terminal: Terminal, iType: int, iAuthType: int, pCardInfo: str, pFileAddr: str) -> str:
    return terminal.read_card(iType, iAuthType, pCardInfo, pFileAddr)


@_never_raises
def iWriteCard(terminal: Terminal, iType: int, pCardInfo: str, pFileAddr: str, pWriteData: str) -> str:
    terminal.write_card(iType, pCardInfo, pFileAddr, pWriteData)
    return ""


@_never_raises
def iVerifyPIN(terminal: Terminal, iType: int) -> str:
    terminal.verify_pin(iType)
    return ""


@_never_raises
def iChangePIN(terminal: Terminal, iType: int) -> str:
    terminal.change_pin(iType)
    return ""


@_never_raises
def iReloadPIN(terminal: Terminal, iType: int, pCardInfo: str) -> str:
    terminal.reload_pin(iType, pCardInfo)
    return ""


@_never_raises
def iUnblockPIN(terminal: Terminal, iType: int, pCardInfo: str) -> str:
    terminal.unblock_pin(iType, pCardInfo)
    return ""


@_never_raises
def iReadCardBas_HSM_Step1(terminal: Terminal, iType: int) -> str:
    return terminal.read_card_bas_hsm_step1(iType)


@_never_raises
def iReadCardBas_HSM_Step2(terminal: Terminal, pKey: str) -> str:
    return terminal.read_card_bas_hsm_step2(pKey).to_ldt33()


FUNCTIONS = (iReadCardBas, iReadCard, iWriteCard, iVerifyPIN, iChangePIN, iReloadPIN, iUnblockPIN,
             iReadCardBas_HSM_Step1, iReadCardBas_HSM_Step2)


class Bound:
    """The functions with the terminal filled in: `lib = ldt33.bind(t); lib.iReadCardBas(1)`."""

    def __init__(self, terminal: Terminal):
        for function in FUNCTIONS:
            setattr(self, function.__name__, functools.partial(function, terminal))


def bind(terminal: Terminal) -> Bound:
    return Bound(terminal)
