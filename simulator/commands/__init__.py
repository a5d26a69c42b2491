"""The card's commands: the families, listed here, and the dispatch table built from them.

Each family module declares its commands with `@command` (see `_declare`). One rule for
commands that share a CLA and INS (VERIFY and PKI VERIFY on 00 20, CHANGE PIN and RELOAD PIN on
80 5E): each declares its P1, and `ByP1` picks the one P1 names; a P1 that none declares gets the
first one's checks of where and APDU case, then 6A86 (§4.3 order of checks).
"""

from __future__ import annotations

import functools
from dataclasses import replace

from ..sw import CardStatus
from . import auth, binary, lifecycle, pin, pki, pki_keys, records, response, select
from ._declare import EVERYWHERE, PKI_APP, SSSE_TREE, Command, command

FAMILIES = (select, binary, records, response, auth, pin, lifecycle, pki, pki_keys)
REGISTRY: list[Command] = [fn.command for family in FAMILIES for fn in vars(family).values()
                           if isinstance(getattr(fn, "command", None), Command) and fn.__module__ == family.__name__]


def _wrong_p1(card, apdu):
    raise CardStatus(0x6A86)


class ByP1:
    """Commands sharing CLA and INS, told apart by P1."""

    __slots__ = ("by_p1", "other")

    def __init__(self, commands: list[Command]):
        self.by_p1 = {cmd.p1: cmd for cmd in commands}
        self.other = replace(commands[0], handler=_wrong_p1)

    def resolve(self, p1: int) -> Command:
        return self.by_p1.get(p1, self.other)


def dispatch_table() -> dict[int, dict[int, Command | ByP1]]:
    """INS -> CLA -> Command, or ByP1 where commands share the CLA and INS."""
    grouped: dict[tuple[int, int], list[Command]] = {}
    for cmd in REGISTRY:
        grouped.setdefault((cmd.ins, cmd.cla), []).append(cmd)
    table: dict = {}
    for (ins, cla), cmds in grouped.items():
        if len(cmds) > 1 and any(c.p1 is None for c in cmds):
            raise ValueError(f"CLA {cla:02X} INS {ins:02X}: commands sharing it must each declare P1")
        table.setdefault(ins, {})[cla] = ByP1(cmds) if len(cmds) > 1 else cmds[0]
    return table


def command_name(apdu: bytes) -> str:
    """The name the card gives a C-APDU's command, resolved as the card dispatches it."""
    if len(apdu) < 2:
        return "(too short)"
    cmd = _table().get(apdu[1], {}).get(apdu[0])
    if isinstance(cmd, ByP1):
        cmd = cmd.resolve(apdu[2] if len(apdu) > 2 else 0)
    if cmd is None:
        return f"CLA {apdu[0]:02X} INS {apdu[1]:02X}"
    return cmd.name


@functools.cache
def _table():
    return dispatch_table()


__all__ = ["EVERYWHERE", "PKI_APP", "SSSE_TREE", "ByP1", "Command", "command", "command_name", "dispatch_table"]
