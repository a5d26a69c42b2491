"""Tearing, shared by the in-process test (forked children, many kills) and the pcscd test
(`sscard serve` killed for real, fewer kills): the terminal's burst of authenticated writes and
PIN / key tries, and what the image may hold after a kill.
"""

from __future__ import annotations

import random

from simulator import Card, schemes
from simulator.image import save_image
from simulator.samples import sample_image

SELECT_SSSE = bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")
MAX = 3


class Torn(Exception):
    """The card went away in the middle of a command."""


class Model:
    """What the image may hold after a kill, given what the terminal saw answered."""

    def __init__(self, image: dict):
        self.k04 = bytes.fromhex(image["keys"]["SSSE"]["04"])
        self.records = {7: bytes.fromhex("0D0419850315")}  # EF06 record 7 (gen2)
        self.pin_tries = MAX
        self.key_tries = MAX
        self.in_flight: tuple | None = None

    def state(self) -> dict:
        return {"record": self.records[7].hex(), "pin": self.pin_tries, "key": self.key_tries,
                "in_flight": [x.hex() if isinstance(x, bytes) else x for x in self.in_flight or ()] or None}

    def load(self, state: dict) -> None:
        self.records[7] = bytes.fromhex(state["record"])
        self.pin_tries, self.key_tries = state["pin"], state["key"]
        flight = state["in_flight"]
        if flight and flight[0] == "write":
            flight = ["write", flight[1], bytes.fromhex(flight[2])]
        self.in_flight = tuple(flight) if flight else None

    def allowed_record(self, number: int) -> set[bytes]:
        done = {self.records[number]}
        if self.in_flight and self.in_flight[0] == "write" and self.in_flight[1] == number:
            done.add(self.in_flight[2])
        return done

    def allowed_tries(self, what: str) -> set[int]:
        known = self.pin_tries if what == "pin" else self.key_tries
        allowed = {known}
        if self.in_flight and self.in_flight[0] == what:
            allowed.add(max(known - 1, 0))  # decremented and saved before the comparison
            if self.in_flight[1]:  # a right PIN/cryptogram may also have put it back to the maximum
                allowed.add(MAX)
        return allowed


def tries_after(sw: int) -> int:
    if sw == 0x9000:
        return MAX
    if sw & 0xFFF0 == 0x63C0:
        return sw & 0x0F
    if sw == 0x6983:
        return 0
    raise AssertionError(f"unexpected status word {sw:04X}")


def burst(send, model: Model, rng: random.Random, noted=lambda: None) -> None:
    """Authenticated writes and PIN / key tries until the card is killed under us (`send` raises
    Torn). `noted()` is called after every change of the model, so a forked terminal can tell its
    parent what it knew at the moment of the kill."""

    def step(kind, apdu, *extra):
        model.in_flight = (kind, *extra)
        noted()
        data, sw = send(apdu)
        model.in_flight = None
        return data, sw

    send(SELECT_SSSE)
    while True:
        action = rng.choice(["write", "write", "pin-wrong", "pin-right", "key-wrong", "auth"])
        if action == "auth" or action == "write":
            ch, _ = send(bytes.fromhex("0084000008"))
            c = schemes.external_cryptogram("des-session", model.k04, ch)
            _, sw = step("key", bytes.fromhex("0082000410") + c + ch, True)
            if sw != 0x9000:
                raise AssertionError(f"authentication refused: {sw:04X}")
            model.key_tries = MAX
        if action == "write":
            new = bytes.fromhex("0D04") + bytes.fromhex(f"{rng.randrange(19000000, 20991231):08d}")
            _, sw = step("write", bytes.fromhex("00DC073406") + new, 7, new)
            assert sw == 0x9000, f"write refused: {sw:04X}"
            model.records[7] = new
        elif action in ("pin-wrong", "pin-right"):
            right = action == "pin-right"
            if model.pin_tries <= 1 and not right:
                continue  # keep the PIN usable
            _, sw = step("pin", bytes.fromhex("0020000003" + ("123456" if right else "999999")), right)
            model.pin_tries = tries_after(sw)
        elif action == "key-wrong" and model.key_tries > 1:
            ch, _ = send(bytes.fromhex("0084000008"))
            _, sw = step("key", bytes.fromhex("0082000410") + bytes(8) + ch, False)
            model.key_tries = tries_after(sw)
        noted()


def sample_card_file(path) -> Model:
    """The gen2 sample with plain key values, saved at `path`; the model of what it holds."""
    image = sample_image("gen2")
    image["keys"]["SSSE"] = {k: (v["value"] if isinstance(v, dict) else v) for k, v in image["keys"]["SSSE"].items()}
    save_image(path, image)
    return Model(image)


def check_image(path, model: Model, run: int) -> None:
    card = Card.from_image(path)  # must load: never a torn file
    image = card.export_image()
    record = bytes(card.model.efs["SSSE/EF06"].records[6])
    assert record in model.allowed_record(7), f"run {run}: EF06 record 7 = {record.hex()} (in flight {model.in_flight})"
    pin_tries = image["pins"]["SSSE"]["tries"]
    assert pin_tries in model.allowed_tries("pin"), f"run {run}: PIN tries {pin_tries}, in flight {model.in_flight}"
    key_tries = image["keys"]["SSSE"]["04"]["tries"]
    assert key_tries in model.allowed_tries("key"), f"run {run}: key tries {key_tries}, in flight {model.in_flight}"
    model.records[7] = record
    model.pin_tries, model.key_tries = pin_tries, key_tries
    model.in_flight = None
    if min(pin_tries, key_tries) <= 1:
        # A kill inside a RIGHT attempt still costs its try (decremented before the comparison,
        # by design), so unlucky kills walk a counter down to blocked. Re-issue the counters in
        # the image, as a card service would, so the bursts can go on.
        image = card.export_image()
        image["pins"]["SSSE"]["tries"] = MAX
        image["keys"]["SSSE"]["04"]["tries"] = MAX
        save_image(path, image)
        model.pin_tries = model.key_tries = MAX
