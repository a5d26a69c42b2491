"""The LD/T 33 parameter and result strings (ssc-terminal.md §4.3): pCardInfo, pFileAddr,
pWriteData and the iReadCard output; each wrong string raises ParamError naming what is wrong."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ParamError

_GROUP = re.compile(r"^(SSSE|3F00|DF0[1-7])(EF[0-9A-F]{2})$")
_CARD_ID = re.compile(r"^[0-9A-F]{32}$")


def check_itype(itype) -> int:
    """1 contact, 2 contactless, 3 auto contact first, 4 auto contactless first; other -> -1."""
    if not isinstance(itype, int) or isinstance(itype, bool) or itype not in (1, 2, 3, 4):
        raise ParamError(-1, f"iType must be 1, 2, 3 or 4, got {itype!r}")
    return itype


def _fields(text: str, what: str) -> list[str]:
    if not isinstance(text, str) or not text.endswith("|"):
        raise ParamError(-14, f"{what} must end with '|', got {text!r}")
    return text[:-1].split("|")


def card_info(text: str) -> tuple[str, str]:
    """pCardInfo = 卡识别码|卡号| -> (card ID as 32 uppercase hex, card number)."""
    fields = _fields(text, "pCardInfo")
    if len(fields) != 2:
        raise ParamError(-14, f"pCardInfo must be '<card ID>|<card number>|', got {text!r}")
    card_id = fields[0].strip().upper()
    if not _CARD_ID.match(card_id):
        raise ParamError(-20, f"card ID must be 32 hex digits, got {fields[0]!r}")
    return card_id, fields[1].strip()


@dataclass(frozen=True)
class Group:
    name: str        # as the caller wrote it: "SSSEEF05", "3F00EF06", "DF01EF05"
    df: str          # "SSSE" or "DF0n"
    ef: str          # "EF05"
    items: list[str]  # tags (pFileAddr) or values (pWriteData, iReadCard output)


def groups(text: str, what: str = "pFileAddr") -> list[Group]:
    """`<DF><EF>|a|b|…|$` repeated; DF SSSE (alias 3F00) or DF01…DF07."""
    if not isinstance(text, str) or not text.endswith("$"):
        raise ParamError(-14, f"{what} must be groups ending with '$', got {text!r}")
    out = []
    for part in text[:-1].split("$"):
        fields = _fields(part, f"{what} group {part!r}") if "|" in part else [part]
        match = _GROUP.match(fields[0].upper())
        if not match:
            raise ParamError(-14, f"{what}: {fields[0]!r} is not <DF><EF> (SSSE/3F00 or DF01-DF07, then EFxx)")
        df = "SSSE" if match.group(1) == "3F00" else match.group(1)
        out.append(Group(fields[0], df, match.group(2), fields[1:]))
    return out


def tags(group: Group) -> list[int]:
    """The record tags of a pFileAddr group (2 hex digits each)."""
    try:
        values = [int(t, 16) for t in group.items]
    except ValueError:
        raise ParamError(-14, f"pFileAddr group {group.name}: tags must be 2 hex digits, got {group.items}") from None
    if any(len(t) != 2 for t in group.items):
        raise ParamError(-14, f"pFileAddr group {group.name}: tags must be 2 hex digits, got {group.items}")
    return values


def render(result: list[tuple[str, list[str]]]) -> str:
    """`name|v|v|$name|v|$`: the iReadCard output (and the pWriteData form)."""
    return "".join(name + "|" + "".join(v + "|" for v in values) + "$" for name, values in result)
