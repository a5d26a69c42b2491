"""Keys of the synthetic sample cards (spec §5.5), derived, never stored.

root = SM3("SSC-DEMO-ROOT/<D>/<P2>")[0:16], then K_card = div(div(root, cityDiv), cardDiv)
with cityDiv of region 440300 and cardDiv of the sample card's default T=0 ATR (§3.8, §6);
gen1/gen2 use div3DES, gen3 divSM4. The gen3 PKI master key is the root itself.
"""

from __future__ import annotations

import copy
from functools import lru_cache

from . import schemes
from .crypto import sm3

SAMPLE_REGION = "440300"
SAMPLE_ATR = {                      # default T=0 ATR of each sample card (§3.8)
    1: bytes.fromhex("3B6D00000081005353430144035A3C1E01"),
    2: bytes.fromhex("3B6D00000081005353430244035A3C1E02"),
    3: bytes.fromhex("3B6D00000081005353430344035A3C1E03"),
}
SSSE_KEY_REFS = ("00", "01", "04", "06", "07", "08", "0A")      # + "0D" on gen3 (§5.1.1)
DF_KEY_REFS = {                                                  # §5.1.2
    "DF01": ("81", "83", "84", "85", "86", "87"),
    "DF02": ("81", "83"),
    "DF03": ("81", "82", "83", "84", "85"),
    "DF04": ("81", "83", "84"),
    "DF05": ("81", "83"),
    "DF06": ("81", "83"),
    "DF07": ("81", "83"),
}
PKI_DESIGNATION = "SS.CERT.ADF1"
# card-image key holder -> §5.5 label designation: in images "PKI" is SS.CERT.ADF1 (revision 1),
# "PKI/DF" the PKI DF, whose label designation is "PKI" (R2-3)
PKI_KEY_HOLDERS = {"PKI": PKI_DESIGNATION, "PKI/DF": "PKI"}


def root_label(designation: str, p2: str) -> str:
    return f"SSC-DEMO-ROOT/{designation}/{p2}"


def generation_algorithm(generation: int) -> str:
    if generation not in SAMPLE_ATR:
        raise ValueError(f"generation must be 1, 2 or 3, got {generation!r}")
    return "sm4" if generation == 3 else "3des"


def sample_root_key(label: str) -> bytes:
    """Synthetic root key of the sample cards: SM3(ASCII label)[0:16]."""
    return sm3(label.encode("ascii"))[:16]


def sample_key(generation: int, designation: str, p2: str) -> bytes:
    """One sample card key (final, diversified) for a DF designation and key reference."""
    return schemes.diversify_chain(
        generation_algorithm(generation),
        sample_root_key(root_label(designation, p2)),
        schemes.city_div(SAMPLE_REGION),
        schemes.card_div(SAMPLE_ATR[generation]),
    )


@lru_cache(maxsize=None)
def _sample_keys(generation: int) -> dict[str, dict[str, str]]:
    refs = {"SSSE": SSSE_KEY_REFS + (("0D",) if generation == 3 else ()), **DF_KEY_REFS}
    keys = {d: {p2: sample_key(generation, d, p2).hex().upper() for p2 in p2s}
            for d, p2s in refs.items()}
    if generation == 3:     # the PKI master keys are not diversified (§5.5)
        for image_name, designation in PKI_KEY_HOLDERS.items():
            mk = sample_root_key(root_label(designation, "00"))
            keys[image_name] = {"00": mk.hex().upper()}
    return keys


def sample_keys(generation: int) -> dict[str, dict[str, str]]:
    """{"SSSE": {"00": HEX, ...}, "DF01": {"81": HEX, ...}, ..., "DF07": {...}}, plus on gen3
    "PKI": {"00": HEX} (SS.CERT.ADF1) and "PKI/DF": {"00": HEX} (the PKI DF, R2-3), named as a
    card image names them. A fresh copy each call: callers may change it."""
    generation_algorithm(generation)
    return copy.deepcopy(_sample_keys(generation))
