"""Small helpers for the per-command tests: build a sample card, send hex, authenticate, MAC.

Everything the helpers compute on the terminal side comes from simulator.crypto (checked against
the spec's vectors in test_spec_vectors.py) and the sample keys of spec §5.5; the expected
answers live in the tests, taken from the spec.
"""

from __future__ import annotations

import re
from functools import lru_cache

from simulator import Card, crypto, schemes
from simulator.commands import ByP1, dispatch_table
from simulator.samplekeys import sample_keys
from simulator.samples import sample_image
from specvectors import find_spec

SPEC = find_spec()
SPEC_TEXT = SPEC.read_text(encoding="utf-8")

SSSE_NAME = "7378312E73682EC9E7BBE1B1A3D5CF"
PKI_NAME = "504B492EC9E7BBE1B1A3D5CF"
ADF1_NAME = "53532E434552542E41444631"
SELECT_SSSE = "00A404000F" + SSSE_NAME
AID = {f"DF0{i}": f"D1560000050{b}" for i, b in zip(range(1, 8), "0123564")}  # §2.2
PIN = "123456"


class Challenges:
    """The card's `random`: forced values first (cut to the length asked), then distinct
    counting patterns, so two GET CHALLENGEs never return the same bytes."""

    def __init__(self, *forced: str | bytes):
        self.forced = [bytes.fromhex(f) if isinstance(f, str) else f for f in forced]
        self.calls = 0

    def __call__(self, n: int) -> bytes:
        self.calls += 1
        if self.forced:
            return self.forced.pop(0)[:n]
        return bytes((self.calls * 0x11 + i) & 0xFF for i in range(n))


def image(gen: int = 2, **switches) -> dict:
    out = sample_image(f"gen{gen}")
    if switches:
        out["switches"] = switches
    return out


def make(gen: int = 2, *forced: str, image_dict: dict | None = None, **switches) -> Card:
    """A powered sample card of generation gen (switches as keyword arguments)."""
    card = Card.from_dict(image_dict or image(gen, **switches), random=Challenges(*forced))
    card.power_on()
    return card


def _raw(apdu: str | bytes) -> bytes:
    return apdu if isinstance(apdu, bytes) else bytes.fromhex(apdu.replace(" ", ""))


def send(card: Card, apdu: str | bytes) -> tuple[bytes, str]:
    """(response data, SW as 4 uppercase hex digits)."""
    r = card.transmit(_raw(apdu))
    return r[:-2], r[-2:].hex().upper()


def sw(card: Card, apdu: str | bytes) -> str:
    return send(card, apdu)[1]


def rsp(card: Card, apdu: str | bytes) -> str:
    """The whole R-APDU as uppercase hex (data ‖ SW)."""
    return card.transmit(_raw(apdu)).hex().upper()


def ok(card: Card, *apdus: str | bytes) -> bytes:
    """Send each APDU, requiring 9000; the data of the last one."""
    data = b""
    for apdu in apdus:
        data, status = send(card, apdu)
        assert status == "9000", f"{_raw(apdu).hex().upper()} answered {status}"
    return data


def lc(data: bytes) -> str:
    return f"{len(data):02X}{data.hex().upper()}"


# --- navigation -----------------------------------------------------------------------------

def select_ssse(card: Card) -> None:
    ok(card, "00A4040C0F" + SSSE_NAME)


def select_df(card: Card, df: str) -> None:
    """SSSE, DFnn (inside SSSE), PKI or ADF1 (gen3)."""
    if df == "MF":
        ok(card, "00A40000023F00")
    elif df == "PKI":
        ok(card, "00A4040C0C" + PKI_NAME)
    elif df == "ADF1":
        ok(card, "00A4040C0C" + ADF1_NAME)
    else:
        select_ssse(card)
        if df != "SSSE":
            ok(card, "00A4000002" + df)


def select_ef(card: Card, df: str, ef: str) -> None:
    select_df(card, df)
    ok(card, "00A4020002" + ef)


# --- keys and authentication ----------------------------------------------------------------

def gen_of(card: Card) -> int:
    return card.model.generation


def key(gen: int, df: str, ref: str) -> bytes:
    """A sample card key (§5.5); df is SSSE, DF01..DF07, PKI (SS.CERT.ADF1) or PKI/DF (R2-3),
    named as a card image names them."""
    return bytes.fromhex(sample_keys(gen)[df][ref.upper()])


def algorithm(gen: int) -> str:
    return "sm4" if gen == 3 else "3des"


PKI_KEYS = ("PKI", "PKI/DF")  # the sm4-direct master keys of SS.CERT.ADF1 and of the PKI DF


def scheme(gen: int, df: str = "SSSE") -> str:
    if df in PKI_KEYS:
        return "sm4-direct"
    return "sm4-session" if gen == 3 else "des-session"


def challenge(card: Card, n: int = 8) -> bytes:
    return ok(card, f"00840000{n:02X}")


