"""The emulated PSAM (docs/spec/ssc-terminal.md §2): the terminal's secure access module.

A card like `Card` (`power_on`, `transmit` that never raises, `reset`, `power_off`): it holds
issuer root keys by index, BF DE diversifies one for a card (city factor, then card factor) and
80 FA encrypts or MACs with the resulting working key W. Its knowledge is data
(profiles/psam.yaml); images (YAML) give the profile, transport, terminal number, serial and
root keys:

    profile: no-rk                  # default | no-rk | des-only | sm4-only
    transport: t0                   # t0 (61xx, GET RESPONSE) | t1
    terminal_number: "440300000001"
    serial: "44030000000000000001"
    keys: {"11": A3CD34C9E66BA5B7B00195196A14918B, "13": null}   # root per index; null drops it
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

import yaml

from . import crypto, samplekeys, schemes
from .apdu import APDUError, CommandAPDU
from .contacts import Contacts
from .image import Image, ImageError, load_image
from .samplekeys import DF_KEY_REFS
from .sw import CardStatus

log = logging.getLogger(__name__)

SW_9000 = b"\x90\x00"
IMAGE_KEYS = ("profile", "transport", "terminal_number", "serial", "keys")
TRANSPORTS = ("t0", "t1")
BLOCK = {"des": 8, "3des": 8, "sm4": 16}
ECB = {"des": crypto.des_encrypt, "3des": crypto.tdes_encrypt, "sm4": crypto.sm4_encrypt}


@functools.cache
def psam_data() -> dict:
    with open(Path(__file__).with_name("profiles") / "psam.yaml", encoding="utf-8") as f:
        return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


PROFILES = tuple(psam_data()["profiles"])


@functools.cache
def default_key_table() -> dict[int, str]:
    """PSAM index -> root label designation/P2 (§2.2), SSSE keys and the card's DF keys."""
    data = psam_data()
    table = {int(i, 16): label for i, label in data["key_table"].items()}
    step = data["df_key_index"]["step"]
    for n, df in enumerate(data["df_key_index"]["dfs"], start=1):
        for p2 in DF_KEY_REFS[df]:
            table[step * (n + 1) + (int(p2, 16) & 0x0F)] = f"{df}/{p2}"
    return table


def command_name(apdu: bytes) -> str:
    """The PSAM's name for a C-APDU's command (for traces)."""
    if len(apdu) < 2:
        return "(too short)"
    cmd = psam_data()["commands"].get(bytes(apdu[:2]).hex().upper())
    return cmd["name"] if cmd else f"CLA {apdu[0]:02X} INS {apdu[1]:02X}"


