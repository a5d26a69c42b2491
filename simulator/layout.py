"""Card-image `layout:` (spec §9.1, R2-5, PD-36): EFs of DF01–DF07 that the image declares.

An entry is written in the vocabulary of the built-in card description (profiles/ssc.yaml) and
replaces the default EF of its FID or adds the EF to the DF. `card_tree(image)` is the profile
tree with the image's layout merged in: the card builder (profile.build), `sscard card read`
and the TUI explorer take their EF lists from it, so a declared EF is built, filled from
`data:`/`records:`/`files:`, read and shown exactly like a built-in one. Every fault is an
ImageError `file:line: what is wrong`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import items
from .image import PROFILES, Image, ImageError
from .security import ACError, parse_ac
from .quote import clip

LAYOUT_DFS = tuple(f"DF0{n}" for n in range(1, 8))
SIZED = {"tlv": ("records",), "linear": ("record_length", "count"), "cyclic": ("record_length", "count"),
         "transparent": ("size",)}  # the keys each structure needs besides the common ones
COMMON = ("structure", "sfi", "read", "write", "item", "en")
LIMITS = {"record_length": (1, 255), "count": (1, 254), "size": (1, 32767)}
RECORD_KEYS = ("tag", "fmt", "item", "en")
MAX_SFI = 0x1E
_EF = re.compile(r"^EF[0-9A-F]{2}$")
_HEX2 = re.compile(r"^[0-9A-F]{1,2}$")


@functools.cache
def profile_data() -> dict:
    """profiles/ssc.yaml: the card's file tree, items and keys (the layout's starting point)."""
    with open(Path(__file__).with_name("profiles") / "ssc.yaml", encoding="utf-8") as f:
        return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: ~10x faster


@dataclass(frozen=True)
class _Owner:  # what parse_ac needs of the DF that owns the EF (key(id) resolves from it)
    path: str
    app: str = "SSSE"


def generation_of(image: dict) -> int:
    gen = (image.get("switches") or {}).get("generation") or PROFILES.get(str(image.get("profile")))
    return gen if gen in (1, 2, 3) else 2


def _located(image: dict) -> Image:
    """The image with its line table; a plain dict (a card description) has no lines."""
    if isinstance(image, Image) and hasattr(image, "lines"):
        return image
    located = Image(image)
    located.source, located.lines = "<card description>", {}
    return located


def _where(image: Image, name: str):
    def error(what: str, *keys) -> ImageError:
        return image.error(("layout", name) + tuple(str(k) for k in keys), f"layout {name}: {what}")
    return error


# --- one entry ---------------------------------------------------------------------------------

def _name(image: Image, name) -> tuple[str, str]:
    """("DF03", "EF19") of "DF03/EF19" or "SSSE/DF03/EF19"."""
    parts = str(name).upper().split("/")
    if parts[0] == "SSSE" and len(parts) == 3:
        parts = parts[1:]
    where = ("layout", str(name))
    if len(parts) != 2:
        raise image.error(where, f"layout entry {clip(name)}: name an EF of DF01–DF07 as DFnn/EFxx (e.g. DF03/EF19)")
    df, ef = parts
    if df not in LAYOUT_DFS:
        which = df if len(df) <= 16 else "its DF"
        raise image.error(where, f"layout entry {clip(name)}: {which} is not one of DF01–DF07; a layout "
                                 "declares EFs of DF01–DF07 only (spec §9.1)")
    if not _EF.match(ef):
        raise image.error(where, f"layout entry {clip(name)}: the EF is named by its FID EFxx (xx hex), got {clip(ef)}")
    return df, ef


def _hex_byte(value) -> int | None:
    """A byte written as 1–2 hex digits, quoted or not (`tag: 79` and `tag: "79"` alike)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value).strip().upper()
    return int(text, 16) if _HEX2.match(text) else None


def _names(entry: dict, error, *where) -> dict:
    """`item` (中文) and `en` names, shown by card show, card read and the explorer."""
    for key in ("item", "en"):
        if key in entry and not isinstance(entry[key], str):
            raise error(f"{key} is a name (text), got {clip(entry[key])}", *where, key)
    return {key: entry[key] for key in ("item", "en") if key in entry}


