"""Access conditions, keys, PINs and the security status (spec §5.1-§5.3)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

# A security-status entry: "PIN" (cardholder), "PIN(user)", "PIN(admin)", or (owner DF path, key number).
Entry = str | tuple[str, int]

# An access condition in disjunctive normal form: holds when one of the sets is inside the status.
# free = (frozenset(),), never = ().
Condition = tuple[frozenset, ...]

FREE: Condition = (frozenset(),)
NEVER: Condition = ()

_COND = re.compile(r"^(PIN(?:\((user|admin)\))?|key\(([0-9A-Fa-f]{2})\))$")


class ACError(ValueError):
    pass


def key_owner(ref: int, owner_df, ssse_path: str = "SSSE") -> tuple[str, int]:
    """Resolve a key reference (P2 encoding, §4.11 / PD-12) from the DF `owner_df`."""
    if ref & 0x80:
        return (owner_df.path, ref & 0x1F)
    if owner_df.app == "SSSE":
        return (ssse_path, ref & 0x1F)
    return (owner_df.path, ref & 0x1F)


def parse_ac(text: str, owner_df) -> Condition:
    """Parse the access-condition grammar of §5.2 into DNF, resolving key(id) from owner_df."""
    return _parse_ac(str(text).replace(" ", ""), _Owner(owner_df.path, owner_df.app))


@dataclass(frozen=True, slots=True)
class _Owner:  # what key resolution needs of a DF; hashable, so parsed conditions can be cached
    path: str
    app: str | None


@functools.lru_cache(maxsize=4096)
def _parse_ac(text: str, owner_df: _Owner) -> Condition:
    if text == "free":
        return FREE
    if text == "never":
        return NEVER
    m = re.fullmatch(r"(both|either)\((.+)\)", text)
    conds = m.group(2).split(",") if m else [text]
    entries = [_parse_cond(c, owner_df, text) for c in conds]
    if m and len(entries) < 2:
        raise ACError(f"{m.group(1)}() needs at least two conditions: {text!r}")
    if m and m.group(1) == "either":
        return tuple(frozenset((e,)) for e in entries)
    return (frozenset(entries),)


def _parse_cond(cond: str, owner_df, whole: str) -> Entry:
    m = _COND.match(cond)
    if not m:
        raise ACError(f"not an access condition: {cond!r} in {whole!r} (grammar: free, never, PIN, "
                      "PIN(user), PIN(admin), key(HH), both(...), either(...))")
    if m.group(3):
        return key_owner(int(m.group(3), 16), owner_df)
    return m.group(1)


def ac_text(cond: Condition) -> str:
    """Human form of a parsed condition, for `card show` and reports."""
    if cond == FREE:
        return "free"
    if cond == NEVER:
        return "never"

    def one(e: Entry) -> str:
        return e if isinstance(e, str) else f"key({e[0]}:{e[1]:02X})"

    if len(cond) == 1:
        parts = sorted(one(e) for e in cond[0])
        return parts[0] if len(parts) == 1 else f"both({','.join(parts)})"
    return f"either({','.join(one(next(iter(s))) for s in cond)})"


def holds(cond: Condition, status: set) -> bool:
    for need in cond:
        if need <= status:
            return True
    return False


@dataclass(slots=True)
class Key:
    """A key of a DF (§5.1): the card stores final, already diversified keys."""

    number: int
    label: str  # MK, IRK, UK, PUK, RPK, AMK, RK, ...
    role: str  # external | internal | mac
    scheme: str  # des-session | sm4-session | sm4-direct
    versions: dict[int, bytes]
    max_tries: int | None = None  # None: no try counter (answers 6300 on failure)
    tries: int | None = None
    attributes: bytes = b"\0\0\0"  # stored by 84D4, not interpreted

    @property
    def algorithm(self) -> str:
        return "3des" if self.scheme == "des-session" else "sm4"

    @property
    def blocked(self) -> bool:
        return self.tries is not None and self.tries <= 0


@dataclass(slots=True)
class Pin:
    """A PIN object: stored as the exact BCD bytes that must be presented."""

    value: bytes
    max_tries: int = 3
    tries: int = 3

    @property
    def blocked(self) -> bool:
        return self.tries <= 0


@dataclass(slots=True)
class SecurityState:
    """Volatile state of §5.3, cleared by DF selection, reset and power-off."""

    status: set = field(default_factory=set)
    challenge: bytes | None = None
    import_key: bytes | None = None  # PKI 804A
    export_ref: int | None = None  # PKI 80C9 first step

    def clear(self) -> None:
        self.status.clear()
        self.challenge = None
        self.import_key = None
        self.export_ref = None
