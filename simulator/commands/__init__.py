"""Command handlers, one module per family; each declares its CLA/INS and the table is built from them."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

EVERYWHERE, SSSE_TREE, PKI_APP = "everywhere", "SSSE", "PKI"


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    cla: int
    ins: int
    handler: Callable
    data: str = "optional"  # "none" | "required" | "optional": the APDU case check of §4.3 step 4
    where: str = EVERYWHERE  # §4.4 "Where"
    in_blocked_app: bool = False  # allowed while the current application is temporarily blocked
    p1: int | None = None  # INS 20 only: dispatched on P1
    own_le: bool = False  # the handler applies Le itself (READ BINARY, GET CHALLENGE, GET RESPONSE)


REGISTRY: list[Command] = []


def command(name: str, cla: int, ins: int, **kw) -> Callable:
    def declare(fn: Callable) -> Callable:
        REGISTRY.append(Command(name, cla, ins, fn, **kw))
        return fn

    return declare


def dispatch_table() -> dict[int, dict[int, Command | dict[int, Command]]]:
    """INS -> CLA -> Command; INS 20 with CLA 00 maps P1 -> Command (P1 01 = PKI VERIFY)."""
    from . import auth, binary, lifecycle, pin, records, response, select  # noqa: F401  (declare)

    try:
        from . import pki  # noqa: F401
    except ImportError:  # pragma: no cover - the PKI family lands with its own issue
        pass
    table: dict = {}
    for cmd in REGISTRY:
        by_cla = table.setdefault(cmd.ins, {})
        if cmd.p1 is None:
            by_cla[cmd.cla] = cmd
        else:
            by_cla.setdefault(cmd.cla, {})[cmd.p1] = cmd
    return table


def command_name(apdu: bytes) -> str:
    """The name the card gives a C-APDU's command, resolved as the card dispatches it (INS 20 by P1)."""
    if len(apdu) < 2:
        return "(too short)"
    cmd = _table().get(apdu[1], {}).get(apdu[0])
    if isinstance(cmd, dict):
        cmd = cmd.get(apdu[2] if len(apdu) > 2 else 0) or cmd[0]
    if cmd is None:
        return f"CLA {apdu[0]:02X} INS {apdu[1]:02X}"
    if (cmd.cla, cmd.ins) == (0x80, 0x5E):  # one INS, two commands told apart by P1 (§4.14, §4.15)
        return "RELOAD PIN" if len(apdu) > 2 and apdu[2] == 0x00 else "CHANGE PIN"
    return cmd.name


@functools.cache
def _table():
    return dispatch_table()


def names() -> dict[tuple[int, int], str]:
    """(CLA, INS) -> command name, for traces."""
    dispatch_table()
    return {(c.cla, c.ins): c.name for c in REGISTRY}