def _whole(value, key: str, error) -> int:
    low, high = LIMITS[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise error(f"{key} must be a whole number {low}–{high}, got {clip(value)}", key)
    return value


def _sfi(entry: dict, fid: int, error) -> int | None:
    if "sfi" not in entry:
        return fid & 0xFF if 1 <= fid & 0xFF <= MAX_SFI else None
    value = entry["sfi"]
    if isinstance(value, str) and value.strip().lower() == "none":
        return None
    sfi = _hex_byte(value)
    if sfi is None or not 1 <= sfi <= MAX_SFI:
        raise error(f'sfi must be 01–1E in hex (quoted: "19") or none, got {clip(value)}', "sfi")
    return sfi


def _records(records, error) -> list[dict]:
    if not isinstance(records, list) or not 1 <= len(records) <= 254:
        raise error("records is a list of 1–254 records, each {tag: \"79\", fmt: b39}", "records")
    out, seen = [], {}
    for i, rec in enumerate(records):
        where = ("records", i)
        if not isinstance(rec, dict):
            raise error(f"record {i + 1} must be a mapping {{tag: .., fmt: ..}}, got {clip(rec)}", *where)
        for key in rec:
            if key not in RECORD_KEYS:
                raise error(f"record {i + 1}: unknown key {clip(key)} (known: {', '.join(RECORD_KEYS)})", *where, key)
        for key in ("tag", "fmt"):
            if key not in rec:
                raise error(f"record {i + 1} has no {key}", *where)
        tag = _hex_byte(rec["tag"])
        if tag is None:
            raise error(f"record {i + 1}: tag must be one byte in hex (\"79\"), got {clip(rec['tag'])}", *where, "tag")
        if tag == 0:
            raise error(f"record {i + 1}: tag 00 is not a record identifier (spec §9.1)", *where, "tag")
        if tag in seen:
            raise error(f"tag {tag:02X} twice in one EF (records {seen[tag]} and {i + 1})", *where, "tag")
        seen[tag] = i + 1
        try:
            if not isinstance(rec["fmt"], str) or len(rec["fmt"]) > 8:
                raise items.ItemError(f"fmt is an item format an<n>, cn<n> or b<n> (§3.1), got {clip(rec['fmt'])}")
            _, length = items.parse_format(rec["fmt"])
        except items.ItemError as exc:
            raise error(f"record {i + 1}: {exc}", *where, "fmt") from None
        if not 1 <= length <= 253:
            raise error(f"record {i + 1}: a TLV value is 1–253 bytes (record = 2 + length ≤ 255), "
                        f"got {rec['fmt']}", *where, "fmt")
        spec = {"tag": f"{tag:02X}", "fmt": rec["fmt"], **_names(rec, error, *where)}
        out.append(spec)
    return out


def _ac(value, kind: str, df: str, keys: set[tuple[str, int]], error) -> str:
    if not isinstance(value, str) or len(value) > 200:
        raise error(f"{kind} must be an access condition of §5.2 (free, never, PIN, key(83), "
                    f"either(PIN,key(81)), ...), got {clip(value)}", kind)
    try:
        condition = parse_ac(value, _Owner(f"SSSE/{df}"))
    except ACError as exc:
        raise error(f"{kind}: {exc}", kind) from None
    for need in condition:
        for entry in need:
            if entry in ("PIN(user)", "PIN(admin)"):
                raise error(f"{kind}: {entry} is a PKI PIN; an EF of {df} takes the cardholder PIN (PIN)", kind)
            if isinstance(entry, tuple) and entry not in keys:
                holder = "SSSE" if entry[0] == "SSSE" else df
                have = ", ".join(f"{n | (0x80 if h != 'SSSE' else 0):02X}" for h, n in sorted(keys) if h == entry[0])
                raise error(f"{kind}: {holder} has no key {entry[1]:02X} (its keys: {have})", kind)
    return value


def _entry(image: Image, name: str, df: str, ef: str, entry, keys: set) -> dict:
    error = _where(image, name)
    if not isinstance(entry, dict):
        raise error("an EF description is a mapping (structure:, read:, write:, ...)")
    structure = entry.get("structure")
    if not isinstance(structure, str) or structure not in SIZED:
        raise error(f"structure must be one of {', '.join(SIZED)}, got {clip(structure)}",
                    *(("structure",) if "structure" in entry else ()))
    allowed = COMMON + SIZED[structure]
    for key in entry:
        if key not in allowed:
            others = [s for s, needs in SIZED.items() if key in needs]
            hint = f" ({key} is for {' and '.join(others)} EFs)" if others else f" (known: {', '.join(allowed)})"
            raise error(f"key {clip(key)} does not belong to a {structure} EF{hint}", key)
    for key in SIZED[structure] + ("read", "write"):
        if key not in entry:
            raise error(f"a {structure} EF needs {key}")
    fid = int(ef[2:], 16) | 0xEF00
    spec: dict = {"ef": ef, "structure": structure, "sfi": _sfi(entry, fid, error), "declared": True}
    if structure == "tlv":
        spec["records"] = _records(entry["records"], error)
    else:
        spec.update({key: _whole(entry[key], key, error) for key in SIZED[structure]})
    for kind in ("read", "write"):
        spec[kind] = _ac(entry[kind], kind, df, keys, error)
    spec.update(_names(entry, error))
    return spec


# --- the whole layout --------------------------------------------------------------------------

def _key_slots(tree: list, generation: int) -> dict[str, set[tuple[str, int]]]:
    """Per DF01–DF07: the keys its access conditions may name, (owner path, number)."""
    ssse = next(e for e in tree if e["df"] == "SSSE")
    ssse_keys = {("SSSE", int(ref, 16) & 0x1F) for ref, spec in profile_data()["ssse_keys"].items()
                 if generation in spec.get("gens", (1, 2, 3))}
    return {child["df"]: ssse_keys | {(f"SSSE/{child['df']}", int(ref, 16) & 0x1F) for ref in child.get("keys", {})}
            for child in ssse["children"]}


def _default_sfi(f: dict) -> int | None:
    if "sfi" in f:
        return f["sfi"]
    low = int(str(f["ef"]), 16) & 0xFF
    return low if 1 <= low <= MAX_SFI else None


def _check_sfis(image: Image, df: str, files: list[dict], names: dict[str, str]) -> None:
    """SFIs unique within the DF (§9.1): the built-in EFs that stay first, then the declared ones
    in the order of the image, so the message names the entry that came second."""
    owner: dict[int, str] = {}
    for f in files:
        sfi = _default_sfi(f)
        if sfi in owner:
            name = names[f["ef"]]
            given = "sfi" in image["layout"][name]
            raise image.error(("layout", name) + (("sfi",) if given else ()),
                              f"layout {name}: SFI {sfi:02X} is already {owner[sfi]}'s in {df} (SFIs are unique "
                              "within a DF; give another sfi, or none)")
        if sfi is not None:
            owner[sfi] = f["ef"]


def declared(image: dict, tree: list | None = None) -> dict[str, dict[str, dict]]:
    """The image's layout checked: {"DF03": {"EF19": spec}}; {} without `layout:`."""
    if not image.get("layout"):
        return {}
    image = _located(image)
    layout = image["layout"]
    if not isinstance(layout, dict):
        raise image.error(("layout",), "layout must be a mapping of DFnn/EFxx to an EF description (spec §9.1)")
    tree = tree or profile_data()["tree"]
    slots = _key_slots(tree, generation_of(image))
    out: dict[str, dict[str, dict]] = {}
    names: dict[str, dict[str, str]] = {}
    for name, entry in layout.items():
        df, ef = _name(image, name)
        if ef in out.get(df, {}):
            raise image.error(("layout", str(name)), f"layout {name}: {df}/{ef} is declared twice "
                                                     f"(also as {names[df][ef]})")
        out.setdefault(df, {})[ef] = _entry(image, str(name), df, ef, entry, slots[df])
        names.setdefault(df, {})[ef] = str(name)
    for child in next(e for e in tree if e["df"] == "SSSE")["children"]:
        if child["df"] in out:
            own = out[child["df"]]
            kept = [f for f in child["files"] if str(f["ef"]).upper() not in own]
            _check_sfis(image, child["df"], kept + list(own.values()), names[child["df"]])
    return out


def _merged(files: list[dict], own: dict[str, dict]) -> list[dict]:
    """The DF's files: the built-in ones the layout does not replace, and the declared, by FID."""
    kept = [f for f in files if str(f["ef"]).upper() not in own]
    return sorted(kept + list(own.values()), key=lambda f: int(str(f["ef"]), 16))


def card_tree(image: dict) -> list[dict]:
    """The profile tree (profiles/ssc.yaml) with the image's layout merged into DF01–DF07."""
    tree = profile_data()["tree"]
    own = declared(image, tree)
    if not own:
        return tree
    out = []
    for entry in tree:
        if entry["df"] == "SSSE":
            children = [{**c, "files": _merged(c["files"], own[c["df"]])} if c["df"] in own else c
                        for c in entry["children"]]
            entry = {**entry, "children": children}
        out.append(entry)
    return out


def declared_efs(image: dict) -> dict[str, dict]:
    """{"SSSE/DF03/EF19": spec} of every declared EF."""
    return {f"SSSE/{df}/{ef}": spec for df, efs in declared(image).items() for ef, spec in efs.items()}


def features(image: dict) -> set[str]:
    """Conformance features of a layout (vectors/layout.yaml): `layout`, and per declared EF
    `layout:DF03/EF19`, its structure `layout:DF03/EF19=tlv`, SFI `layout:DF03/EF19:sfi=19`, ACs
    `layout:DF03/EF19:read=either(PIN,key(82))` and `...:write=key(85)`, TLV records `layout:DF03/EF19/79=b39`,
    records x length `layout:DF05/EF06:shape=10x20`, size `layout:DF06/EF07:size=512`."""
    found: set[str] = set()
    for path, spec in declared_efs(image).items():
        ef = f"layout:{path.removeprefix('SSSE/')}"
        sfi = "none" if spec["sfi"] is None else f"{spec['sfi']:02X}"
        found |= {"layout", ef, f"{ef}={spec['structure']}", f"{ef}:sfi={sfi}",
                  f"{ef}:read={spec['read'].replace(' ', '')}", f"{ef}:write={spec['write'].replace(' ', '')}"}
        found |= {f"{ef}/{r['tag']}={r['fmt']}" for r in spec.get("records", ())}
        if "count" in spec:
            found.add(f"{ef}:shape={spec['count']}x{spec['record_length']}")
        if "size" in spec:
            found.add(f"{ef}:size={spec['size']}")
    return found


__all__ = ["LAYOUT_DFS", "card_tree", "declared", "declared_efs", "features", "generation_of"]
