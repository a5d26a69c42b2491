"""Every named defect changes what the card answers (no defect that does nothing)."""

from __future__ import annotations

import pytest

from simulator import Card, crypto, schemes
from simulator.defects import DEFECTS
from simulator.samples import sample_image

SSSE = "00A404000F7378312E73682EC9E7BBE1B1A3D5CF"


def _auth(key_hex: str, ref: str = "04"):
    """Steps that authenticate with a gen2 key: GET CHALLENGE then the right cryptogram."""
    def steps(card):
        ch = card.transmit(bytes.fromhex("0084000008"))[:-2]
        c = schemes.external_cryptogram("des-session", bytes.fromhex(key_hex), ch)
        return card.transmit(bytes.fromhex(f"008200{ref}10") + c + ch)
    return steps


def _replay(key_hex: str):
    """Authenticate, then send the very same EXTERNAL AUTHENTICATE again."""
    def steps(card):
        ch = card.transmit(bytes.fromhex("0084000008"))[:-2]
        apdu = bytes.fromhex("0082000410") + schemes.external_cryptogram("des-session", bytes.fromhex(key_hex), ch) + ch
        return card.transmit(apdu) + card.transmit(apdu)
    return steps


def _mac_cmd(header: str):
    def steps(card):
        card.transmit(bytes.fromhex("0084000008"))
        return card.transmit(bytes.fromhex(header + "00000000"))
    return steps


K = sample_image("gen2")["keys"]["SSSE"]
PROBES = {
    "counter-not-decremented": [SSSE, "0020000003999999", "00200000"],
    "counter-not-reset": [SSSE, "0020000003999999", "0020000003123456", "00A404000F7378312E73682EC9E7BBE1B1A3D5CF", "00200000"],
    "blocked-pin-still-verifies": [SSSE] + ["0020000003999999"] * 3 + ["0020000003123456"],
    "missing-access-check": [SSSE, "00A4000002EF07", "00B0000008"],
    "challenge-reuse": [SSSE, _replay(K["04"])],
    "write-not-persisted": [SSSE, _auth(K["04"]), "00DC0734060D0420010203", "RESET", SSSE, "00B2073400"],
    "security-kept-after-select": [SSSE, "0020000003123456", "00A4000002DF01", "00A4000002EF05", "00B2010400"],
    "mac-not-checked": [SSSE, _mac_cmd("841E000004")],
    "card-block-lost-on-reset": [SSSE, "0084000008", "CARDBLOCK", "RESET", SSSE],
    "wrong-sw-record-not-found": [SSSE, "00B2092C00"],
    "le-ignored": [SSSE, "00B2072C05"],
    "t0-fci-direct": [SSSE],
    "get-response-without-data-9000": ["00C0000000"],
    "fci-without-dir": [SSSE, "00C0000018"],
    "wrong-cla-accepted": ["90A40000023F00"],
    "update-binary-overflow": [SSSE, _auth(K["04"]), "00A4000002EF07", "00D603FE04AABBCCDD"],
    "short-le-before-access-check": [SSSE, "00A4000002DF03", "00B2012C01"],
    "body-before-mac": [SSSE, _mac_cmd("842400000C" + "00" * 8)],
}


def _run(defects: list[str], probe) -> list[bytes]:
    image = {**sample_image("gen2"), "defects": defects}
    card = Card.from_dict(image, random=lambda n: bytes(range(1, n + 1)))
    card.power_on()
    out = []
    for step in probe:
        if step == "RESET":
            out.append(card.reset())
        elif step == "CARDBLOCK":
            ch = bytes(range(1, 9))
            mac = crypto.mac("3des", bytes.fromhex(K["08"]), bytes.fromhex("8416000004"), ch)
            out.append(card.transmit(bytes.fromhex("8416000004") + mac))
        elif callable(step):
            out.append(step(card))
        else:
            out.append(card.transmit(bytes.fromhex(step)))
    return out


def test_every_defect_has_a_probe():
    assert set(PROBES) == set(DEFECTS)


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_defect_changes_the_answers(name):
    assert _run([name], PROBES[name]) != _run([], PROBES[name])


def test_unknown_defect_is_refused():
    with pytest.raises(ValueError, match="unknown defect 'no-such'"):
        Card.from_dict({**sample_image("gen2"), "defects": ["no-such"]})
