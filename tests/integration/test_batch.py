"""Card after card through vpcd (issue 14, item 2): `sscard run --reader R --batch` with three
cards put into "Virtual PCD 00 00" one after the other (three `sscard serve` processes in turn)
writes three reports, each named by its card; Ctrl-C during a card ends the batch after that
card's report (exit 130); `--wait` lets a single run wait for a card served later."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pcsckit import READERS, ROOT, sscard, wait_card, wait_slot_empty
from conformance.batch_run import card_name
from simulator import Card
from simulator.image import save_image
from simulator.newcard import new_image

SELECTION = "SEL"


def wait_for(condition, what: str, process: subprocess.Popen, timeout: float = 300.0):
    """Until `condition()` holds; fails early with the process's output if it ended first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the batch ended (exit {process.returncode}) before {what}:\n{process.stdout.read()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {timeout:g} s")
        time.sleep(0.2)


def cards(tmp_path: Path, n: int) -> list[tuple[Path, str]]:
    """n new gen2 cards of fictional persons (different serials), with the report name each must get."""
    made = []
    for seed in range(n):
        image = new_image("gen2", seed=100 + seed)
        path = tmp_path / f"card{seed}.yaml"
        save_image(path, image)
        made.append((path, card_name(Card.from_dict(image).power_on())))
    assert len({name for _, name in made}) == n
    return made


def serve(path: Path) -> subprocess.Popen:
    wait_slot_empty(READERS[0])  # the previous card is out: the batch sees a removal, then this one
    server = sscard("serve", "--image", str(path), "--slot", "0")
    wait_card(READERS[0])
    return server


def stop(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    server.communicate(timeout=15)


def batch(*args, reports: Path, selection: str = SELECTION) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sscard", "run", "--reader", READERS[0], "--batch", *args,
                             "-k", selection, "--reports", str(reports)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_three_cards_one_after_the_other(tmp_path):
    reports = tmp_path / "reports"
    made = cards(tmp_path, 3)
    run = batch("--count", "3", reports=reports)
    server = None
    try:
        for path, name in made:
            server = serve(path)
            wait_for(lambda: (reports / f"{name}.json").exists(), f"a report for {name}", run)
            stop(server)
            server = None
        out, _ = run.communicate(timeout=60)
    finally:
        if server is not None:
            stop(server)
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 0, out[-3000:]
    assert sorted(p.name for p in reports.iterdir()) == sorted([f"{n}.json" for _, n in made] +
                                                               [f"{n}.html" for _, n in made])
    for path, name in made:
        doc = json.loads((reports / f"{name}.json").read_text(encoding="utf-8"))
        atr = Card.from_dict(new_image("gen2", seed=100 + int(path.stem[-1]))).power_on()
        assert doc["provenance"]["card"]["atr"] == atr.hex().upper()  # each report is of its own card
        assert doc["provenance"]["card"]["label"] == name
        # no description of these cards' keys: what needs them is INCONCLUSIVE, nothing FAILs
        assert doc["summary"]["PASS"] > 0 and doc["summary"]["FAIL"] == doc["summary"]["ERROR"] == 0
    assert out.count("take the card out") == 2  # asked between cards, not after the last


def test_ctrl_c_ends_the_batch_after_the_current_card(tmp_path):
    reports = tmp_path / "reports"
    [(path, name)] = cards(tmp_path, 1)
    run = batch(reports=reports, selection="SEL or REC or PIN")  # long enough to be stopped half-way
    server = serve(path)
    try:
        wait_for(lambda: "running the suite" in _peek(run), "the card's run", run)
        run.send_signal(signal.SIGINT)
        early = (reports / f"{name}.json").exists()
        out, _ = run.communicate(timeout=120)
    finally:
        stop(server)
        if run.poll() is None:
            run.kill()
    assert run.returncode == 130, out[-3000:]
    assert not early  # the Ctrl-C came while the card ran
    doc = json.loads((reports / f"{name}.json").read_text(encoding="utf-8"))
    assert doc["summary"]["total"] == len(doc["cases"]) > 0  # the card's suite ran to its end


def test_wait_lets_a_single_run_wait_for_the_card(tmp_path):
    [(path, _name)] = cards(tmp_path, 1)
    wait_slot_empty(READERS[0])
    run = subprocess.Popen([sys.executable, "-m", "sscard", "run", "--reader", READERS[0], "--wait", "120",
                            "-k", SELECTION, "--reports", str(tmp_path / "r")],
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server = sscard("serve", "--image", str(path), "--slot", "0")  # the card comes after the run started
    try:
        out, _ = run.communicate(timeout=300)
    finally:
        stop(server)
    assert run.returncode == 0, out[-3000:]
    assert (tmp_path / "r" / "Virtual_PCD_00_00.json").exists()
    absent = subprocess.run([sys.executable, "-m", "sscard", "run", "--reader", READERS[0], "--wait", "0.5",
                             "-k", SELECTION, "--reports", str(tmp_path / "r2")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert absent.returncode == 3 and "no card in" in absent.stderr + absent.stdout


_seen: dict[int, str] = {}


def _peek(process: subprocess.Popen) -> str:
    """What the process printed so far (read line by line, kept for the next look)."""
    import os
    import select

    text = _seen.get(process.pid, "")
    fd = process.stdout.fileno()
    while select.select([fd], [], [], 0)[0]:
        chunk = os.read(fd, 65536).decode(errors="replace")
        if not chunk:
            break
        text += chunk
    _seen[process.pid] = text
    return text
