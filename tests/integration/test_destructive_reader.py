"""`sscard run --reader ... --destructive` through the real pcscd: the write-and-restore cases run on
a served card (PASS, not N/A) and the card the server writes back afterwards equals the one it
started with - every file, record, key, PIN and try counter."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from pcsckit import READERS, ROOT, kill, pcscd_problem, sscard, stop, wait_card
from conformance.runner import DESTRUCTIVE, IRREVERSIBLE, Runner
from conformance.vectors import load_suite
from simulator import Card
from simulator.image import load_image, save_image
from simulator.samples import sample_image


def test_destructive_through_a_reader_runs_the_write_cases_and_leaves_the_card_as_it_was(tmp_path):
    assert pcscd_problem() is None, pcscd_problem()
    description, served = tmp_path / "card.yaml", tmp_path / "served.yaml"
    save_image(description, sample_image("gen3"))
    shutil.copy(description, served)
    before = _state(served)
    report = tmp_path / "r.json"
    server = sscard("serve", "--image", str(served))
    try:
        wait_card(READERS[0])
        proc = subprocess.run([sys.executable, "-m", "sscard", "run", "--reader", READERS[0], "--image",
                               str(description), "--destructive", "--json", str(report)],
                              cwd=ROOT, capture_output=True, text=True, timeout=600)
        stop(server)  # SIGTERM: the server writes the card back to its image
    finally:
        kill(server)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads(report.read_text(encoding="utf-8"))
    verdicts = {case["id"]: case for case in doc["cases"]}
    kinds = {case.id: Runner.kind(case) for case in load_suite().cases}
    written = sorted(i for i, k in kinds.items() if k == DESTRUCTIVE)
    assert written == ["SSC.PKI.070", "SSC.PKI.078"]
    assert sum(case["verdict"] == "PASS" for case in doc["cases"]) > 150  # the whole suite ran
    for case_id in written:
        assert verdicts[case_id]["verdict"] == "PASS", verdicts[case_id]
    for case_id in (i for i, k in kinds.items() if k == IRREVERSIBLE):
        assert verdicts[case_id]["verdict"] == "NOT_APPLICABLE" and "--irreversible" in verdicts[case_id]["reason"]
    changing = doc["provenance"]["changing"]
    assert changing["allowed"] == [DESTRUCTIVE] and changing["ran"] == {DESTRUCTIVE: written}
    assert _state(served) == before  # byte-for-byte data and records, the same keys, PINs and tries


def _state(path) -> dict:
    """The card an image file holds, in one form: the server writes tries out explicitly
    (`{value, tries}`) where the sample says only the key, so compare the loaded cards."""
    return Card.from_dict(dict(load_image(path))).export_image()
