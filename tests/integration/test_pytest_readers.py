"""The pytest plugin through the real pcscd: two `sscard serve` processes hold two built-in cards
in "Virtual PCD 00 00" and "00 01"; `pytest --sscard-reader A --sscard-reader B -n 2` collects
every case once per reader, runs reader N's cases on worker gwN only, and passes."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from pcsckit import READERS, ROOT, sscard, stop_all, wait_card
from conformance.vectors import load_suite

CARDS = ("gen2", "gen3")


def test_two_readers_two_workers(tmp_path):
    servers = [sscard("serve", "--builtin", profile, "--slot", str(slot)) for slot, profile in enumerate(CARDS)]
    try:
        for reader in READERS:
            wait_card(reader)
        report = tmp_path / "readers.json"
        # the acceptance command line: from the project root, no path: the vectors only
        proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", "-n", "2",
                               "--sscard-reader", READERS[0], "--sscard-reader", READERS[1],
                               "--sscard-json", str(report)],
                              cwd=ROOT, capture_output=True, text=True, timeout=900)
    finally:
        stop_all(servers)
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:] + proc.stderr[-2000:]
    cases = len(load_suite().cases)
    summary = out.strip().splitlines()[-1]
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", summary)}
    assert counts.get("passed", 0) + counts.get("skipped", 0) == 2 * cases, summary
    assert not {"failed", "error", "errors", "xfailed"} & set(counts), summary
    # xdist's -v lines: "[gw1] [ 50%] PASSED order.yaml::SSC.ORD.001[Virtual_PCD_00_01]"
    ran = re.findall(r"\[(gw\d)\][^\n]*?::\S+\[(Virtual_PCD_00_0\d)\]", out)
    assert len(ran) == 2 * cases
    workers = {label: {gw for gw, seen in ran if seen == label} for label in ("Virtual_PCD_00_00", "Virtual_PCD_00_01")}
    assert workers == {"Virtual_PCD_00_00": {"gw0"}, "Virtual_PCD_00_01": {"gw1"}}
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert [p["reader"] for p in doc["provenance"]["cards"]] == list(READERS)
    assert len(doc["cases"]) == 2 * cases
    generations = [p["card"]["generation"] for p in doc["provenance"]["cards"]]
    assert generations == [2, 3]  # each reader's card described from its ATR (a built-in sample)