class Psam(Contacts):
    """An emulated PSAM of one profile (ssc-terminal.md §2.1-§2.4, §4.6)."""

    def __init__(self, profile: str = "default", transport: str = "t0",
                 terminal_number: str | None = None, serial: str | None = None,
                 roots: dict[int, bytes | None] | None = None):
        data = psam_data()
        if profile not in data["profiles"]:
            raise ValueError(f"PSAM profile must be one of {', '.join(PROFILES)}, got {profile!r}")
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be t0 or t1, got {transport!r}")
        defaults = data["defaults"]
        self.terminal_number = _digits(terminal_number or defaults["terminal_number"], 12,
                                       "terminal_number")
        self.serial = _digits(serial or defaults["serial"], 20, "serial")
        self.profile, self.transport, self.t0 = profile, transport, transport == "t0"
        self.atr = bytes.fromhex(data["atr"][transport])
        spec = data["profiles"][profile]
        self.dfs = {name: df for name, df in data["dfs"].items() if df["app"] in spec["apps"]}
        self.roots: dict[int, bytes] = {
            i: samplekeys.sample_root_key(f"SSC-DEMO-ROOT/{label}")
            for i, label in default_key_table().items()}
        for index in spec.get("drop", ()):
            self.roots.pop(int(index, 16), None)
        for index, root in (roots or {}).items():
            if root is None:
                self.roots.pop(index, None)
            else:
                if len(root) != 16:
                    raise ValueError(f"root key {index:02X} must be 16 bytes, got {len(root)}")
                self.roots[index] = bytes(root)
        fill = {"serial": self.serial, "terminal_number": self.terminal_number}
        self.files = {f["sfi"]: (fid, bytes.fromhex(f["content"].format(**fill)))
                      for fid, f in data["mf_files"].items()}
        self.current = "MF"                 # MF or a name of `dfs`
        self.working: tuple[str, bytes] | None = None   # (cipher: des | 3des | sm4, W)
        self.response: bytes | None = None  # GET RESPONSE buffer (card PD-04 rules)
        self.powered = False

    command_name = staticmethod(command_name)   # for traces: the PSAM's own command names

    # construction ---------------------------------------------------------------------------

    @classmethod
    def builtin(cls, profile: str = "default", transport: str = "t0") -> "Psam":
        return cls(profile, transport)

    @classmethod
    def from_image(cls, path) -> "Psam":
        return cls._from(load_image(Path(path), validate=validate_image, kind="PSAM image"))

    @classmethod
    def from_dict(cls, data: dict, source: str = "<memory>") -> "Psam":
        image = Image(data)
        image.source, image.path, image.lines = source, None, {}
        validate_image(image)
        return cls._from(image)

    @classmethod
    def _from(cls, image: Image) -> "Psam":
        roots = {int(i, 16): (bytes.fromhex(v) if v is not None else None)
                 for i, v in (image.get("keys") or {}).items()}
        return cls(image.get("profile", "default"), image.get("transport", "t0"),
                   image.get("terminal_number"), image.get("serial"), roots)

    def export_image(self) -> dict:
        """This PSAM as an image: every root key written out."""
        return {"profile": self.profile, "transport": self.transport,
                "terminal_number": self.terminal_number, "serial": self.serial,
                "keys": {f"{i:02X}": k.hex().upper() for i, k in sorted(self.roots.items())}}

    # power ----------------------------------------------------------------------------------

    # power_on, reset, power_off and close: Contacts

    def _clear_volatile(self) -> None:
        self.current, self.working, self.response = "MF", None, None   # PD-T06

    # transmit -------------------------------------------------------------------------------

    def transmit(self, raw: bytes) -> bytes:
        """One C-APDU in, one R-APDU out; never raises (6F00 on an internal fault)."""
        try:
            return self._transmit(bytes(raw))
        except Exception:
            log.exception("PSAM internal fault on C-APDU %r", raw)   # raw may not even be bytes
            return b"\x6f\x00"

    def _transmit(self, raw: bytes) -> bytes:
        if not self.powered:
            self.power_on()
        buffered, self.response = self.response, None  # the buffer lives until the next command
        if len(raw) < 2:
            return b"\x67\x00"
        commands = psam_data()["commands"]
        cmd = commands.get(raw[:2].hex().upper())
        if cmd is None:   # order of checks PD-T07: CLA, then INS
            known_cla = {bytes.fromhex(k)[0] for k in commands}
            known_ins = {bytes.fromhex(k)[1] for k in commands}
            return b"\x6e\x00" if raw[0] not in known_cla or raw[1] in known_ins else b"\x6d\x00"
        handler = getattr(self, "_" + raw[:2].hex())
        if raw[1] in (0xA4, 0xDE):       # any SELECT and any BF DE, a failed one too, clears W
            self.working = None
        try:
            apdu = CommandAPDU.parse(raw)
        except APDUError:
            return b"\x67\x00"
        if (cmd["data"] == "none") != (apdu.data is None):
            return b"\x67\x00"
        try:
            data = handler(apdu, buffered)
        except CardStatus as status:
            return status.sw.to_bytes(2, "big")
        if data is None:
            return SW_9000
        n = len(data)
        if self.t0 and apdu.data is not None:
            self.response = data
            return bytes((0x61, n & 0xFF))
        return data + SW_9000

    def _check_le(self, apdu: CommandAPDU, n: int) -> None:
        """6Cxx before any effect when the Le rules (card §4.2) refuse n bytes."""
        if apdu.le is not None and apdu.le < n and not (self.t0 and apdu.data is not None):
            raise CardStatus(0x6C00 | (n & 0xFF))

    # commands (§2.4) ------------------------------------------------------------------------

    def _00a4(self, apdu: CommandAPDU, _buffered) -> bytes | None:
        """SELECT by name (P1 04) or by FID (P1 00); FCI unless P2 = 0C."""
        p1, data = apdu.p1, apdu.data
        if (p1 == 0x00 and len(data) != 2) or (p1 == 0x04 and len(data) > 16):
            raise CardStatus(0x6700)
        if p1 not in (0x00, 0x04) or apdu.p2 not in (0x00, 0x0C):
            raise CardStatus(0x6A86)
        target = self._find(p1, data)
        if target is None:
            raise CardStatus(0x6A82)
        fci = None
        if apdu.p2 == 0x00 and target in self.dfs:
            fci = bytes.fromhex(self.dfs[target]["fci"])
            self._check_le(apdu, len(fci))
        if target in ("MF",) or target in self.dfs:   # an EF of the MF leaves the MF current
            self.current = target
        return fci

    def _find(self, p1: int, data: bytes) -> str | None:
        if p1 == 0x04:
            return next((n for n, df in self.dfs.items() if df.get("name") == data.hex().upper()), None)
        fid = data.hex().upper()
        if fid == "3F00":
            return "MF"
        if self.current == "MF":
            found = next((fid for _sfi, (f, _c) in self.files.items() if f == fid), None)
            if found:
                return found
        return next((n for n, df in self.dfs.items()
                     if df.get("fid") == fid and df.get("parent") == self.current), None)

    def _00b0(self, apdu: CommandAPDU, _buffered) -> bytes:
        """READ BINARY, SFI form only (P1 = 80 + SFI), only while the MF is current."""
        if apdu.p1 & 0xE0 != 0x80:
            raise CardStatus(0x6A86)
        entry = self.files.get(apdu.p1 & 0x1F)
        if entry is None or self.current != "MF":
            raise CardStatus(0x6A82)
        content = entry[1]
        if apdu.p2 >= len(content):
            raise CardStatus(0x6B00)
        return content[apdu.p2: apdu.p2 + (apdu.le or 256)]   # what exists, never 6Cxx

    def _00c0(self, apdu: CommandAPDU, buffered: bytes | None) -> bytes:
        """GET RESPONSE (card §4.18): all of the buffer, or 6Cxx keeping it."""
        if apdu.p1 or apdu.p2:
            raise CardStatus(0x6A86)
        if buffered is None:
            raise CardStatus(0x6985)
        if apdu.le is not None and apdu.le < len(buffered):
            self.response = buffered
            raise CardStatus(0x6C00 | (len(buffered) & 0xFF))
        return buffered

    def _bfde(self, apdu: CommandAPDU, _buffered) -> None:
        """DIVERSIFY: W = K_card (Lc 10) or W = E(K_card, PF) (Lc 18 DES, 20 SM4), §2.3."""
        if apdu.p1 != psam_data()["bf_de_p1"]:
            raise CardStatus(0x6A86)
        algorithm = self.dfs.get(self.current, {}).get("keys")
        if algorithm is None:
            raise CardStatus(0x6985)
        data = apdu.data
        if len(data) not in (16, 16 + BLOCK[algorithm]):
            raise CardStatus(0x6700)
        root = self.roots.get(apdu.p2)
        if root is None:
            raise CardStatus(0x6A88)
        self.working = working_key(algorithm, root, data)
        return None

    def _80fa(self, apdu: CommandAPDU, _buffered) -> bytes:
        """ENCRYPT (P1 00, ECB) or MAC (P1 05: ICV ‖ padded message, 4 bytes) with W."""
        if apdu.p1 not in (0x00, 0x05) or apdu.p2:
            raise CardStatus(0x6A86)
        if self.working is None:
            raise CardStatus(0x6985)
        cipher, w = self.working
        size, data = BLOCK[cipher], apdu.data
        if len(data) % size or (apdu.p1 == 0x05 and len(data) < 2 * size):
            raise CardStatus(0x6700)
        out = compute(cipher, w, apdu.p1, data)
        self._check_le(apdu, len(out))
        return out


