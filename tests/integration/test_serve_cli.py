"""`sscard serve` and `sscard doctor` as real subprocesses."""

from __future__ import annotations

import time

from pcsckit import READERS, SELECT_SSSE, connect, kill, sscard, stop, tx, wait_card, wait_slot_empty
from simulator import Card
from simulator.image import save_image


def test_serve_two_images_trace_and_clean_sigterm(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    save_image(a, Card.builtin("gen2").export_image())
    save_image(b, Card.builtin("gen3").export_image())
    for r in READERS:
        wait_slot_empty(r)
    proc = sscard("serve", "--image", str(a), "--image", str(b), "--trace")
    try:
        assert wait_card(READERS[0]).hex().upper() == "3B6D00000081005353430244035A3C1E02"
        assert wait_card(READERS[1]).hex().upper() == "3B6D00000081005353430344035A3C1E03"
        conn = connect(READERS[0])
        assert tx(conn, SELECT_SSSE) == "6118"
        assert tx(conn, "805E010007123456FF246810") == "9000"  # a persistent change
        conn.disconnect()
        time.sleep(0.5)  # let a few presence polls pass: they must not show in the trace
        out = stop(proc)
    finally:
        kill(proc)
    assert "SELECT" in out and "6118" in out and "response bytes waiting" in out
    assert "CHANGE PIN" in out and "9000 success" in out
    assert "stopping (SIGTERM)" in out and "images saved" in out
    lines = [ln for ln in out.splitlines() if ln.startswith("[slot")]
    assert len(lines) == 4, out  # two APDUs, two lines each: polls and power events left out
    saved = Card.from_image(a)  # the PIN change reached the image
    saved.power_on()
    saved.transmit(SELECT_SSSE)
    assert saved.transmit(bytes.fromhex("0020000003246810")) == b"\x90\x00"


def test_serve_refuses_bad_arguments(tmp_path):
    for args in ([], ["--builtin", "gen2", "--port", "35963", "--slot", "1"],
                 ["--builtin", "gen2", "--host", "192.0.2.1"],
                 ["--image", str(tmp_path / "missing.yaml")]):
        proc = sscard("serve", *args)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 2, (args, out)


def test_doctor_all_well_with_a_card_and_names_the_fix_without():
    for r in READERS:
        wait_slot_empty(r)
    proc = sscard("doctor")
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1, out
    assert "no card" in out and "fix: sscard serve" in out
    server = sscard("serve", "--builtin", "gen1", "--slot", "1")
    try:
        wait_card(READERS[1])
        proc = sscard("doctor")
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        assert "all is well" in out and "3B6D00000081005353430144035A3C1E01" in out
    finally:
        stop(server)
