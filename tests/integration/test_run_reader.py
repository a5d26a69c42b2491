"""The suite through the real pcscd: `sscard run --reader ... --image CARD` against `sscard serve`
of a copy of the same card gives the verdicts of the in-process run, and catches defective cards."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys

import pytest

from pcsckit import READERS, ROOT, served, sscard, wait_card
from simulator import Card
from simulator.defects import DEFECTS
from simulator.image import save_image
from simulator.samples import sample_image


def run_suite(*args, report) -> dict:
    proc = subprocess.run([sys.executable, "-m", "sscard", "run", *args, "--json", str(report),
                           "--junit", str(report.with_suffix(".xml")), "--html", str(report.with_suffix(".html"))],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert report.exists(), proc.stdout[-2000:] + proc.stderr[-2000:]
    doc = json.loads(report.read_text(encoding="utf-8"))
    doc["exit"] = proc.returncode
    return doc


def verdicts(doc: dict) -> dict[str, str]:
    return {c["id"]: c["verdict"] for c in doc["cases"]}


@pytest.mark.parametrize("profile", ["gen2", "gen3"])
def test_reader_run_gives_the_in_process_verdicts(tmp_path, profile):
    card, copy = tmp_path / "card.yaml", tmp_path / "served.yaml"
    save_image(card, sample_image(profile))
    shutil.copy(card, copy)
    local = run_suite("--image", str(card), report=tmp_path / "local.json")
    server = sscard("serve", "--image", str(copy))
    try:
        wait_card(READERS[0])
        remote = run_suite("--reader", READERS[0], "--image", str(card), report=tmp_path / "remote.json")
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=15)
    assert local["exit"] == 0 and remote["exit"] == 0
    assert len(remote["cases"]) == len(local["cases"]) >= 200
    here, there = verdicts(local), verdicts(remote)
    destructive = _destructive_ids()
    differing = {i for i in here if here[i] != there[i]}
    # the only difference: irreversible cases run on emulated cards (rebuilt after each), never
    # through a reader, where the card cannot be rebuilt
    assert differing <= destructive, sorted(differing - destructive)
    assert all(there[i] == "NOT_APPLICABLE" for i in differing)
    assert sum(v == "PASS" for v in there.values()) > 150
    assert READERS[0] in json.dumps(remote["provenance"])


def _destructive_ids() -> set[str]:
    from conformance.vectors import load_suite
    return {c.id for c in load_suite().cases if c.applies.mentions("destructive") or c.applies.mentions("irreversible")}


# Defects whose only catching cases are irreversible on a real card (CARD BLOCK): through a
# reader they are out of reach by design; in-process runs catch them (test_mutation_score).
ONLY_DESTRUCTIVE = {"card-block-lost-on-reset"}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_reader_run_fails_a_defective_card(tmp_path, defect):
    description = tmp_path / "card.yaml"
    save_image(description, sample_image("gen2"))  # what the card should be (no defect)
    image = sample_image("gen2")
    image["defects"] = [defect]
    with served(Card.from_dict(image)):
        doc = run_suite("--reader", READERS[0], "--image", str(description), report=tmp_path / "r.json")
    failed = [c["id"] for c in doc["cases"] if c["verdict"] == "FAIL"]
    if defect in ONLY_DESTRUCTIVE:
        assert not failed and doc["exit"] == 0
    else:
        assert failed, f"no case failed against a card with {defect}"
        assert doc["exit"] != 0
