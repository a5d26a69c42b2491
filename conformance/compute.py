"""Computed values for vectors: `${ext_auth("04", challenge)}`, `${mac("08", "841E000004", challenge)}`.

Each function takes the case context first (the card under test and the current DF, so a key
reference resolves as the card resolves it, PD-12) and then the vector's arguments: key
references and hex as text, captured values as bytes. Arguments that are hex may be either.
Add a function here and it is usable in every vector file (the loader checks names and arity).
"""

from __future__ import annotations

import functools
import stat
from dataclasses import dataclass
from pathlib import Path

from simulator import crypto, items, schemes
from simulator.codecs import build_fci
from simulator.layout import declared_efs

from .card_under_test import CardUnderTest, MissingSecret
from .limits import MAX_VALUE, clip, clip_hex
from .template import to_bytes


@dataclass
class Context:
    card: CardUnderTest
    current_df: str = "MF"


def _key(ctx: Context, ref, version=1):
    return ctx.card.key(str(ref), ctx.current_df, int(version))


def _b(value, what="value") -> bytes:
    return to_bytes(value, what)


def ext_auth(ctx: Context, key, challenge, d=None, version=1) -> bytes:
    """EXTERNAL AUTHENTICATE data: C ‖ D (session schemes, D defaults to the challenge R8) or
    SM4(MK, R16) for the PKI master key (sm4-direct). 16 bytes: use Lc 10."""
    value, scheme = _key(ctx, key, version)
    challenge = _b(challenge, "challenge")
    if scheme == "sm4-direct":
        return schemes.external_cryptogram(scheme, value, challenge)
    d8 = crypto.r8(challenge) if d is None else _b(d, "d")
    return schemes.external_cryptogram(scheme, value, challenge, d8) + d8


def int_auth(ctx: Context, key, r1, r2) -> bytes:
    """The 8 bytes INTERNAL AUTHENTICATE must answer for R1, R2 (§4.12)."""
    value, scheme = _key(ctx, key)
    return schemes.internal_authenticate(scheme, value, _b(r1, "r1"), _b(r2, "r2"))


def mac(ctx: Context, key, data, challenge=None) -> bytes:
    """4-byte MAC of a CLA 84 command over `data` (header ‖ Lc ‖ data without MAC), ICV = challenge."""
    value, _ = _key(ctx, key)
    return crypto.mac(ctx.card.algorithm, value, _b(data, "data"), None if challenge is None else _b(challenge))


def pin_bcd(ctx: Context, pin) -> bytes:
    """PIN digits as BCD: "123456" -> 123456, "12345" -> 12345F."""
    return schemes.pin_bcd(str(pin))


def pki_verify(ctx: Context, who, challenge, pin=None) -> bytes:
    """PKI VERIFY cryptogram for the user or admin PIN of the card under test (§5.4.9)."""
    pin = schemes.pin_bcd(ctx.card.pin(str(who)) if pin is None else str(pin))  # pin: after a change
    return schemes.pki_verify_cryptogram(pin, _b(challenge, "challenge"))


def pki_change_pin(ctx: Context, who, new_pin, challenge, old_pin=None) -> bytes:
    """BODY ‖ MAC of `84 5E 01 P2 14` changing the user (P2 81) or admin (P2 00) PIN (§4.19.8)."""
    old = schemes.pin_bcd(ctx.card.pin(str(who)) if old_pin is None else str(old_pin))  # old_pin: change back
    p2 = 0x81 if str(who).lower() == "user" else 0x00
    body, tag = schemes.pki_change_pin(old, schemes.pin_bcd(str(new_pin)), p2, _b(challenge, "challenge"))
    return body + tag


def pki_change_mk(ctx: Context, new_mk, challenge, p2="00") -> bytes:
    """BODY ‖ MAC of `84 D4 01 P2 24` with the current master key as the old one (§4.19.9): the
    PKI DF's own while the PKI DF is current (R2-3), else SS.CERT.ADF1's."""
    old, _ = ctx.card.key("PKI/00" if ctx.current_df == "PKI" else "ADF1/00")
    body, tag = schemes.pki_change_mk(old, _b(new_mk, "new_mk"), int(str(p2), 16), _b(challenge, "challenge"))
    return body + tag