def working_key(algorithm: str, root: bytes, data: bytes) -> tuple[str, bytes]:
    """BF DE (§2.3): data = cardDiv ‖ cityDiv [‖ PF]; K_card = div(div(root, cityDiv), cardDiv);
    W = K_card, or its encryption of PF (single DES for 3DES keys, SM4). (cipher, W)."""
    k_card = schemes.diversify_chain(algorithm, root, data[8:16], data[0:8])
    if len(data) == 16:
        return algorithm, k_card
    return ("des" if algorithm == "3des" else "sm4"), ECB[algorithm](k_card, data[16:])


def compute(cipher: str, w: bytes, p1: int, data: bytes) -> bytes:
    """80 FA (§2.4): P1 00 ECB over the blocks, P1 05 the MAC of ICV (first block) ‖ message."""
    size = BLOCK[cipher]
    return ECB[cipher](w, data) if p1 == 0x00 else cbc_mac(cipher, w, data[:size], data[size:])


def cbc_mac(cipher: str, w: bytes, icv: bytes, message: bytes) -> bytes:
    """4-byte MAC over an already padded message: retail MAC (3des), single-DES CBC-MAC (des),
    SM4 CBC-MAC with fold4 (sm4) (card §5.4.6, without the padding step)."""
    size = BLOCK[cipher]
    chain = crypto.des_encrypt if cipher == "3des" else ECB[cipher]
    key = w[:8] if cipher == "3des" else w
    y = icv
    for start in range(0, len(message), size):
        x = bytes(a ^ b for a, b in zip(y, message[start: start + size]))
        last = start + size == len(message)
        y = ECB[cipher](w, x) if last else chain(key, x)
    return crypto.fold4(y) if cipher == "sm4" else y[:4]


