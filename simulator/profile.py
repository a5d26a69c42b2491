"""Build a card's file tree, keys and PINs from the profile data (profiles/ssc.yaml) and an image."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import items
from .filesystem import DF, EF, CyclicEF, RecordEF, TransparentEF
from .image import PROFILES, Image
from .layout import card_tree, profile_data  # profile_data: read with the layout, used here too
from .security import ACError, Key, Pin, parse_ac
from .quote import clip

DEFAULT_SWITCHES = {
    "transport": "t0", "atr": None, "select_mf": "accept", "dir_sfi": "0B", "fci_extra": {},
    "pin_tries": 3, "key_tries": 3, "default_pin": "123456", "pki_user_pin": "123456",
    "pki_admin_pin": "12345678", "g3_read_key": "0A", "ac": {}, "key_version_byte": "select",
    "challenge_scope": "until-used", "sm2_pub_prefix": "CA40", "mac_error_sw": "6988", "an_pad": "00",
    "sizes": {}, "generation": None, "pki_write_pin": "either",
}
DEFAULT_SIZES = {"EF07": 1024, "EF08": 8192, "0018": 2048, "0019": 2048}
CHOICES = {
    "transport": ("t0", "t1"), "select_mf": ("accept", "reject"), "g3_read_key": ("0A", "none"),
    "key_version_byte": ("select", "ignore"), "challenge_scope": ("until-used", "next-command"),
    "mac_error_sw": ("6988", "9302"), "an_pad": ("00", "20"), "pki_write_pin": ("either", "admin"),
}
PKI_WRITE_AC = {"either": "either(PIN(user),PIN(admin))", "admin": "PIN(admin)"}  # R2-4, PD-27
ROLE_OF = {"MK": "external", "UK": "external", "RK": "external", "UK-EF0D": "external",
           "IRK": "internal", "PUK": "mac", "RPK": "mac", "AMK": "mac"}


@dataclass
class Model:
    """Everything the card engine needs, built from an image."""

    generation: int
    switches: dict
    mf: DF
    dfs: dict[str, DF] = field(default_factory=dict)  # by path: "SSSE", "SSSE/DF01", "PKI/SS.CERT.ADF1"
    efs: dict[str, EF] = field(default_factory=dict)  # by path: "SSSE/EF05"
    by_aid: dict[bytes, DF] = field(default_factory=dict)

    @property
    def scheme(self) -> str:
        return "sm4-session" if self.generation == 3 else "des-session"

    @property
    def algorithm(self) -> str:
        return "sm4" if self.generation == 3 else "3des"


def resolve_switches(image: Image) -> dict:
    given = image.get("switches") or {}
    out = dict(DEFAULT_SWITCHES)
    for key, value in given.items():
        if key not in DEFAULT_SWITCHES:
            raise image.error(("switches", key), f"unknown profile switch {key!r} (spec §9)")
        if key in CHOICES and str(value) not in CHOICES[key]:
            raise image.error(("switches", key), f"switch {key} must be one of {', '.join(CHOICES[key])}, got {value!r}")
        out[key] = str(value) if key in CHOICES else value
    for key in ("pin_tries", "key_tries"):
        if not isinstance(out[key], int) or not 1 <= out[key] <= 15:
            raise image.error(("switches", key), f"{key} must be a whole number 1-15, got {out[key]!r}")
    prefix = out["sm2_pub_prefix"]  # unchecked, a bad value made 8040/80C2 answer 6F00
    if not isinstance(prefix, str) or len(prefix) != 4 or any(c not in "0123456789abcdefABCDEF" for c in prefix):
        raise image.error(("switches", "sm2_pub_prefix"),
                          f'sm2_pub_prefix must be 2 bytes as 4 hex digits in quotes ("CA40"), got {prefix!r}')
    out["sizes"] = {**DEFAULT_SIZES, **(out["sizes"] or {})}
    return out


def build(image: Image) -> Model:
    sw = resolve_switches(image)
    gen = sw["generation"] or PROFILES[image["profile"]]
    if gen not in (1, 2, 3):
        raise image.error(("switches", "generation"), f"generation must be 1, 2 or 3, got {gen!r}")
    try:
        dir_sfi = int(str(sw["dir_sfi"]), 16)
    except ValueError:
        raise image.error(("switches", "dir_sfi"), f"dir_sfi must be a hex SFI, got {sw['dir_sfi']!r}") from None
    variables = {
        "$g3_read": "free" if sw["g3_read_key"] == "none" else "key(0A)",
        "$dir_sfi": dir_sfi, "$dir_ef": f"EF{dir_sfi:02X}",
        "$ssse_keys": profile_data()["ssse_keys"], "$pki_write": PKI_WRITE_AC[sw["pki_write_pin"]],
        **{f"$size_{k}": v for k, v in sw["sizes"].items()},
    }
    mf = DF("MF", 0x3F00)
    model = Model(gen, sw, mf)
    builder = _Builder(model, image, variables)
    for entry in card_tree(image):  # the profile tree with the image's layout: merged in (§9.1)
        builder.df(entry, mf)
    _check_switch_targets(model, image)
    return model


def _check_switch_targets(model: Model, image: Image) -> None:
    """An `ac` or `fci_extra` for a file, record or DF the card does not have would be lost without a word."""
    names = set(model.dfs) | {df.name for df in model.dfs.values()}
    for name in model.switches["fci_extra"] or {}:
        if str(name) not in names:
            raise image.error(("switches", "fci_extra", str(name)), f"switch fci_extra: no DF {clip(name)} on a "
                              f"gen{model.generation} card (known: {', '.join(sorted(model.dfs))})")
    for target in model.switches["ac"] or {}:
        path, _, rec = str(target).partition("#")
        ef = model.efs.get(path)
        if ef is None:
            raise image.error(("switches", "ac", str(target)), f"switch ac: no file {clip(path)} on a "
                              f"gen{model.generation} card (a path like SSSE/EF05 or SSSE/DF01/EF05#2)")
        count = len(ef.records) if isinstance(ef, RecordEF) else 0
        if rec and not 1 <= int(rec) <= count:
            raise image.error(("switches", "ac", str(target)),
                              f"switch ac: {path} has no record {rec}" + (f" (1-{count})" if count else ""))


class _Builder:
    def __init__(self, model: Model, image: Image, variables: dict):
        self.model, self.image, self.vars = model, image, variables
        self.gen = model.generation

    def value(self, v):
        """Resolve `$switch` variables and per-generation mappings {1: .., 3: ..}."""
        if isinstance(v, dict) and v and all(isinstance(k, int) for k in v):
            v = v.get(self.gen, v.get(max(k for k in v if k <= self.gen), None)
                      if any(k <= self.gen for k in v) else None)
        if isinstance(v, str) and v.startswith("$"):
            return self.vars[v]
        return v

    def present(self, entry: dict) -> bool:
        return self.gen in entry.get("gens", (1, 2, 3))

    def df(self, entry: dict, parent: DF) -> None:
        if not self.present(entry):
            return
        name = entry["df"]
        fid = entry.get("fid") or (name if len(name) == 4 and name.startswith("DF") else None)
        fid = int(fid, 16) if fid else None  # SSSE and the PKI DF have no FID (PD-07)
        df = DF(entry["df"], fid, aid=bytes.fromhex(entry["aid"]))
        parent.add(df)
        self.model.dfs[df.path] = df
        self.model.by_aid[df.aid] = df
        extra = (self.model.switches["fci_extra"] or {}).get(df.name) or \
            (self.model.switches["fci_extra"] or {}).get(df.path)
        if extra:
            df.fci_extra = bytes.fromhex(str(extra))
        if "dir" in entry:
            df.dir_sfi = self.value(entry["dir"])
        for ref, spec in (self.value(entry.get("keys")) or {}).items():
            spec = {"label": spec} if isinstance(spec, str) else spec
            if self.present(spec):
                self.key_slot(df, int(ref, 16), spec)
        for f in entry.get("files", ()):
            if self.present(f):
                self.ef(f, df)
        for child in entry.get("children", ()):
            self.df(child, df)
        if df.dir_sfi is not None and df.dir_sfi in df.by_sfi:
            self.fill_dir(df.by_sfi[df.dir_sfi], df)

    def key_slot(self, df: DF, ref: int, spec: dict) -> None:
        label = spec["label"]
        role = ROLE_OF.get(label) or ("external" if label.startswith(("RK", "UK")) else "mac")
        counter = spec.get("counter", role == "external")
        tries = self.model.switches["key_tries"] if counter else None
        scheme = spec.get("scheme", self.model.scheme)
        # Key values come from the image; a slot without a value is no key (6A88).
        df.keys[ref & 0x1F] = Key(ref & 0x1F, label, role, scheme, {}, tries, tries)

    def ef(self, f: dict, df: DF) -> None:
        name = self.value(f["ef"])
        fid = int(name, 16)  # "EF05" and "0012" are both the FID in hex
        sfi = (fid & 0xFF) if df.app == "SSSE" and (fid & 0xFF) <= 30 else None  # PKI EFs: no SFI (PD-07)
        sfi = f["sfi"] if "sfi" in f else sfi  # a layout: entry sets its own (§9.1)
        structure = f["structure"]
        read_ac, write_ac = self.ac(f.get("read"), df, f), self.ac(f.get("write"), df, f)
        common = dict(sfi=sfi, read_ac=read_ac, write_ac=write_ac, spec=f)
        if structure == "transparent":
            ef = TransparentEF(name, fid, data=bytearray(int(self.value(f["size"]))), **common)
        elif structure == "cyclic":
            ef = CyclicEF(name, fid, capacity=f["count"], length=f["record_length"], **common)
        elif structure == "tlv":
            recs = [r for r in f["records"] if self.present(r)]
            f = {**f, "records": recs}
            common["spec"] = f
            ef = RecordEF(name, fid, records=[bytearray(bytes([int(r["tag"], 16), items.length(r["fmt"])])
                                                        + items.blank(r["fmt"])) for r in recs], **common)
        elif structure in ("linear", "dir"):
            ef = RecordEF(name, fid, records=[bytearray(f["record_length"]) for _ in range(f["count"])], **common)
        else:  # pragma: no cover - profile data error
            raise ValueError(f"profile: unknown structure {structure!r}")
        for number, ac in (f.get("record_read") or {}).items():
            resolved = self.value(ac)
            if resolved is not None:
                ef.record_read[int(number)] = self.ac(resolved, df, f)
        df.add(ef)
        self.model.efs[ef.path] = ef
        self.overrides(ef, df)

    def ac(self, text, df: DF, f: dict):
        text = self.value(text)
        try:
            return parse_ac(text, df)
        except ACError as exc:  # pragma: no cover - profile data error
            raise ValueError(f"profile {df.path}/{f['ef']}: {exc}") from None

    def overrides(self, ef: EF, df: DF) -> None:
        """The `ac` switch replaces any default access condition (spec §9)."""
        for target, acs in (self.model.switches["ac"] or {}).items():
            path, _, rec = str(target).partition("#")
            if path != ef.path:
                continue
            if rec and not isinstance(ef, RecordEF):
                raise self.image.error(("switches", "ac", str(target)), f"switch ac: {path} has no records")
            for kind in ("read", "write"):
                if kind not in (acs or {}):
                    continue
                try:
                    cond = parse_ac(acs[kind], df)
                except ACError as exc:
                    raise self.image.error(("switches", "ac", target, kind), str(exc)) from None
                if rec:
                    getattr(ef, f"record_{kind}")[int(rec)] = cond
                else:
                    setattr(ef, f"{kind}_ac", cond)

    def fill_dir(self, ef: RecordEF, df: DF) -> None:
        """DIR content of §2.4: one record per DF01-DF07 (PD-06)."""
        for i, child in enumerate(sorted(df.subdfs(), key=lambda d: d.name)[: len(ef.records)]):
            label = f"SSC-{child.name}".encode("ascii")[:8].ljust(8, b"\0")
            body = b"\x4F\x06" + child.aid + b"\x50\x08" + label
            ef.records[i][:] = b"\x70\x14\x61\x12" + body


def pki_pins(switches: dict) -> dict[int, str]:
    return {0x81: switches["pki_user_pin"], 0x00: switches["pki_admin_pin"]}


__all__ = ["Model", "build", "resolve_switches", "profile_data", "DEFAULT_SWITCHES", "pki_pins", "Pin"]