def pki_restore_mk(ctx: Context, from_mk, challenge, p2="00") -> bytes:
    """BODY ‖ MAC of `84 D4 01 P2 24` changing master key `from_mk` (a case's new key) back to the
    described one: the cleanup of a case that changed it (pki_change_mk says which DF's)."""
    described, _ = ctx.card.key("PKI/00" if ctx.current_df == "PKI" else "ADF1/00")
    body, tag = schemes.pki_change_mk(_b(from_mk, "from_mk"), described, int(str(p2), 16), _b(challenge, "challenge"))
    return body + tag


def mk_auth(ctx: Context, mk, challenge) -> bytes:
    """EXTERNAL AUTHENTICATE data SM4(MK, R16) for a PKI master key given by value (after a change)."""
    return schemes.external_cryptogram("sm4-direct", _b(mk, "mk"), _b(challenge, "challenge"))


def pin_unblock(ctx: Context, challenge, new_pin=None) -> bytes:
    """PIN UNBLOCK data (§4.16): MAC only, or ENC(new PIN) ‖ MAC, with the PUK (SSSE key 06)."""
    puk, _ = ctx.card.key("SSSE/06")
    enc = b"" if new_pin is None else schemes.pin_unblock_enc(ctx.card.algorithm, puk, schemes.pin_bcd(str(new_pin)))
    header = bytes.fromhex("84240000") + bytes([len(enc) + 4])
    return enc + crypto.mac(ctx.card.algorithm, puk, header + enc, _b(challenge, "challenge"))


def reload_pin(ctx: Context, new_pin) -> bytes:
    """RELOAD PIN data (§4.15): new PIN ‖ MAC over it with the RPK (SSSE key 07), zero ICV."""
    rpk, _ = ctx.card.key("SSSE/07")
    pin = schemes.pin_bcd(str(new_pin))
    return pin + crypto.mac(ctx.card.algorithm, rpk, pin, None)


def cardid_mac(ctx: Context, data12) -> bytes:
    """The 4-byte authentication code of the card identification code (§5.4.12), IRK = SSSE 01."""
    irk, _ = ctx.card.key("SSSE/01")
    return schemes.cardid_mac(ctx.card.algorithm, irk, _b(data12, "data12"))


def sm3(ctx: Context, data) -> bytes:
    return crypto.sm3(_b(data))


def ascii(ctx: Context, text) -> bytes:  # noqa: A001 - the vector-facing name
    """Text as ASCII bytes: `${ascii("A01234562")}`."""
    return str(text).encode("ascii")


def gbk(ctx: Context, text) -> bytes:
    """Text as GBK bytes (names on the card): `${gbk("张三")}`."""
    return str(text).encode("gbk")


