"""Fuzz `Card.transmit`: no exception, every answer ends in a listed status word, and no rejected
command changes the card.

    python -m fuzz.fuzz_transmit -runs=200000        (atheris / libFuzzer flags)

Each input picks a card (gen1/2/3, t0/t1), a starting state (MF, SSSE selected, authenticated and
PIN verified, PKI application with both PINs verified) and then a run of length-prefixed APDUs.
"""

from __future__ import annotations

import os
import pickle
import sys

import atheris

with atheris.instrument_imports(include=["simulator"]):
    from simulator import Card, schemes
    from simulator.sw import is_listed

from fuzz.card_state import state_digest

SELECT_SSSE = bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")
SELECT_ADF1 = bytes.fromhex("00A404000C53532E434552542E41444631")
COUNT = {"apdus": 0, "inputs": 0, "runs": -1, "max_apdus": int(os.environ.get("SSCARD_FUZZ_APDUS", "0"))}
_cards: dict = {}


def _random(n: int) -> bytes:
    return bytes(range(0x21, 0x21 + n))


def _fresh(gen: int, t1: bool) -> Card:
    key = (gen, t1)
    if key not in _cards:  # one pristine card per kind; each input gets an in-memory clone of it
        image = Card.builtin(f"gen{gen}").export_image()
        image.setdefault("switches", {})["transport"] = "t1" if t1 else "t0"
        _cards[key] = pickle.dumps(Card.from_dict(image, random=_random))
    return pickle.loads(_cards[key])


def _prefix(card: Card, state: int) -> None:
    t = card.transmit
    gen = card.model.generation
    if state == 1 or state == 2:
        t(SELECT_SSSE)
    if state == 2:
        keys = card.export_image()["keys"]["SSSE"]
        ch = t(bytes.fromhex("0084000008"))[:-2]
        value = keys["04"]["value"] if isinstance(keys["04"], dict) else keys["04"]
        c = schemes.external_cryptogram("sm4-session" if gen == 3 else "des-session", bytes.fromhex(value), ch)
        t(bytes.fromhex("0082000410") + c + ch)
        t(bytes.fromhex("0020000003123456"))
    if state == 3 and gen == 3:
        t(SELECT_ADF1)
        for p2, pin in ((0x81, "123456"), (0x00, "12345678")):
            ch = t(bytes.fromhex("0084000010"))[:-2]
            ct = schemes.pki_verify_cryptogram(schemes.pin_bcd(pin), ch)
            t(bytes([0x00, 0x20, 0x01, p2, 0x10]) + ct)


def one_input(data: bytes) -> None:
    COUNT["inputs"] += 1
    if len(data) >= 3:
        _exercise(data)
    if COUNT["inputs"] == COUNT["runs"] or COUNT["inputs"] % 100000 == 0:
        _report()  # libFuzzer leaves with _exit: atexit handlers never run
    if COUNT["max_apdus"] and COUNT["apdus"] >= COUNT["max_apdus"]:
        _report()
        os._exit(0)  # the APDU budget (SSCARD_FUZZ_APDUS) is spent, with no failure


def _exercise(data: bytes) -> None:
    card = _fresh(1 + data[0] % 3, bool(data[0] & 0x80))
    card.power_on()
    _prefix(card, data[1] % 4)
    rest = memoryview(data)[2:]
    while len(rest) >= 1:
        n = rest[0]
        apdu, rest = bytes(rest[1:1 + n]), rest[1 + n:]
        before = state_digest(card)
        response = card.transmit(apdu)
        COUNT["apdus"] += 1
        if len(response) < 2:
            raise AssertionError(f"empty response to {apdu.hex()}")
        sw = int.from_bytes(response[-2:], "big")
        if not is_listed(sw) or sw == 0x6F00:
            raise AssertionError(f"{apdu.hex().upper()} -> unlisted or internal-fault SW {sw:04X}")
        accepted = sw == 0x9000 or response[-2] in (0x61, 0x63)
        if not accepted and state_digest(card) != before:
            raise AssertionError(f"rejected {apdu.hex().upper()} ({sw:04X}) changed the card")


def _report() -> None:
    print(f"fuzz_transmit: {COUNT['inputs']} inputs, {COUNT['apdus']} APDUs, no failure", file=sys.stderr)


def main(argv: list[str]) -> None:
    for arg in argv:
        if arg.startswith("-runs="):
            COUNT["runs"] = int(arg.split("=", 1)[1])
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
