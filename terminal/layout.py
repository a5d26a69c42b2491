"""What the terminal knows of the card's files (card §2.3, §2.5), from the profile data the emulator
is built from (simulator/profiles/ssc.yaml): SFI, structure, item formats, read and write access
conditions of the EFs that iReadCard / iWriteCard address as `<DF><EF>`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from simulator.profile import profile_data

_KEY = re.compile(r"key\(([0-9A-Fa-f]{2})\)")
G3_READ = "key(0A)"  # the default g3_read_key switch (card PD-24)


@dataclass(frozen=True)
class Access:
    """An access condition as the terminal must meet it."""

    pin: bool = False
    key: int | None = None
    both: bool = False  # both(PIN, key); else either one (or the only one named)

    @classmethod
    def parse(cls, text: str) -> "Access":
        found = _KEY.search(text)
        return cls("PIN" in text, int(found.group(1), 16) if found else None, text.startswith("both"))


@dataclass(frozen=True)
class EfInfo:
    df: str             # "SSSE", "DF01" … "DF07"
    ef: str             # "EF05"
    sfi: int
    structure: str      # tlv | linear | cyclic | transparent | dir
    formats: dict = field(default_factory=dict)  # tag (int) -> "an30" …
    read: Access = Access()
    write: Access = Access()


def _value(v, generation: int):
    """A per-generation mapping {1: .., 3: ..} resolved; `$g3_read` as the default profile has it."""
    if isinstance(v, dict) and v and all(isinstance(k, int) for k in v):
        older = [k for k in v if k <= generation]
        v = v.get(generation, v[max(older)] if older else None)
    return G3_READ if v == "$g3_read" else v


def _present(entry: dict, generation: int) -> bool:
    return generation in entry.get("gens", (1, 2, 3))


def _strictest(acs: list[str]) -> Access:
    parsed = [Access.parse(a) for a in acs if a and a != "free"]
    return max(parsed, key=lambda a: (a.key is not None) + a.pin + a.both, default=Access())


def ef_info(df: str, ef: str, generation: int) -> EfInfo | None:
    """The EF `ef` of `df` ("SSSE" or "DF0n") on a card of this generation, None if the profile has none."""
    for entry in profile_data()["tree"]:
        if entry["df"] != "SSSE":
            continue
        dfs = {"SSSE": entry, **{c["df"]: c for c in entry.get("children", ()) if _present(c, generation)}}
        spec_df = dfs.get(df)
        for spec in (spec_df or {}).get("files", ()):
            if spec["ef"] == ef and _present(spec, generation):
                return _info(df, spec, generation)
    return None


def _info(df: str, spec: dict, generation: int) -> EfInfo:
    records = [r for r in spec.get("records", ()) if _present(r, generation)]
    reads = [_value(spec.get("read", "free"), generation)]
    if isinstance(reads[0], dict):  # per-record read conditions {1: free, 3: $g3_read}
        reads = [_value(v, generation) for v in reads[0].values()]
    reads += [_value(v, generation) for v in (spec.get("record_read") or {}).values()]
    return EfInfo(df, spec["ef"], int(spec["ef"][2:], 16), spec["structure"],
                  {int(r["tag"], 16): r["fmt"] for r in records}, _strictest(reads),
                  Access.parse(str(_value(spec.get("write", "never"), generation))))
