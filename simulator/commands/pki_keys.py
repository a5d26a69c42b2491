"""PKI key commands (spec §4.19.3-§4.19.7): GENERATE SM2 KEY PAIR, EXPORT PUBLIC KEY, SM2 DECRYPT
ENVELOPE, LOAD SM4 KEY, IMPORT KEY. Their data fields are read by `tlv.objects` (one shape per command).

Order of checks (§4.3): P1/P2 (6A86), Lc (6700), referenced file (6A82), key content (6A88),
import key (6985), access condition (6982), data content (6A80). A data field whose objects do not
have the command's shape names no file, so steps 8-8f have nothing to look at and the command
ends at 6982 or, with the PIN verified, at 6A80.
"""

from __future__ import annotations

from .. import crypto, sm2
from ..filesystem import TransparentEF
from ..sw import CardStatus
from ..tlv import objects
from ._declare import PKI_APP, command
from ._target import require

ADF1 = "PKI/SS.CERT.ADF1"
USER, ADMIN = "PIN(user)", "PIN(admin)"
NEED_USER = (frozenset({USER}),)  # PD-27: 8040, 804E
# PD-27 revised (R2-4): 804A, 80C2 and the certificate writes take either PKI PIN, or only the
# admin PIN with the switch pki_write_pin: admin (revision 1)
NEED_WRITE = {"either": (frozenset({USER}), frozenset({ADMIN})), "admin": (frozenset({ADMIN}),)}
PUBLIC, PRIVATE = "public-key", "private-key"  # EF kinds of the profile (§2.6)
SIGN_PUB, SIGN_PRIV, ENC_PUB, ENC_PRIV = 0x0012, 0x0013, 0x0014, 0x0015


def key_file(card, fid: bytes, kind: str, only: int | None = None) -> TransparentEF:
    """The key file a reference names in the current DF, of the right kind (and FID), else 6A82."""
    node = card.current_df.children.get(int.from_bytes(fid, "big"))
    if not isinstance(node, TransparentEF) or node.spec.get("kind") != kind or \
            (only is not None and node.fid != only):
        raise CardStatus(0x6A82)
    return node


def pub_prefix(card) -> bytes:
    return bytes.fromhex(str(card.model.switches["sm2_pub_prefix"]))  # PD-27, §9


def _require_write_pin(card) -> None:
    require(card, NEED_WRITE[card.model.switches["pki_write_pin"]])


def _store(card, ef: TransparentEF, value: bytes) -> None:
    ef.data[: len(value)] = value  # the key files have the fixed sizes of §2.6
    card.persist()


@command("GENERATE SM2 KEY PAIR", 0x80, 0x40, data="required", where=PKI_APP)
def generate_key_pair(card, apdu):
    if apdu.p1 or apdu.p2:
        raise CardStatus(0x6A86)
    if len(apdu.data) != 8:
        raise CardStatus(0x6700)
    refs = objects(apdu.data, (0xC0, 2), (0xC2, 2))
    if refs is not None:
        # 0014/0015 exist and have the right kinds, but only 80C2 writes them (§4.19.3).
        pub_ef = key_file(card, refs[0], PUBLIC, SIGN_PUB)
        priv_ef = key_file(card, refs[1], PRIVATE, SIGN_PRIV)
    require(card, NEED_USER)
    if refs is None:
        raise CardStatus(0x6A80)
    # d comes from the card's random source, so a test (or a replayed trace) can force it.
    d, pub = sm2.generate_keypair(random=card.random)
    pub_ef.data[:66] = pub_prefix(card) + pub
    _store(card, priv_ef, d.to_bytes(32, "big"))  # one save for the pair
    return None