def pad(ctx: Context, value, length, fill="00") -> bytes:
    """`value` right-padded with `fill` to `length` bytes (records are fixed length)."""
    raw, length, filler = _b(value), int(length), _b(fill)
    if length > MAX_VALUE:  # refused before the bytes are made: pad("00", 1500000000) is 1.5 GB
        raise ValueError(f"pad to {length} bytes is over the limit of {MAX_VALUE} bytes")
    if not filler and length > len(raw):
        raise ValueError("pad with an empty fill")
    missing = max(0, length - len(raw))
    return raw + (filler * (missing // len(filler) + 1))[:missing] if missing else raw


def join(ctx: Context, *parts) -> bytes:
    """Concatenation, for a computed part inside another call: `${lc(join(pin_bcd(pin), "FF", new))}`."""
    values = [_b(p) for p in parts]
    total = sum(map(len, values))
    if total > MAX_VALUE:
        raise ValueError(f"join of {total} bytes is over the limit of {MAX_VALUE} bytes")
    return b"".join(values)


def lc(ctx: Context, data) -> bytes:
    """Lc ‖ data: `00DC0704${lc(record)}`."""
    raw = _b(data)
    return bytes([len(raw)]) + raw


# --- card content from the card-under-test description (§2, §3): physical cards carry other
# persons, so expected records, files and FCIs come from the description (its data:, records:,
# files: and switches), encoded with the formats of the reference card (the profile data).

def _ef(ctx: Context, path) -> tuple[str, dict]:
    """("SSSE/DF01/EF06", its profile entry) for "SSSE/DF01/EF06", "DF01/EF06", "ADF1/0018"..."""
    full = _ef_path(path)
    entry = declared_efs(ctx.card.image).get(full) or _profile_efs(ctx.card.generation).get(full)
    if entry is None:
        raise ValueError(f"no EF {clip(path)} on a gen{ctx.card.generation} card (spec §2)")
    return full, entry


def _ef_path(path) -> str:
    text = str(path).strip("/").upper().removeprefix("MF/")
    for alias in ("SS.CERT.ADF1/", "ADF1/"):
        if text.startswith(alias):
            return "PKI/SS.CERT.ADF1/" + text[len(alias):]
    return text if text.startswith(("SSSE/", "PKI/")) else f"SSSE/{text}"


@functools.cache
def _profile_efs(generation: int) -> dict:
    from simulator.profile import profile_data

    found: dict = {}

    def walk(dfs, prefix: str) -> None:
        for df in dfs:
            if generation in df.get("gens", (1, 2, 3)):
                for ef in df.get("files", ()):
                    if generation in ef.get("gens", (1, 2, 3)) and not str(ef["ef"]).startswith("$"):
                        found[f"{prefix}{df['df']}/{ef['ef']}".upper()] = ef
                walk(df.get("children", ()), f"{prefix}{df['df']}/")
    walk(profile_data()["tree"], "")
    return found


def _described(ctx: Context, table: str, full: str):
    image = ctx.card.image
    if not any(image.get(t) for t in ("data", "records", "files")):
        raise MissingSecret("the card description holds no card content (data:, records:, files:)")
    return next((v for k, v in (image.get(table) or {}).items() if _ef_path(k) == full), None)


def record(ctx: Context, path, which) -> bytes:
    """A record as the description gives it, `tag ‖ len ‖ value` with the value encoded in its
    format and the description's an_pad (§3.1): `${record("SSSE/EF06", "09")}` by tag (hex text,
    the first record with that first byte, §4.6), `${record("SSSE/EF05", 7)}` by number (int).
    Items the description leaves out hold their pre-format (PD-34); `records:` entries win."""
    full, entry = _ef(ctx, path)
    values = {str(t).upper().zfill(2): v for t, v in (_described(ctx, "data", full) or {}).items()}
    raw = _described(ctx, "records", full)
    pad = int(str((ctx.card.image.get("switches") or {}).get("an_pad", "00")), 16)
    if entry["structure"] == "cyclic":
        records = [_b(r, "record") for r in raw or ()]
    elif entry["structure"] == "tlv":
        records = [bytes([int(r["tag"], 16), items.length(r["fmt"])]) +
                   (items.encode(r["fmt"], values[r["tag"].upper()], pad) if r["tag"].upper() in values
                    else items.blank(r["fmt"]))
                   for r in entry["records"] if ctx.card.generation in r.get("gens", (1, 2, 3))]
    elif entry["structure"] == "linear":
        records = [bytes(entry["record_length"])] * entry["count"]
    else:
        raise ValueError(f"{full} is not a record EF")
    for number, text in ({} if entry["structure"] == "cyclic" else raw or {}).items():
        records[int(number) - 1] = _b(text, "record")
    if isinstance(which, int):
        if not 1 <= which <= len(records):
            raise ValueError(f"{full} has records 1-{len(records)}, not {clip(which)}")
        return records[which - 1]
    tag = _b(which, "tag")
    found = next((r for r in records if r[:1] == tag), None)
    if found is None:
        raise ValueError(f"{full} has no record with tag {clip_hex(tag)}")
    return found


def binary(ctx: Context, path, offset=0, length=None) -> bytes:
    """Bytes offset..offset+length of a transparent EF as the description gives it (`files:`, hex
    or a file beside the image), `00`-filled to the EF's size (PD-26, PD-34); no length: to the end;
    a negative offset counts from the end: `${binary("SSSE/EF08", -16, 32)}` = the last 16 bytes."""
    full, entry = _ef(ctx, path)
    if entry["structure"] != "transparent":
        raise ValueError(f"{full} is not a transparent EF")
    size = _size(ctx, full, entry)
    value = _described(ctx, "files", full)
    content = b"" if value is None else _file_content(ctx, value, size)
    content = content[:size].ljust(size, b"\0")
    start = int(offset) + (size if int(offset) < 0 else 0)  # negative: from the end of the EF
    return content[start:] if length is None else content[start:start + int(length)]


def ef_size(ctx: Context, path, minus=0) -> bytes:
    """The size of a transparent EF less `minus`, as the 2-byte offset of READ/UPDATE BINARY:
    `00B0 ${ef_size("SSSE/EF08")} 01` reads at the end of the file (§4.7; sizes PD-26)."""
    full, entry = _ef(ctx, path)
    if entry["structure"] != "transparent":
        raise ValueError(f"{full} is not a transparent EF")
    return (_size(ctx, full, entry) - int(minus)).to_bytes(2, "big")


def _size(ctx: Context, full: str, entry: dict) -> int:
    from simulator.profile import DEFAULT_SIZES

    sizes = {**DEFAULT_SIZES, **((ctx.card.image.get("switches") or {}).get("sizes") or {})}
    size = int(sizes[full.rsplit("/", 1)[1]]) if str(entry["size"]).startswith("$") else int(entry["size"])
    if not 0 <= size <= 0xFFFF:  # READ BINARY's offset has 2 bytes: a bigger EF cannot be read
        raise ValueError(f"{full} has size {clip(size)} in the description, not 0..65535")
    return size


def _file_content(ctx: Context, value, size: int) -> bytes:
    """The first `size` bytes of a `files:` entry: hex, or a regular file beside the description
    (not /dev/zero, not a FIFO, not a path out of its folder)."""
    text = "".join(str(value).split())
    try:
        return bytes.fromhex(text)
    except ValueError:
        pass
    base = getattr(ctx.card.image, "path", None)
    folder = (Path.cwd() if base is None else Path(base).parent).resolve()
    file = (folder / str(value)).resolve()
    what = f"the description's file {clip(str(value))}"
    if not file.is_relative_to(folder):
        raise MissingSecret(f"{what} is outside the description's folder {folder}")
    try:
        if not stat.S_ISREG(file.stat().st_mode):
            raise MissingSecret(f"{what} is not a regular file")
        with open(file, "rb") as handle:
            return handle.read(size)
    except OSError as exc:
        raise MissingSecret(f"{what} cannot be read: {exc.strerror}") from None


def fci(ctx: Context, df) -> bytes:
    """The FCI of SELECT by name with P2 00 (§4.5, PD-05): 6F L 84 Ln <name> [A5 03 88 01 <DIR
    SFI>] [fci_extra]; the A5 template for SSSE only (the DF with the DIR), switches from the description."""
    from .card_model import DF_NAMES

    label = {"SS.CERT.ADF1": "ADF1", "PKI/SS.CERT.ADF1": "ADF1"}.get(str(df).upper(), str(df).upper())
    name = bytes.fromhex(DF_NAMES[label])
    switches = ctx.card.image.get("switches") or {}
    dir_sfi = int(str(switches.get("dir_sfi", "0B")), 16) if label == "SSSE" else None
    extras = switches.get("fci_extra") or {}
    aliases = {"ADF1": ("SS.CERT.ADF1", "PKI/SS.CERT.ADF1"), "PKI": ("PKI",)}.get(label, (label, f"SSSE/{label}"))
    return build_fci(name, dir_sfi, _b(next((extras[a] for a in aliases if a in extras), ""), "fci_extra"))


def psam_out(ctx: Context, algorithm, index, factors, p1, data) -> bytes:
    """What the PSAM under test answers to `80 FA <p1> 00 <data>` after `BF DE 48 <index> <factors>`
    in the application of `algorithm` ("3des": ADF D15600000590, "sm4": DF01), from the root key
    of its description (ssc-terminal.md §2.3, §2.4)."""
    from simulator import psam

    if not hasattr(ctx.card, "root"):
        raise MissingSecret("psam_out() needs a PSAM under test")
    root = ctx.card.root(index)
    cipher, w = psam.working_key(str(algorithm), root, _b(factors, "factors"))
    return psam.compute(cipher, w, int(str(p1), 16), _b(data, "data"))


FUNCTIONS = {f.__name__: f for f in (ext_auth, int_auth, mac, pin_bcd, pki_verify, pki_change_pin,
                                     pki_change_mk, pki_restore_mk, mk_auth, pin_unblock, reload_pin, cardid_mac, sm3, ascii,
                                     gbk, pad, join, lc, record, binary, ef_size, fci, psam_out)}


def bind(ctx: Context | None) -> dict:
    """The functions with the context filled in, as templates call them."""
    return {name: functools.partial(fn, ctx) for name, fn in FUNCTIONS.items()}


def builtin_variables(card: CardUnderTest | None) -> dict:
    """Variables every vector can use without capturing them."""
    if card is None:
        return dict.fromkeys(BUILTIN_VARIABLES, "")
    values = {"generation": card.generation}
    for name, which in (("pin", "SSSE"), ("user_pin", "user"), ("admin_pin", "admin")):
        try:
            values[name] = card.pin(which)
        except LookupError:
            pass
    return values


BUILTIN_VARIABLES = ("pin", "user_pin", "admin_pin", "generation", "atr")
