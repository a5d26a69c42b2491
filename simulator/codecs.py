"""Structures the card and the tester exchange, declared with construct; each declaration has its
own examples `(bytes, value)` beside it, and tests/unit/test_codec_examples.py checks every one
(parse gives the value, build gives the bytes back). The ATR is declared in `atr`.
"""

from __future__ import annotations

from construct import (
    Byte, Bytes, Const, Construct, GreedyBytes, Int16ub, Optional, Prefixed, Struct, stream_read, stream_write,
)

from .tlv import encode_length


class _BerLength(Construct):
    """A BER length (7816-4 §5.2): one byte below 80, else 81 LL / 82 LL LL."""

    def _parse(self, stream, context, path):
        first = stream_read(stream, 1, path)[0]
        if first < 0x80:
            return first
        return int.from_bytes(stream_read(stream, first & 0x7F, path), "big")

    def _build(self, obj, stream, context, path):
        stream_write(stream, encode_length(obj), len(encode_length(obj)), path)
        return obj


BerLength = _BerLength()
BER_LENGTH_EXAMPLES = [(b"\x7F", 0x7F), (b"\x81\x80", 0x80), (b"\x82\x01\x00", 0x100)]

# A record of a TLV record EF (§2.7): tag(1) ‖ len(1) ‖ value; the value's format (an/cn/b) is the
# item's, from the profile (items.decode).
Record = Struct("tag" / Byte, "value" / Prefixed(Byte, GreedyBytes))
RECORD_EXAMPLES = [
    (bytes.fromhex("0304322E3030"), {"tag": 0x03, "value": b"2.00"}),             # EF05 03 card version (an4)
    (bytes.fromhex("0A0131"), {"tag": 0x0A, "value": b"1"}),                       # EF06 0A sex (an1)
]


def record_item(record: bytes, lenient: bool = False) -> tuple[int, bytes] | None:
    """(tag, value) of a `tag len value` record; bytes after the value (padding) are ignored.
    None when it is not one: shorter than tag and length, or (unless lenient, for showing a
    broken answer) a length that runs past the end, where lenient gives the value that is there."""
    if len(record) < 2:
        return None
    if 2 + record[1] > len(record):
        return (record[0], bytes(record[2:])) if lenient else None
    item = Record.parse(record[:2 + record[1]])
    return item.tag, item.value


# FCI returned by SELECT by name (§4.5): 6F L 84 Ln <DF name> [A5 03 88 01 <DIR SFI>] [extra].
_FCIBody = Struct(
    Const(b"\x84"),
    "df_name" / Prefixed(Byte, GreedyBytes),
    "dir" / Optional(Struct(Const(b"\xA5\x03\x88\x01"), "sfi" / Byte)),
    "extra" / GreedyBytes,
)
FCI = Struct(Const(b"\x6F"), "body" / Prefixed(BerLength, _FCIBody))
FCI_EXAMPLES = [
    (bytes.fromhex("6F8184840C504B492EC9E7BBE1B1A3D5CF") + bytes(118),   # a long fci_extra: 81 LL
     {"body": {"df_name": bytes.fromhex("504B492EC9E7BBE1B1A3D5CF"), "dir": None, "extra": bytes(118)}}),
    (bytes.fromhex("6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B"),
     {"body": {"df_name": bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF"), "dir": {"sfi": 0x0B}, "extra": b""}}),
    (bytes.fromhex("6F088406D15600000500"),
     {"body": {"df_name": bytes.fromhex("D15600000500"), "dir": None, "extra": b""}}),
]


def build_fci(df_name: bytes, dir_sfi: int | None, extra: bytes = b"") -> bytes:
    dir_ = {"sfi": dir_sfi} if dir_sfi is not None else None
    return FCI.build({"body": {"df_name": df_name, "dir": dir_, "extra": extra}})


# --- PKI data objects (§4.19): one-byte tags, fixed lengths ---------------------------------

def _ref(tag: int):  # a key file reference: <tag> 02 FID
    return Struct(Const(bytes([tag, 2])), "fid" / Int16ub)


# An SM2 public key as the key files hold it and EXPORT PUBLIC KEY returns it: CA 40 ‖ X ‖ Y.
SM2PublicKey = Struct(Const(b"\xCA\x40"), "x" / Bytes(32), "y" / Bytes(32))
_X, _Y = bytes(range(32)), bytes(range(32, 64))
SM2_PUBLIC_KEY_EXAMPLES = [(b"\xCA\x40" + _X + _Y, {"x": _X, "y": _Y})]

# GENERATE SM2 KEY PAIR and EXPORT PUBLIC KEY step 1: C0 02 <public FID> ‖ C2 02 <private FID>.
KeyPairRefs = Struct("public" / _ref(0xC0), "private" / _ref(0xC2))
KEY_PAIR_REFS_EXAMPLES = [(bytes.fromhex("C0020012C2020013"), {"public": {"fid": 0x12}, "private": {"fid": 0x13}})]

# SM2 DECRYPT ENVELOPE: C2 02 <private FID> ‖ C1 82 LL LL <C1 ‖ C3 ‖ C2>.
Envelope = Struct("private" / _ref(0xC2), Const(b"\xC1\x82"), "envelope" / Prefixed(Int16ub, GreedyBytes))
ENVELOPE_EXAMPLES = [(bytes.fromhex("C2020013C1820003AABBCC"), {"private": {"fid": 0x13}, "envelope": b"\xAA\xBB\xCC"})]

# LOAD SM4 KEY: C1 10 <key>.
SM4Key = Struct(Const(b"\xC1\x10"), "key" / Bytes(16))
SM4_KEY_EXAMPLES = [(b"\xC1\x10" + bytes(range(16)), {"key": bytes(range(16))})]

# IMPORT KEY public: C0 02 <FID> ‖ CA 40 X Y; private: C2 02 <FID> ‖ CB 20 <d under the SM4 key>.
PublicKeyImport = Struct("file" / _ref(0xC0), "key" / SM2PublicKey)
PUBLIC_KEY_IMPORT_EXAMPLES = [(bytes.fromhex("C0020014CA40") + _X + _Y, {"file": {"fid": 0x14}, "key": {"x": _X, "y": _Y}})]
PrivateKeyImport = Struct("file" / _ref(0xC2), Const(b"\xCB\x20"), "wrapped" / Bytes(32))
PRIVATE_KEY_IMPORT_EXAMPLES = [(bytes.fromhex("C2020015CB20") + _Y, {"file": {"fid": 0x15}, "wrapped": _Y})]

CODECS = {
    "BerLength": (BerLength, BER_LENGTH_EXAMPLES),
    "Record": (Record, RECORD_EXAMPLES),
    "FCI": (FCI, FCI_EXAMPLES),
    "SM2PublicKey": (SM2PublicKey, SM2_PUBLIC_KEY_EXAMPLES),
    "KeyPairRefs": (KeyPairRefs, KEY_PAIR_REFS_EXAMPLES),
    "Envelope": (Envelope, ENVELOPE_EXAMPLES),
    "SM4Key": (SM4Key, SM4_KEY_EXAMPLES),
    "PublicKeyImport": (PublicKeyImport, PUBLIC_KEY_IMPORT_EXAMPLES),
    "PrivateKeyImport": (PrivateKeyImport, PRIVATE_KEY_IMPORT_EXAMPLES),
}
