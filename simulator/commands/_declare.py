"""How a command family declares its commands: `@command(name, CLA, INS, ...)` on the handler.

The decorator only marks the handler; `commands.REGISTRY` is built from the families that
`commands/__init__.py` lists, so nothing is registered by importing a module.
"""

from __future__ import annotations

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
    p1: int | None = None  # set when commands share CLA and INS and P1 tells them apart (ByP1)
    own_le: bool = False  # the handler applies Le itself (READ BINARY, GET CHALLENGE, GET RESPONSE)


def command(name: str, cla: int, ins: int, **kw) -> Callable:
    def declare(fn: Callable) -> Callable:
        fn.command = Command(name, cla, ins, fn, **kw)
        return fn

    return declare