def ext_auth(gen: int, df: str, ref: str, r: bytes, d: bytes | None = None, version: int | None = None,
             value: bytes | None = None) -> str:
    """EXTERNAL AUTHENTICATE APDU with the right cryptogram for challenge r (§5.4.2-§5.4.5)."""
    k = value if value is not None else key(gen, df, ref)
    if df in PKI_KEYS:
        body = schemes.external_cryptogram("sm4-direct", k, r)
    else:
        d = crypto.r8(r) if d is None else d
        body = schemes.external_cryptogram(scheme(gen), k, r, d) + d
    if version is not None:
        body += bytes([version])
    return f"008200{ref}" + lc(body)


def authenticate(card: Card, ref: str, df: str | None = None) -> str:
    """GET CHALLENGE then EXTERNAL AUTHENTICATE with the sample key; returns the SW.
    df names the key's owner (default: SSSE for b8 = 0, else the current DF)."""
    if df is None:
        df = card.current_df.name if int(ref, 16) & 0x80 else "SSSE"
        df = {"SS.CERT.ADF1": "PKI", "PKI": "PKI/DF"}.get(df, df)
    r = challenge(card)
    return sw(card, ext_auth(gen_of(card), df, ref, r))


def verify(card: Card, pin: str = PIN) -> str:
    return sw(card, "00200000" + lc(schemes.pin_bcd(pin)))


def mac84(card: Card, header: str, body: bytes = b"", ref: str = "08", n: int = 8,
          value: bytes | None = None) -> str:
    """A CLA 84 SSSE command (§5.4.7): GET CHALLENGE (n bytes), then header ‖ Lc ‖ body ‖ MAC,
    the MAC over header ‖ Lc ‖ body with the SSSE key ref and ICV = the challenge."""
    gen = gen_of(card)
    r = challenge(card, n)
    k = value if value is not None else key(gen, "SSSE", ref)
    head = bytes.fromhex(header) + bytes([len(body) + 4])
    return (head + body + crypto.mac(algorithm(gen), k, head + body, r)).hex().upper()


def block_application(card: Card, permanent: bool = False) -> None:
    select_ssse(card)
    ok(card, mac84(card, "841E00" + ("01" if permanent else "00")))


def registered(cla: int, ins: int, p1: int | None = None) -> bool:
    """Whether the engine declares a command (the PKI family may land later)."""
    entry = dispatch_table().get(ins, {}).get(cla)
    return entry is not None and (p1 is None or not isinstance(entry, ByP1) or p1 in entry.by_p1)


# --- spec tables ----------------------------------------------------------------------------

def _section(title: str) -> str:
    start = SPEC_TEXT.index(title)
    end = SPEC_TEXT.find("\n#", start + len(title))
    return SPEC_TEXT[start:end]


def _codes(row: str) -> list[str]:
    return re.findall(r"`([0-9A-F]+)`", row)


@lru_cache(maxsize=None)
def sample_records() -> dict[tuple[int, str], dict[int, str]]:
    """{(gen, "EF05"|"EF06"|"EF0D"): {record number: record hex}} from the §3.8 tables."""
    text = _section("### 3.8 Synthetic sample person and cards")
    out: dict = {}
    part = text.split("SSSE/EF05 records", 1)[1]
    for line in part.split("SSSE/EF06 records")[0].splitlines():
        m = re.match(r"\|\s*(\d)\s*\|", line)
        if m and len(_codes(line)) == 3:
            for gen, code in zip((1, 2, 3), _codes(line)):
                out.setdefault((gen, "EF05"), {})[int(m.group(1))] = code
    part = text.split("SSSE/EF06 records", 1)[1].split("SSSE/EF0D records")[0]
    for line in part.splitlines():
        m = re.match(r"\|\s*EF06\s*\|\s*(\d|—)\s*\|\s*(\d)\s*\|\s*`([0-9A-F]+)`", line)
        if m:
            g1, g23, code = m.groups()
            if g1 != "—":
                out.setdefault((1, "EF06"), {})[int(g1)] = code
            for gen in (2, 3):
                out.setdefault((gen, "EF06"), {})[int(g23)] = code
    part = text.split("SSSE/EF0D records", 1)[1].split("DF01 records")[0]
    for line in part.splitlines():
        m = re.match(r"\|\s*(\d)\s*\|\s*`([0-9A-F]+)`", line)
        if m:
            out.setdefault((3, "EF0D"), {})[int(m.group(1))] = m.group(2)
    return out


@lru_cache(maxsize=None)
def default_fci() -> dict[str, str]:
    """The 'Default FCI' table of §4.5: {"SSSE": hex, "PKI": hex, "SS.CERT.ADF1": hex, "DF01": hex}."""
    text = _section("### 4.5 SELECT")
    out = {}
    for line in text.splitlines():
        m = re.match(r"\|\s*(SSSE|PKI|SS\.CERT\.ADF1|DF01) (?:\(by AID\) )?\|\s*`(6F[0-9A-F]+)`", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out