@command("EXPORT PUBLIC KEY", 0x80, 0xC9, data="optional", where=PKI_APP)
def export_public_key(card, apdu):
    if apdu.p1 != 0x82 or apdu.p2 not in (0x00, 0x80):
        raise CardStatus(0x6A86)
    if apdu.p2 == 0x00:  # first step: record which public-key file the second step exports
        if apdu.data is None or len(apdu.data) != 8:
            raise CardStatus(0x6700)
        refs = objects(apdu.data, (0xC0, 2), (0xC2, 2))
        if refs is None:
            raise CardStatus(0x6A80)
        pub_ef = key_file(card, refs[0], PUBLIC)
        key_file(card, refs[1], PRIVATE)
        card.sec.export_ref = pub_ef.fid
        return None
    if apdu.data is not None:
        raise CardStatus(0x6700)
    fid = card.sec.export_ref if card.sec.export_ref is not None else SIGN_PUB
    ef = key_file(card, fid.to_bytes(2, "big"), PUBLIC)
    if not any(ef.data):
        raise CardStatus(0x6A88)  # all zeros: no key generated or imported yet
    value = bytes(ef.data)
    card.check_le(apdu, len(value))  # 6Cxx must leave the recorded reference in place
    card.sec.export_ref = None
    return value


@command("SM2 DECRYPT ENVELOPE", 0x80, 0x4E, data="required", where=PKI_APP)
def decrypt_envelope(card, apdu):
    if (apdu.p1, apdu.p2) != (0x00, 0x01):
        raise CardStatus(0x6A86)
    parts = objects(apdu.data, (0xC2, 2), (0xC1, None))
    if parts is not None:
        d = int.from_bytes(key_file(card, parts[0], PRIVATE).data, "big")
        if d == 0:
            raise CardStatus(0x6A88)
    require(card, NEED_USER)
    if parts is None:
        raise CardStatus(0x6A80)
    try:  # short input, C1 off the curve and a C3 mismatch all end here
        return sm2.decrypt(d, parts[1])
    except sm2.Sm2Error:
        raise CardStatus(0x6A80) from None


@command("LOAD SM4 KEY", 0x80, 0x4A, data="required", where=PKI_APP)
def load_sm4_key(card, apdu):
    if (apdu.p1, apdu.p2) != (0x02, 0x10):
        raise CardStatus(0x6A86)
    if len(apdu.data) != 0x12:
        raise CardStatus(0x6700)
    _require_write_pin(card)
    parts = objects(apdu.data, (0xC1, 16))
    if parts is None:
        raise CardStatus(0x6A80)
    card.sec.import_key = parts[0]  # volatile: SecurityState.clear() drops it (§5.3)
    return None


@command("IMPORT KEY", 0x80, 0xC2, data="required", where=PKI_APP)
def import_key(card, apdu):
    p1p2 = (apdu.p1, apdu.p2)
    if p1p2 == (0x40, 0x00):
        return _import_public(card, apdu.data)
    if p1p2 == (0xC0, 0x01):
        return _import_private(card, apdu.data)
    raise CardStatus(0x6A86)


def _import_public(card, data: bytes):
    if len(data) != 0x46:
        raise CardStatus(0x6700)
    parts = objects(data, (0xC0, 2), (0xCA, 64))
    if parts is not None:
        ef = key_file(card, parts[0], PUBLIC, ENC_PUB)
    _require_write_pin(card)
    if parts is None or not sm2.on_curve(parts[1]):
        raise CardStatus(0x6A80)
    _store(card, ef, pub_prefix(card) + parts[1])
    return None


def _import_private(card, data: bytes):
    if len(data) != 0x26:
        raise CardStatus(0x6700)
    parts = objects(data, (0xC2, 2), (0xCB, 32))
    if parts is not None:
        ef = key_file(card, parts[0], PRIVATE, ENC_PRIV)
    if card.sec.import_key is None:
        raise CardStatus(0x6985)
    _require_write_pin(card)
    # Like the challenge (PD-11), the import key is used up once the command gets past the
    # checks that leave the card untouched: one 80C2 C001 per 804A, whatever it then answers.
    wrap_key, card.sec.import_key = card.sec.import_key, None
    if parts is None:
        raise CardStatus(0x6A80)
    d = int.from_bytes(crypto.sm4_decrypt(wrap_key, parts[1]), "big")
    if not 1 <= d <= sm2.N - 2:
        raise CardStatus(0x6A80)
    # No check that d belongs to the key in 0014 (PD-27).
    _store(card, ef, d.to_bytes(32, "big"))
    return None
