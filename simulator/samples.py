"""The synthetic sample person and cards of spec §3.8, as card images (the built-in cards)."""

from __future__ import annotations

import copy
from functools import cache, lru_cache
from pathlib import Path

import yaml

from .samplekeys import sample_keys

SERIAL = {1: "5A3C1E01", 2: "5A3C1E02", 3: "5A3C1E03"}
CARD_ID = {1: "440300D1560000055A3C1E018AD96192", 2: "440300D1560000055A3C1E02C64D65FE",
           3: "440300D1560000055A3C1E0326F062D6"}
DATES = {1: ("20120601", "20320601"), 2: ("20180601", "20380601"), 3: ("20240601", "20340601")}

# The gen3 sample's PKI keys come from this seed (its certificate signatures still vary per process).
PKI_SEED = 0x5A3C1E03

PERSON = {"name": "张三", "ssn": "440305198503151238", "sex": "1", "ethnicity": "01",
          "birthplace": "440305", "birth_date": "19850315"}


@lru_cache(maxsize=None)
def _sample(generation: int) -> dict:
    issue, expiry = DATES[generation]
    image = {
        "profile": f"gen{generation}",
        "person": {"note": "fictional sample person of spec §3.8", **PERSON},
        "data": {
            "SSSE/EF05": {"01": CARD_ID[generation], "02": "1", "03": f"{generation}.00",
                          "04": "440300000000000012345678", "05": issue, "06": expiry,
                          "07": f"A0123456{generation}"},
            "SSSE/EF06": {"08": PERSON["ssn"], "09": PERSON["name"], "0A": PERSON["sex"],
                          "0B": PERSON["ethnicity"], "0C": PERSON["birthplace"], "0D": PERSON["birth_date"]},
        },
        "keys": sample_keys(generation),
        "pins": {"SSSE": {"value": "123456"}},
    }
    if generation >= 2:
        image["data"]["SSSE/DF01/EF06"] = {"23": "广东省深圳市南山区示例路1号", "24": "518000",
                                           "28": "13000000001"}
        image["data"]["SSSE/DF01/EF09"] = {"30": "000123456"}
        image["data"]["SSSE/DF01/EF0A"] = {"37": "CHN"}
    if generation == 3:
        image["data"]["SSSE/EF0D"] = {"EA": "440305000123", "EB": "440300"}
        image["pins"].update({"PKI/user": {"value": "123456"}, "PKI/admin": {"value": "12345678"}})
    return image


def sample_image(profile: str | int) -> dict:
    """A fresh copy of the sample card image for gen1, gen2 or gen3."""
    generation = int(str(profile).removeprefix("gen"))
    if generation not in (1, 2, 3):
        raise ValueError(f"no sample card {profile!r} (gen1, gen2, gen3)")
    if generation == 3:  # with its PKI application personalised, built once per process
        return copy.deepcopy(sample_pki_image())
    return copy.deepcopy(_sample(generation))


# The gen3 sample's PKI application, as shipped data. The issuing flow that makes it (SM2 keys
# generated on the card, envelope, imported key pair, certificates of the fictional test CA)
# drives the card through terminal sessions, so it lives in sscard/pki_issue.py
# (`python -m sscard.pki_issue` writes profiles/sample-gen3-pki.yaml again); simulator imports
# nothing of terminal. tests/unit/test_sample_pki_data.py checks the data is what the flow makes.
SAMPLE_PKI = Path(__file__).with_name("profiles") / "sample-gen3-pki.yaml"


@cache
def sample_pki_image() -> dict:
    """The built-in gen3 sample image with its PKI files added (shipping them as data saves every
    process the SM2 key generation and signing). Callers get it through sample_image("gen3"),
    which deep-copies it."""
    base = _sample(3)
    with open(SAMPLE_PKI, encoding="utf-8") as f:
        pki_files = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["files"]
    return {**base, "files": {**(base.get("files") or {}), **pki_files}}
