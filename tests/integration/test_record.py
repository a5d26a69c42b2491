"""`sscard record` through the real pcscd: an emulated card on slot 1 plays the physical card, the
recorder relays it to slot 0, and an application on slot 0 must not see the difference."""

from __future__ import annotations

import json
import signal
import time

from pcsckit import (READERS, SELECT_SSSE, Recording, card_present, connect, served, sscard, tx,
                     wait_card, wait_slot_empty)
from conformance.record import CardRelay
from conformance.sessions import load_session
from conformance.transport import PcscTransport
from simulator import Card
from simulator.image import save_image
from simulator.vpcd import VirtualReaderSlot, slot_port

# A gen2 card with an ATR of its own, so the relayed ATR cannot be the emulator's default.
ATR = "3B6D00000081005353430244035A3C1E77"
APDUS = [SELECT_SSSE.hex().upper(), "00C0000018", "00B2012C12"]


def physical_card(tmp_path):
    """The "physical" card's image on disk (for `sscard run --image`) and a card loaded from it."""
    image = Card.builtin("gen2").export_image()
    image.setdefault("switches", {})["atr"] = ATR
    path = tmp_path / "physical.yaml"
    save_image(path, image)
    return path, Card.from_dict(image)


def expected_answers(image_path) -> list[str]:
    card = Card.from_image(image_path)
    card.power_on()
    return [card.transmit(bytes.fromhex(a)).hex().upper() for a in APDUS]


def wait_atr(reader: str, timeout: float = 20.0) -> str:
    return wait_card(reader, timeout).hex().upper()


def finish(proc, timeout: float = 20.0) -> str:
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return out


def test_record_relays_exactly_and_the_session_becomes_passing_vectors(tmp_path):
    image_path, card = physical_card(tmp_path)
    physical = Recording(card)
    session_path, vectors_path = tmp_path / "session.json", tmp_path / "recorded.yaml"
    with served(physical, slot=1):
        wait_slot_empty(READERS[0])
        proc = sscard("record", "--reader", READERS[1], "--out", str(session_path))
        try:
            assert wait_atr(READERS[0]) == ATR  # the virtual reader shows the real card's ATR
            app = connect(READERS[0])
            assert bytes(app.getATR()).hex().upper() == ATR
            physical.commands.clear()
            got = [tx(app, a) for a in APDUS]
            seen = len(physical.events)
            app.disconnect()  # pyscard unpowers: the power-off goes through to the real card
            deadline = time.monotonic() + 5  # pcscd powers the virtual card down ~0.4 s later
            while "power_off" not in physical.events[seen:] and time.monotonic() < deadline:
                time.sleep(0.05)
            assert "power_off" in physical.events[seen:], physical.events
            proc.send_signal(signal.SIGTERM)
            out = finish(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, out
    assert "stopped (SIGTERM)" in out and "3 exchanges" in out, out

    assert got == expected_answers(image_path)
    assert got[0] == "6118"  # the application saw the card's own 61xx: nothing was followed for it
    assert [c.hex().upper() for c in physical.commands] == APDUS  # nothing added on the way

    doc = json.loads(session_path.read_text(encoding="utf-8"))
    assert doc["format"] == "sscard-session/1" and doc["reader"] == READERS[1] and doc["protocol"] == "T=0"
    assert doc["ended"] == "stopped (SIGTERM)"
    session = load_session(session_path)
    assert session.atr.hex().upper() == ATR
    assert session.exchanges == [None] + [(bytes.fromhex(c), bytes.fromhex(r)) for c, r in zip(APDUS, got)]
    assert doc["exchanges"][0]["atr"] == ATR
    assert oct(session_path.stat().st_mode & 0o777) == "0o600"

    made = sscard("vectors", "from-session", str(session_path), "--out", str(vectors_path))
    out = finish(made, 60)
    assert made.returncode == 0, out
    for target in (["--image", str(image_path)], ["--replay", str(session_path)]):
        report = tmp_path / f"report-{target[0][2:]}.json"
        run = sscard("run", *target, "--vectors", str(vectors_path), "--json", str(report),
                     "--reports", str(tmp_path / "reports"))
        out = finish(run, 120)
        assert run.returncode == 0, (target, out)
        cases = json.loads(report.read_text())["cases"]
        assert [(c["id"], c["verdict"]) for c in cases] == [("SSC.REC.001", "PASS")], (target, out)


def test_removal_of_the_real_card_ends_the_recording_with_the_session_written(tmp_path):
    session_path = tmp_path / "session.json"
    with served(Card.builtin("gen2"), slot=1) as real:
        wait_slot_empty(READERS[0])
        proc = sscard("record", "--reader", READERS[1], "--out", str(session_path))
        try:
            wait_atr(READERS[0])
            app = connect(READERS[0])
            assert tx(app, SELECT_SSSE) == "6118"
            real.remove()
            out = finish(proc, 20)  # it stops by itself: no signal
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, out
    assert "recording ended" in out and "1 exchanges" in out, out
    doc = json.loads(session_path.read_text(encoding="utf-8"))
    assert "gone" in doc["ended"] or "did not answer" in doc["ended"], doc["ended"]
    assert load_session(session_path).exchanges == [None, (SELECT_SSSE, b"\x61\x18")]
    deadline = time.monotonic() + 5
    while card_present(READERS[0]) and time.monotonic() < deadline:  # the relayed card left too
        time.sleep(0.1)
    assert card_present(READERS[0]) is None


def test_a_command_after_removal_gets_6F00_through_pcscd():
    with served(Card.builtin("gen2"), slot=1) as real:
        wait_slot_empty(READERS[0])
        relay = CardRelay(lambda: PcscTransport(READERS[1]))
        with VirtualReaderSlot(relay, slot_port(0)) as relayed:  # no polling: the command finds out
            assert relayed.wait_ready(10)
            app = connect(READERS[0])
            assert tx(app, SELECT_SSSE) == "6118"
            real.remove()
            assert tx(app, "00C0000018") == "6F00"
            assert relay.ended and relay.exchanges == 1
            assert tx(app, "00B2012C12") == "6F00"  # and stays so: nothing more reaches a card
            app.disconnect()
        relay.close()
    doc = json.loads(relay.session_text())
    assert [e.get("command") for e in doc["exchanges"]] == [None, SELECT_SSSE.hex().upper()]
    assert "00C0000018" in doc["ended"]


def test_record_refuses_its_own_virtual_reader(tmp_path):
    for reader, slot in ((READERS[0], "0"), ("pcd 00 01", "1")):
        proc = sscard("record", "--reader", reader, "--slot", slot, "--out", str(tmp_path / "s.json"))
        out = finish(proc, 30)
        assert proc.returncode == 2, out
        assert "own virtual reader" in out, out
    assert not (tmp_path / "s.json").exists()