# images ---------------------------------------------------------------------------------------

def _digits(value, count: int, what: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(rf"[0-9]{{{count}}}", value):
        raise ValueError(f"{what} must be a quoted string of {count} digits, got {value!r}")
    return value


def validate_image(image: Image) -> None:
    """A PSAM image (module docstring): unknown keys and bad values refused with file:line."""
    if image.get("profile") in ("gen1", "gen2", "gen3"):
        raise image.error(("profile",), f"profile {image['profile']} is a card profile: this is a card "
                          f"image, not a PSAM image (PSAM profiles: {', '.join(PROFILES)})")
    for key in image:
        if key not in IMAGE_KEYS:
            raise image.error((key,), f"unknown key {key!r} in a PSAM image (known: {', '.join(IMAGE_KEYS)})")
    if image.get("profile", "default") not in PROFILES:
        raise image.error(("profile",), f"profile must be one of {', '.join(PROFILES)}, "
                          f"got {image.get('profile')!r}")
    if image.get("transport", "t0") not in TRANSPORTS:
        raise image.error(("transport",), f"transport must be t0 or t1, got {image.get('transport')!r}")
    for key, count in (("terminal_number", 12), ("serial", 20)):
        if key in image:
            try:
                _digits(image[key], count, key)
            except ValueError as exc:
                raise image.error((key,), str(exc)) from None
    keys = image.get("keys", {})
    if not isinstance(keys, dict):
        raise image.error(("keys",), "keys must be a mapping of PSAM index (2 hex digits) to a root key")
    for index, value in keys.items():
        if not re.fullmatch(r"[0-9A-Fa-f]{2}", index):
            raise image.error(("keys", index), f"key index must be 2 hex digits (P2 of BF DE), got {index!r}")
        if value is not None and not (isinstance(value, str) and re.fullmatch(r"[0-9A-Fa-f]{32}", value)):
            raise image.error(("keys", index), f"root key {index} must be 32 hex digits (16 bytes) "
                              f"or null to drop the record, got {value!r}")


__all__ = ["Psam", "PROFILES", "command_name", "cbc_mac", "compute", "default_key_table",
           "validate_image", "working_key", "ImageError"]
