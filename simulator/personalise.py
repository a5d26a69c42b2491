"""Put an image's content onto a built model, and read the model back into an image (for saving)."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from . import items
from .schemes import bcd_pin, pin_bcd
from .filesystem import CyclicEF, RecordEF, TransparentEF
from .image import Image, ImageError
from .profile import Model, pki_pins
from .security import Pin
from .quote import clip

_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})*$")
PKI_HOLDER = "PKI/SS.CERT.ADF1"
PKI_DF_KEYS = "PKI/DF"  # the image's name for the PKI DF's own keys (R2-3); "PKI" stays SS.CERT.ADF1


def df_path(model: Model, name: str) -> str | None:
    """Accept "SSSE", "DF01", "SSSE/DF01", "PKI" (the PKI keys live in SS.CERT.ADF1), "PKI/DF"."""
    if name == "PKI" and PKI_HOLDER in model.dfs:
        return PKI_HOLDER
    if name == PKI_DF_KEYS and "PKI" in model.dfs:
        return "PKI"
    if name in model.dfs:
        return name
    if f"SSSE/{name}" in model.dfs:
        return f"SSSE/{name}"
    if f"PKI/{name}" in model.dfs:
        return f"PKI/{name}"
    return None


def ef_path(model: Model, name: str) -> str | None:
    if name in model.efs:
        return name
    for prefix in ("SSSE/", "PKI/SS.CERT.ADF1/"):
        if prefix + name in model.efs:
            return prefix + name
    return None


def _hex(image: Image, keys: tuple, value, what: str) -> bytes:
    text = str(value).replace(" ", "")
    if not _HEX.match(text):
        raise image.error(keys, f"{what} must be hex, got {clip(value)}")
    return bytes.fromhex(text)


def apply(model: Model, image: Image) -> dict:
    """Personalise the model from the image; returns the persistent extra state (blocks)."""
    pad = int(model.switches["an_pad"], 16)
    for path, values in (image.get("data") or {}).items():
        ef = model.efs.get(ef_path(model, path) or "")
        if not isinstance(ef, RecordEF) or "records" not in ef.spec:
            raise image.error(("data", path), f"no TLV record file {clip(path)} on a gen{model.generation} card")
        if not isinstance(values, dict):
            raise image.error(("data", path), "data of a file is a mapping of tag (2 hex digits) to value")
        for tag, value in values.items():
            tag_t = str(tag).upper().zfill(2)
            spec = next((r for r in ef.spec["records"] if r["tag"].upper() == tag_t), None)
            if spec is None:
                raise image.error(("data", path, str(tag)), f"{path} has no item with tag {tag_t}")
            try:
                raw = items.encode(spec["fmt"], value, pad)
            except items.ItemError as exc:
                raise image.error(("data", path, str(tag)), f"{path} tag {tag_t}: {exc}") from None
            number = ef.find(int(tag_t, 16))
            ef.records[number - 1][2:] = raw
    for path, recs in (image.get("records") or {}).items():
        _apply_records(model, image, path, recs)
    for path, value in (image.get("files") or {}).items():
        ef = model.efs.get(ef_path(model, path) or "")
        if not isinstance(ef, TransparentEF):
            raise image.error(("files", path), f"no transparent file {clip(path)} on a gen{model.generation} card")
        raw = _file_content(image, path, value, ef.size)
        if len(raw) > ef.size:
            raise image.error(("files", path), f"{path} holds {ef.size} bytes, the content has {len(raw)}")
        ef.data[: len(raw)] = raw
    _apply_keys(model, image)
    _apply_pins(model, image)
    state = image.get("state") or {}
    app = state.get("application", "active")
    if app not in ("active", "temporary", "permanent"):
        raise image.error(("state", "application"), f"application state is active, temporary or permanent, got {clip(app)}")
    return {"application": app, "card_blocked": bool(state.get("card_blocked", False))}


def _file_content(image: Image, path: str, value, limit: int) -> bytes:
    """Hex, or a file beside the image: a relative path that stays inside the image's folder (after
    symlinks), a regular file (no device, FIFO or /proc entry), at most `limit` bytes (the EF's size)."""
    text = str(value).replace(" ", "")
    if _HEX.match(text):
        return bytes.fromhex(text)
    where = ("files", path)
    base = image.path.resolve().parent if image.path else Path.cwd().resolve()
    name = Path(str(value))
    if name.is_absolute() or ".." in name.parts:
        raise image.error(where, f"{path}: {clip(value)} is neither hex nor a file name inside the image's folder")
    target = (base / name).resolve()
    if not target.is_relative_to(base):
        raise image.error(where, f"{path}: {clip(value)} leads outside the image's folder (to {clip(str(target))})")
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise image.error(where, f"{path}: neither hex nor a readable file ({exc.strerror}: {clip(value)})") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise image.error(where, f"{path}: {clip(value)} is not a regular file")
        raw = f.read(limit + 1)
    if len(raw) > limit:
        raise image.error(where, f"{path} holds {limit} bytes, the file {clip(value)} is larger")
    return raw


def _apply_records(model: Model, image: Image, path: str, recs) -> None:
    ef = model.efs.get(ef_path(model, path) or "")
    if not isinstance(ef, RecordEF):
        raise image.error(("records", path), f"no record file {clip(path)} on a gen{model.generation} card")
    if isinstance(ef, CyclicEF):
        if not isinstance(recs, list) or len(recs) > ef.capacity:
            raise image.error(("records", path), f"{path} is cyclic: a list of at most {ef.capacity} records, newest first")
        raws = [_hex(image, ("records", path, str(i)), r, "a record") for i, r in enumerate(recs)]
        for i, raw in enumerate(raws):
            if len(raw) != ef.length:
                raise image.error(("records", path, str(i)), f"{path} records are {ef.length} bytes, got {len(raw)}")
        ef.records = [bytearray(r) for r in raws]
        return
    if not isinstance(recs, dict):
        raise image.error(("records", path), "records of a linear file are a mapping: record number -> hex")
    for number, value in recs.items():
        n = int(number) if str(number).isdigit() else 0
        if not 1 <= n <= len(ef.records):
            raise image.error(("records", path, str(number)), f"{path} has records 1-{len(ef.records)}, not {number}")
        raw = _hex(image, ("records", path, str(number)), value, "a record")
        if len(raw) != len(ef.records[n - 1]):
            raise image.error(("records", path, str(number)),
                              f"{path} record {n} is {len(ef.records[n - 1])} bytes, got {len(raw)}")
        ef.records[n - 1][:] = raw


def _apply_keys(model: Model, image: Image) -> None:
    for df_name, keys in (image.get("keys") or {}).items():
        path = df_path(model, str(df_name))
        if path is None or not isinstance(keys, dict):
            raise image.error(("keys", str(df_name)), f"no DF {clip(df_name)} with keys on a gen{model.generation} card")
        df = model.dfs[path]
        for ref, spec in keys.items():
            where = ("keys", str(df_name), str(ref))
            try:
                number = int(str(ref), 16) & 0x1F
            except ValueError:
                raise image.error(where, f"key reference must be 2 hex digits, got {clip(ref)}") from None
            key = df.keys.get(number)
            if key is None:
                raise image.error(where, f"{path} has no key {str(ref).upper()} in the profile")
            spec = spec if isinstance(spec, dict) else {"value": spec}
            key.versions = {1: _hex(image, where, spec.get("value"), "a key value")}
            for ver, val in (spec.get("versions") or {}).items():
                key.versions[int(str(ver), 16)] = _hex(image, where + ("versions", str(ver)), val, "a key value")
            for ver, val in key.versions.items():
                if len(val) != 16:
                    raise image.error(where, f"key {path}/{str(ref).upper()} version {ver:02X} must be 16 bytes, got {len(val)}")
            if key.max_tries is not None and "tries" in spec:
                key.tries = _tries(image, where, spec["tries"], key.max_tries)
            if "attributes" in spec:
                key.attributes = _hex(image, where, spec["attributes"], "key attributes")


def _tries(image: Image, where: tuple, value, maximum: int) -> int:
    if not isinstance(value, int) or not 0 <= value <= maximum:
        raise image.error(where, f"tries must be 0-{maximum}, got {clip(value)}")
    return value


def _pin(image: Image, where: tuple, spec, default: str, maximum: int, sizes: range) -> Pin:
    spec = spec if isinstance(spec, dict) else {"value": spec} if spec is not None else {}
    text = str(spec.get("value", default))
    try:
        value = pin_bcd(text)
    except ValueError:
        raise image.error(where, f"PIN must be digits, got {clip(text)}") from None
    if len(value) not in sizes:
        raise image.error(where, f"PIN must be {sizes.start}-{sizes.stop - 1} bytes of BCD, got {clip(text)}")
    tries = _tries(image, where, spec.get("tries", maximum), maximum)
    return Pin(value, maximum, tries)


def _apply_pins(model: Model, image: Image) -> None:
    pins = image.get("pins") or {}
    for name in pins:
        if name not in ("SSSE", "PKI/user", "PKI/admin") or (name.startswith("PKI") and PKI_HOLDER not in model.dfs):
            raise image.error(("pins", name), f"no PIN {clip(name)} on a gen{model.generation} card (SSSE, PKI/user, PKI/admin)")
    sw = model.switches
    model.dfs["SSSE"].pins[0] = _pin(image, ("pins", "SSSE"), pins.get("SSSE"), sw["default_pin"],
                                     sw["pin_tries"], range(2, 7))
    if PKI_HOLDER in model.dfs:
        holder = model.dfs[PKI_HOLDER]
        for ref, default in pki_pins(sw).items():
            name = "PKI/user" if ref == 0x81 else "PKI/admin"
            holder.pins[ref] = _pin(image, ("pins", name), pins.get(name), default, sw["pin_tries"], range(2, 9))


def export(model: Model, image: Image, blocks: dict) -> dict:
    """The model's persistent state as a card image (the original entries kept where unchanged)."""
    pad = int(model.switches["an_pad"], 16)
    out: dict = {"profile": image["profile"]}
    for key in ("person", "switches", "layout"):
        if image.get(key):
            out[key] = image[key]
    data: dict = {}
    records: dict = {}
    files: dict = {}
    for path, ef in model.efs.items():
        if isinstance(ef, CyclicEF):
            if ef.records:
                records[path] = [r.hex().upper() for r in ef.records]
        elif isinstance(ef, RecordEF) and "records" in ef.spec:
            for number, (spec, rec) in enumerate(zip(ef.spec["records"], ef.records), 1):
                value = items.decode(spec["fmt"], bytes(rec[2:]))
                try:
                    same = rec[0] == int(spec["tag"], 16) and rec[1] == len(rec) - 2 and \
                        items.encode(spec["fmt"], value, pad) == rec[2:]
                except items.ItemError:
                    same = False
                if same and rec[2:] != items.blank(spec["fmt"]):
                    data.setdefault(path, {})[spec["tag"]] = value
                elif not same:
                    records.setdefault(path, {})[str(number)] = rec.hex().upper()
        elif isinstance(ef, RecordEF) and ef.spec.get("structure") == "linear":
            for i, rec in enumerate(ef.records):
                if any(rec):
                    records.setdefault(path, {})[str(i + 1)] = rec.hex().upper()
        elif isinstance(ef, TransparentEF):
            original = (image.get("files") or {}).get(path)
            if original is not None and not _HEX.match(str(original).replace(" ", "")) and \
                    _same_file(image, path, original, ef):
                files[path] = original
            elif any(ef.data):
                files[path] = bytes(ef.data).rstrip(b"\0").hex().upper()
    for key, value in (("data", data), ("records", records), ("files", files)):
        if value:
            out[key] = value
    out["keys"] = _export_keys(model)
    out["pins"] = _export_pins(model)
    out["state"] = dict(blocks)
    if image.get("defects"):
        out["defects"] = list(image["defects"])
    return out


def _same_file(image: Image, path: str, original, ef: TransparentEF) -> bool:
    try:
        raw = _file_content(image, path, original, ef.size)
    except (ImageError, OSError):
        return False
    return bytes(ef.data[: len(raw)]) == raw and not any(ef.data[len(raw):])


def _export_keys(model: Model) -> dict:
    out: dict = {}
    for path, df in model.dfs.items():
        name = {PKI_HOLDER: "PKI", "PKI": PKI_DF_KEYS}.get(path) or path.removeprefix("SSSE/")
        for number, key in df.keys.items():
            if not key.versions:
                continue
            ref = f"{number | (0x80 if path.startswith('SSSE/') else 0):02X}"
            entry: dict = {"value": key.versions[1].hex().upper()}
            extra = {f"{v:02X}": k.hex().upper() for v, k in key.versions.items() if v != 1}
            if extra:
                entry["versions"] = extra
            if key.tries is not None:
                entry["tries"] = key.tries
            if key.attributes != b"\0\0\0":
                entry["attributes"] = key.attributes.hex().upper()
            out.setdefault(name, {})[ref] = entry if len(entry) > 1 else entry["value"]
    return out


def _export_pins(model: Model) -> dict:
    out = {}
    pin = model.dfs["SSSE"].pins[0]
    out["SSSE"] = {"value": bcd_pin(pin.value), "tries": pin.tries}
    if PKI_HOLDER in model.dfs:
        for ref, pin in model.dfs[PKI_HOLDER].pins.items():
            out["PKI/user" if ref == 0x81 else "PKI/admin"] = {"value": bcd_pin(pin.value), "tries": pin.tries}
    return out
