"""Shared pieces of the PKI command tests: a terminal side independent of simulator.crypto
(`cryptography` for SM3/SM4, snowland-smx for SM2) and small card helpers."""

from __future__ import annotations

import copy

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from simulator import Card
from simulator.samples import sample_image
from specvectors import load_spec_vectors

pysmx_sm2 = pytest.importorskip("pysmx.SM2", reason="snowland-smx (test extra) not installed")

H = bytes.fromhex
V = {v.name: v for v in load_spec_vectors()}
PKI_NAME, ADF1_NAME = "504B492EC9E7BBE1B1A3D5CF", "53532E434552542E41444631"
SSSE_NAME = "7378312E73682EC9E7BBE1B1A3D5CF"
USER, ADMIN = H("123456"), H("12345678")
MK = H("0D84307FE5546DBC0D31F3561E501477")  # §5.5, the gen3 sample's PKI master key
N = int(pysmx_sm2.sm2_N)  # the SM2 group order
ENV, IMP = V["SM2-ENVELOPE"], V["SM2-IMPORT"]
SIGN_REFS = "C0020012C2020013"
GOOD_MK = V["PKI-CHANGE-MK"].fields["APDU"]


# --- terminal side, independent of simulator.crypto ----------------------------------------------

def sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def sm4(key: bytes, data: bytes, decrypt: bool = False) -> bytes:
    cipher = Cipher(algorithms.SM4(key), modes.ECB())
    ctx = cipher.decryptor() if decrypt else cipher.encryptor()
    return ctx.update(data) + ctx.finalize()


def pad80(data: bytes) -> bytes:
    data += b"\x80"
    return data + bytes(-len(data) % 16)


def sm4_mac(key: bytes, data: bytes, iv: bytes) -> bytes:
    """§5.4.6: SM4-CBC over pad80(data), fold4 of the last block."""
    y = iv
    padded = pad80(data)
    for i in range(0, len(padded), 16):
        y = sm4(key, bytes(a ^ b for a, b in zip(y, padded[i:i + 16])))
    return bytes(y[i] ^ y[i + 4] ^ y[i + 8] ^ y[i + 12] for i in range(4))


def verify_ct(pin: bytes, r: bytes) -> bytes:
    return sm4(sm3(pin)[:16], r)


def change_pin_apdu(old: bytes, p2: int, r: bytes, plain: bytes) -> str:
    key = sm3(old)[:16]
    body = sm4(key, plain)
    header = bytes([0x84, 0x5E, 0x01, p2, 0x14])
    return (header + body + sm4_mac(key, header + body, r)).hex()


def change_mk_apdu(old: bytes, r: bytes, plain: bytes, mac_key: bytes | None = None) -> str:
    body = sm4(old, plain)
    header = bytes.fromhex("84D4010024")
    return (header + body + sm4_mac(mac_key or old, header + body, r)).hex()


# --- card helpers ----------------------------------------------------------------------------

class Forced:
    """The card's random source: queued values first (exact length), then distinct patterns."""

    def __init__(self):
        self.queue: list[bytes] = []
        self.calls = 0

    def __call__(self, n: int) -> bytes:
        self.calls += 1
        if self.queue:
            value = self.queue.pop(0)
            assert len(value) == n, (len(value), n)
            return value
        return bytes((self.calls * 0x1D + i * 7) & 0xFF for i in range(n))


def blank_image(**switches) -> dict:
    """The gen3 sample with its PKI key and certificate files blank (as before personalisation)."""
    image = copy.deepcopy(sample_image("gen3"))
    image["files"] = {p: v for p, v in (image.get("files") or {}).items() if not p.startswith("PKI/")}
    if switches:
        image["switches"] = switches
    return image


def with_envelope_keys(**switches) -> dict:
    image = blank_image(**switches)
    image["files"].update({"PKI/SS.CERT.ADF1/0012": ENV.fields["EF0012"], "PKI/SS.CERT.ADF1/0013": ENV.fields["D"]})
    return image


def card_at(where: str = "ADF1", image: dict | None = None, **switches) -> Card:
    card = Card.from_dict(image or blank_image(**switches), random=Forced())
    card.power_on()
    if where == "SSSE":
        assert sw(card, "00A404000F" + SSSE_NAME) in ("6118", "9000")
    if where in ("PKI", "ADF1"):
        assert sw(card, "00A4040C0C" + PKI_NAME) == "9000"
    if where == "ADF1":
        assert sw(card, "00A4040C0C" + ADF1_NAME) == "9000"
    return card


def send(card: Card, apdu: str) -> tuple[bytes, str]:
    r = card.transmit(H(apdu.replace(" ", "")))
    return r[:-2], r[-2:].hex().upper()


def sw(card: Card, apdu: str) -> str:
    return send(card, apdu)[1]


def challenge(card: Card, value: bytes | str | None = None) -> bytes:
    if value is not None:
        card.random.queue.append(H(value) if isinstance(value, str) else value)
    data, status = send(card, "0084000010")
    assert status == "9000" and len(data) == 16
    return data


def verify(card: Card, p2: int, pin: bytes) -> str:
    r = challenge(card)
    return sw(card, f"002001{p2:02X}10" + verify_ct(pin, r).hex())


def pki_file(card: Card, fid: str) -> bytes:
    return bytes(card.model.efs[f"PKI/SS.CERT.ADF1/{fid}"].data)


def pin_tries(card: Card, ref: int) -> int:
    return card.model.dfs["PKI/SS.CERT.ADF1"].pins[ref].tries
