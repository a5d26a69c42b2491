"""The built-in gen3 sample card's PKI application, as shipped data.

The issuing flow that makes it (SM2 keys generated on the card, envelope, imported key pair,
certificates of the fictional test CA) drives the card through terminal sessions, so it lives in
sscard/pki_issue.py (`python -m sscard.pki_issue` writes profiles/sample-gen3-pki.yaml again);
simulator imports nothing of terminal. tests/unit/test_sample_pki_data.py checks that the shipped
data is what the flow makes.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

SAMPLE_PKI = Path(__file__).with_name("profiles") / "sample-gen3-pki.yaml"


@functools.cache
def sample_pki_image() -> dict:
    """The built-in gen3 sample image with its PKI application personalised.

    The PKI files come from profiles/sample-gen3-pki.yaml: shipping them as data saves every
    process the SM2 key generation and signing. The sample keeps its own shape (samples._sample):
    only the PKI files are added. Callers get it through samples.sample_image("gen3"), which
    deep-copies it.
    """
    from . import samples  # late: samples reaches this module from sample_image

    base = samples._sample(3)
    with open(SAMPLE_PKI, encoding="utf-8") as f:
        pki_files = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["files"]
    return {**base, "files": {**(base.get("files") or {}), **pki_files}}
