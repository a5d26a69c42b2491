"""What `sscard card read` prints: what a reader application sees, SSSE and DF01 data read through APDUs only.

`read_card(transmit, image)` selects SSSE, authenticates with the read key where the
generation needs it (gen3), reads every record of every TLV EF of SSSE, selects DF01, verifies
the cardholder PIN and reads DF01's records; then the same in every DF where the image's
`layout:` declares EFs (§9.1), whose TLV EFs are read like the built-in ones. Values are
decoded from the bytes the card answered; the profile data and the image's layout give only the
file layout and the item names. The image is used for the secrets a terminal holds (key 0A, the
PIN) and the profile. Any card works: an emulated one (`Card.transmit`) or a physical one behind
a reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from simulator import items
from simulator.codecs import record_item
from simulator.layout import card_tree, declared
from simulator.profile import profile_data
from terminal import ApduError, KeySet, SsseSession

Transmit = Callable[[bytes], bytes]
Trace = Callable[[bytes, bytes], None]

SSSE_NAME = bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF")
# English names of the DF items (the profile data carries English names for SSSE items only).
EN_FALLBACK = {
    "20": "household-registration region", "21": "household-registration address",
    "23": "mailing address", "24": "postcode", "28": "phone", "29": "personal status",
    "2A": "marital status", "2F": "person category", "30": "employer code",
    "37": "nationality", "38": "political status", "3A": "education",
}


class ReadError(Exception):
    """The card refused something a reader cannot do without (SELECT of SSSE)."""


@dataclass(frozen=True)
class Row:
    """One line of the read-out: a record (record >= 1) or a step such as VERIFY (record 0)."""

    file: str           # "SSSE/EF05", "SSSE/DF01/EF06"
    record: int
    tag: str            # 2 hex digits, "" for a step or a record the card did not give
    item: str           # 中文 name (or the step's name)
    en: str
    value: str          # decoded value (an: text, cn: digits, b: hex), or the step's outcome
    sw: str             # final status word, with any 61xx / 6Cxx before it: "6C0B 9000"
    raw: bytes = b""    # record bytes as answered


# --- the terminal session, with every status word kept -------------------------------------

class _Transmit:
    """`transmit` as a terminal Slot (the card is already powered: no reset here)."""

    def __init__(self, transmit: Transmit):
        self.transmit = transmit

    def reset(self) -> bytes:
        raise NotImplementedError("the read-out works on a powered card")


class _Reader:
    """An SsseSession over `transmit` (GET RESPONSE after 61xx, resend after 6Cxx) whose `do`
    never raises: (data, final SW, every SW the command saw, 61xx and 6Cxx included)."""

    def __init__(self, transmit: Transmit, trace: Trace | None = None):
        self.sws: list[int] = []

        def hook(command: bytes, response: bytes) -> None:
            self.sws.append(int.from_bytes(response[-2:], "big"))
            if trace is not None:
                trace(command, response)
        self.session = SsseSession(_Transmit(transmit), trace=hook)

    def do(self, method, *args, **kwargs) -> tuple[bytes, int, list[int]]:
        self.sws = []
        try:
            data, sw = method(*args, **kwargs) or b"", 0x9000
        except ApduError as exc:
            data, sw = exc.data, exc.sw
        return data, sw, self.sws


def exchange(transmit: Transmit, apdu: bytes, trace: Trace | None = None) -> tuple[bytes, int, list[int]]:
    """(data, final SW, every SW seen) of one command."""
    reader = _Reader(transmit, trace)
    return reader.do(reader.session.send, apdu)


def _sw_text(sws: list[int]) -> str:
    return " ".join(f"{sw:04X}" for sw in sws)


# --- the profile's layout ------------------------------------------------------------------

def _present(entry: dict, generation: int) -> bool:
    return generation in entry.get("gens", (1, 2, 3))


def tlv_files(df_path: str, generation: int, tree: list | None = None) -> list[tuple[str, int | None, list[dict]]]:
    """(path, SFI or None, record specs) of every TLV EF directly in the DF, from the card's tree
    (simulator.layout.card_tree: the profile data with the image's layout:, §9.1)."""
    def find(entries, path):
        for entry in entries:
            name = f"{path}/{entry['df']}" if path else entry["df"]
            if name == df_path:
                return entry
            found = find(entry.get("children", ()), name)
            if found:
                return found
        return None

    df = find(tree or profile_data()["tree"], "")
    if df is None or not _present(df, generation):
        return []
    out = []
    for f in df.get("files", ()):
        if f.get("structure") == "tlv" and _present(f, generation):
            records = [r for r in f["records"] if _present(r, generation)]
            sfi = f["sfi"] if "sfi" in f else int(f["ef"], 16) & 0xFF  # a layout: entry may set its own
            out.append((f"{df_path}/{f['ef']}", sfi, records))
    return out


def item_names(spec: dict) -> tuple[str, str]:
    tag = spec["tag"].upper()
    return spec.get("item", ""), spec.get("en") or EN_FALLBACK.get(tag, "")


def decode_record(raw: bytes, specs: list[dict]) -> tuple[str, str, str, str]:
    """(tag, 中文, English, value) of a TLV record, by its own tag and length bytes."""
    item = record_item(raw, lenient=True)
    if item is None:
        return "", "", "", raw.hex().upper()
    tag, value = f"{item[0]:02X}", item[1]
    spec = next((s for s in specs if s["tag"].upper() == tag), None)
    if spec is None:
        return tag, "?", "unknown tag", value.hex().upper()
    zh, en = item_names(spec)
    return tag, zh, en, str(items.decode(spec["fmt"], value))


# --- the read-out ------------------------------------------------------------------------------

def _secret(image: dict, *path) -> str | None:
    node = image
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    if isinstance(node, dict):
        node = node.get("value")
    return None if node is None else str(node)


def _read_df(reader: _Reader, df_path: str, generation: int, tree: list | None = None) -> list[Row]:
    rows = []
    for path, sfi, specs in tlv_files(df_path, generation, tree):
        if sfi is None:  # an EF without SFI (layout sfi: none): SELECT it, then read the current EF
            reader.do(reader.session.select_fid, path[-4:])
        for number in range(1, len(specs) + 1):
            data, sw, sws = reader.do(reader.session.read_record, number, sfi=sfi or 0)
            if sw == 0x9000:
                tag, zh, en, value = decode_record(data, specs)
            else:
                tag, (zh, en), value = "", item_names(specs[number - 1]), ""
            rows.append(Row(path, number, tag, zh, en, value, _sw_text(sws), data))
    return rows


def _step(rows: list[Row], where: str, zh: str, en: str, outcome: str, sws: list[int]) -> int:
    rows.append(Row(where, 0, "", zh, en, outcome, _sw_text(sws)))
    return sws[-1] if sws else 0x6F00


def authenticate(reader: _Reader, key: bytes, scheme: str, ref: int) -> list[int]:
    """GET CHALLENGE (8 bytes) + EXTERNAL AUTHENTICATE with C ‖ D, D = the challenge: every SW."""
    keys = KeySet(lambda ref, df: (key, scheme), "sm4" if scheme.startswith("sm4") else "3des")
    return reader.do(reader.session.external_authenticate, ref, keys, "SSSE")[2]


def read_card(transmit: Transmit, image: dict, trace: Trace | None = None) -> list[Row]:
    """Read SSSE (EF05, EF06, EF0D on gen3), DF01 and every DF the image's layout: declares EFs
    in, the way a terminal does; see module doc."""
    generation = int(str(image["profile"]).removeprefix("gen"))
    tree = card_tree(image)
    rows: list[Row] = []
    reader = _Reader(transmit, trace)
    _, sw, sws = reader.do(reader.session.select)
    if sw != 0x9000:
        raise ReadError(f"SELECT SSSE by name answered {_sw_text(sws)}")
    _step(rows, "SSSE", "选择", "SELECT by name", "selected", sws)
    if generation == 3:
        key = _secret(image, "keys", "SSSE", "0A")
        if key is None:
            _step(rows, "SSSE", "外部认证", "EXTERNAL AUTHENTICATE 0A", "no key 0A in the image", [])
        else:
            sws = authenticate(reader, bytes.fromhex(key), "sm4-session", 0x0A)
            ok = sws[-1:] == [0x9000]
            _step(rows, "SSSE", "外部认证", "EXTERNAL AUTHENTICATE 0A",
                  "authenticated" if ok else "refused", sws)
    rows += _read_df(reader, "SSSE", generation, tree)
    pin = _secret(image, "pins", "SSSE") or str((image.get("switches") or {}).get("default_pin", "123456"))
    refused = False  # a refused PIN is not tried again: each try counts on a physical card
    for df in ["DF01"] + sorted(set(declared(image)) - {"DF01"}):
        _, sw, sws = reader.do(reader.session.select_df, df)
        _step(rows, f"SSSE/{df}", "选择", f"SELECT {df}", "selected" if sw == 0x9000 else "not selected", sws)
        if sw != 0x9000:
            continue
        if refused:
            _step(rows, f"SSSE/{df}", "校验PIN", "VERIFY", "not tried: refused before", [])
        else:
            _, sw, sws = reader.do(reader.session.verify, pin)
            refused = sw != 0x9000
            _step(rows, f"SSSE/{df}", "校验PIN", "VERIFY", "refused" if refused else "verified", sws)
        rows += _read_df(reader, f"SSSE/{df}", generation, tree)
    return rows
