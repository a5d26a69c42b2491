"""conformance/parallel.py: one worker per card, at once; what goes wrong with one card stays in
its own lane. In-process cards here (the real readers are in tests/integration/test_parallel_readers.py)."""

from __future__ import annotations

import threading

from conformance.card_under_test import CardUnderTest
from conformance.parallel import Lane, run_lanes
from conformance.transport import EmulatedTransport, TransportError
from conformance.vectors import DEFAULT_VECTORS, load_suite
from simulator import Card
from simulator.samples import sample_image

SUITE = load_suite(DEFAULT_VECTORS / "records.yaml")


def emulated(image: dict, label: str, barrier: threading.Barrier | None = None):
    def open_card():
        if barrier is not None:
            barrier.wait()  # returns only once every lane has got this far: the lanes run at once
        card = Card.from_dict(image)
        return EmulatedTransport(card, f"emulated:{label}"), CardUnderTest(card.image, label=label)
    return open_card


class Removed(EmulatedTransport):
    """A card pulled out after `left` commands (the in-process card cannot be removed otherwise)."""

    can_hang = True  # as a reader: its cases run in the runner's worker thread, with timeouts

    def __init__(self, card, left: int):
        super().__init__(card, "emulated:removed")
        self.left = left

    def transmit(self, apdu: bytes) -> bytes:
        self.left -= 1
        if self.left < 0:
            raise TransportError("card removed (test)")
        return super().transmit(apdu)

    def reset(self) -> bytes:
        if self.left < 0:
            raise TransportError("card removed (test)")
        return super().reset()


def test_lanes_run_at_once_and_only_the_defective_card_fails():
    defective = dict(sample_image("gen3"), defects=["wrong-sw-record-not-found"])
    barrier = threading.Barrier(2, timeout=30)
    lanes = [Lane("good", emulated(dict(sample_image("gen2")), "good", barrier)),
             Lane("bad", emulated(defective, "bad", barrier))]
    seen = {}
    run_lanes(SUITE, lanes, on_event=lambda lane, event: seen.setdefault(lane.label, threading.current_thread().name))
    good, bad = (lane.result for lane in lanes)
    assert not barrier.broken  # both openers were inside open() at the same time
    assert seen == {"good": "card good", "bad": "card bad"}  # each lane's events came from its own thread
    assert good.ok and good.counts()["FAIL"] == 0
    assert not bad.ok
    failing = {c.case_id for c in bad.cases if c.verdict.value == "FAIL"}
    assert failing and all(c.startswith("SSC.REC.") for c in failing)
    assert {c.case_id for c in good.cases} == {c.case_id for c in bad.cases}


def test_a_card_that_cannot_be_opened_leaves_the_others_running():
    def unreachable():
        raise TransportError("no card in the reader")

    lanes = [Lane("missing", unreachable), Lane("good", emulated(dict(sample_image("gen2")), "good"))]
    run_lanes(SUITE, lanes)
    assert lanes[0].result is None and "missing: cannot reach the card: no card in the reader" == lanes[0].error
    assert isinstance(lanes[0].exception, TransportError)
    assert lanes[1].result is not None and lanes[1].result.ok


def test_a_card_removed_mid_run_ends_its_own_cases_only():
    def removed():
        card = Card.from_dict(dict(sample_image("gen2")))
        return Removed(card, left=40), CardUnderTest(card.image, label="removed")

    lanes = [Lane("removed", removed), Lane("good", emulated(dict(sample_image("gen2")), "good"))]
    run_lanes(SUITE, lanes, timeout=30)
    gone, good = (lane.result for lane in lanes)
    verdicts = [c.verdict.value for c in gone.cases]
    assert "PASS" in verdicts  # it ran until it was pulled out
    cut = verdicts[verdicts.index(next(v for v in verdicts if v in ("ERROR", "INCONCLUSIVE"))):]
    assert set(cut) <= {"ERROR", "INCONCLUSIVE", "NOT_APPLICABLE"}  # after that, no case pretends to pass
    assert good.ok and len(good.cases) == len(gone.cases)
