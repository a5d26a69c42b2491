"""The runner against the real emulated card (sample cards, defect cards, a t1 card), and against
scripted transports only for faults a card cannot produce: removal, a dead reader, a hang."""

from __future__ import annotations

import copy
import textwrap
import time

import pytest

from conformance.card_under_test import CardUnderTest
from conformance.runner import Runner
from conformance.transport import EmulatedTransport, TransportError
from conformance.vectors import DEFAULT_VECTORS, load_suite
from conformance.verdict import Verdict
from simulator import Card
from simulator.samples import sample_image

# The framework's own example vectors (the full suite is tested by vectors check).
EXAMPLES = [DEFAULT_VECTORS / "select.yaml", DEFAULT_VECTORS / "transport.yaml"]


@pytest.fixture(scope="module")
def suite():
    return load_suite(EXAMPLES)


def run(suite, image=None, generation="gen2", description=None, transport=None, **options):
    image = copy.deepcopy(image or sample_image(generation))
    card = Card.from_dict(image)
    transport = transport or EmulatedTransport(card)
    described = CardUnderTest(description if description is not None else card.image, label=generation)
    return Runner(suite, transport, described, **options).run()


def verdicts(result) -> dict[str, Verdict]:
    return {c.case_id: c.verdict for c in result.cases}


@pytest.mark.parametrize("generation", ["gen1", "gen2", "gen3"])
def test_sample_cards_pass_the_example_vectors(suite, generation):
    result = run(suite, generation=generation)
    bad = {c.case_id: c.reason for c in result.cases if c.verdict not in (Verdict.PASS, Verdict.NOT_APPLICABLE)}
    assert bad == {}
    assert result.ok and result.verdict is Verdict.PASS
    assert verdicts(result)["SSC.SEL.009"] is (Verdict.PASS if generation == "gen3" else Verdict.NOT_APPLICABLE)


def test_every_step_records_expected_and_actual(suite):
    result = run(suite, generation="gen2", selection="SSC.SEL.001")
    [case] = result.cases
    step = case.steps[-1]
    assert step.command.hex().upper() == "00A404000F7378312E73682EC9E7BBE1B1A3D5CF"
    assert step.expected["data"] == "6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B"
    assert step.data.hex().upper() == step.expected["data"] and step.sw == 0x9000
    assert [e.kind for e in step.exchanges] == ["exchange", "note", "exchange"]  # 6118, auto GET RESPONSE


def test_t1_card(suite):
    image = {**sample_image("gen2"), "switches": {"transport": "t1"}}
    result = run(suite, image=image)
    found = verdicts(result)
    assert found["SSC.TRN.008"] is Verdict.PASS
    assert found["SSC.TRN.001"] is Verdict.NOT_APPLICABLE
    assert result.ok


@pytest.mark.parametrize("defect, case_id", [
    ("fci-without-dir", "SSC.SEL.001"),
    ("security-kept-after-select", "SSC.SEL.013"),
    ("le-ignored", "SSC.TRN.006"),
    ("t0-fci-direct", "SSC.TRN.001"),
    ("get-response-without-data-9000", "SSC.TRN.004"),
])
def test_defective_cards_fail_the_case_that_checks_the_defect(suite, defect, case_id):
    result = run(suite, image={**sample_image("gen2"), "defects": [defect]})
    assert verdicts(result)[case_id] is Verdict.FAIL
    assert not result.ok


def test_a_fail_marks_the_differing_bytes(suite):
    result = run(suite, image={**sample_image("gen2"), "defects": ["fci-without-dir"]}, selection="SSC.SEL.001")
    step = result.cases[0].steps[-1]
    assert step.verdict is Verdict.FAIL and step.differing  # bytes 1 (length) onwards differ
    assert step.differing[0] == 1


def test_precondition_not_reached_is_inconclusive(suite):
    description = copy.deepcopy(Card.builtin("gen2").image)
    description["keys"]["SSSE"]["0A"] = "00" * 16  # the tester holds a wrong read key
    result = run(suite, description=description, selection="SSC.SEL.013")
    [case] = result.cases
    assert case.verdict is Verdict.INCONCLUSIVE
    assert case.reason.startswith("precondition 'authenticate key 0A' not reached") and "63C2" in case.reason
    assert [s.phase for s in case.steps].count("cleanup") == 0  # no step ran, so nothing to restore


def test_missing_key_in_the_description_is_inconclusive(suite):
    description = copy.deepcopy(Card.builtin("gen2").image)
    del description["keys"]["SSSE"]["01"]
    result = run(suite, description=description, selection="SSC.SEL.011")
    [case] = result.cases
    assert case.verdict is Verdict.INCONCLUSIVE and "no key SSSE/01" in case.reason


def test_selection_and_events(suite):
    card = Card.builtin("gen3")
    runner = Runner(suite, EmulatedTransport(card), CardUnderTest(card.image, label="gen3"), selection="TRN and not 001")
    events = list(runner.events())
    kinds = [e.kind for e in events]
    assert kinds[0] == "suite_started" and kinds[-1] == "suite_done"
    assert kinds.count("case_started") == kinds.count("case_done") == events[0].total
    started = [e.case_id for e in events if e.kind == "case_started"]
    assert started and all(".TRN.0" in i for i in started) and "SSC.TRN.001" not in started
    assert events[0].provenance["deselected"] == len(suite.cases) - len(started)
    assert any(e.kind == "step_done" for e in events)
    assert events[-1].result.provenance["ended"] is not None


def vector_file(tmp_path, body: str):
    path = tmp_path / "t.yaml"
    head = "area: XMP\ndefaults: {ref: [\"ssc-card §4.10\"], label: C, preconditions: [reset]}\ncases:\n"
    path.write_text(head + textwrap.dedent(body), encoding="utf-8")
    return load_suite(path)


def test_cleanup_failure_is_a_warning_not_a_fail(tmp_path):
    suite = vector_file(tmp_path, """\
      - id: SSC.XMP.001
        title: passes, then cleanup sees an unexpected SW
        steps:
          - apdu: "0084000008"
            expect: {sw: "9000", length: 8}
        cleanup:
          - apdu: "00C0000008"
            expect: {sw: "9000"}
    """)
    [case] = run(suite).cases
    assert case.verdict is Verdict.INCONCLUSIVE
    assert case.warnings == ["cleanup step 1: cleanup 1: SW 6985, expected 9000"]
    assert case.steps[-1].phase == "cleanup" and case.steps[-1].verdict is Verdict.FAIL


def test_reset_step_checks_the_atr(tmp_path):
    suite = vector_file(tmp_path, """\
      - id: SSC.XMP.001
        title: ATR of the project template, generation byte 02
        steps:
          - reset: true
            expect: {length: 17, mask: {value: "3B6D0000008100535343 02 000000000000", mask: "FFFFFFFFFFFFFFFFFFFF FF 000000000000"}}
            capture: {hist: "data[4:17]"}
          - title: READ BINARY at offset 0081 (from the captured bytes) with no current EF
            apdu: 00B0 ${hist[0:2]}
            expect: {sw: "6986"}
    """)
    [case] = run(suite, generation="gen2").cases
    assert case.verdict is Verdict.PASS, case.reason
    assert case.steps[1].command is None and case.steps[1].response == Card.builtin("gen2").atr
    assert case.steps[2].command == bytes.fromhex("00B00081")
    [case] = run(suite, generation="gen3").cases
    assert case.verdict is Verdict.FAIL and case.steps[1].differing == [10]


def test_a_step_that_cannot_be_built_is_an_error(tmp_path):
    suite = vector_file(tmp_path, """\
      - id: SSC.XMP.001
        title: pad length is not a number
        steps:
          - apdu: 00DC0104 ${pad('01', 'x')}
            expect: {sw: "9000"}
    """)
    [case] = run(suite).cases
    assert case.verdict is Verdict.ERROR and "cannot build the command" in case.reason


class Scripted:
    """The emulated card behind a transport that fails the way a reader can: on the n-th APDU."""

    def __init__(self, fail_at: int, error: TransportError | None = None, hang: float = 0.0, reset_fails=False):
        self.inner = EmulatedTransport(Card.builtin("gen2"))
        self.name, self.protocol = "scripted", "T=0"
        self.count, self.fail_at, self.error, self.hang, self.reset_fails = 0, fail_at, error, hang, reset_fails

    @property
    def atr(self):
        return self.inner.atr

    def transmit(self, apdu):
        self.count += 1
        if self.count == self.fail_at:
            if self.hang:
                time.sleep(self.hang)
            elif self.error:
                raise self.error
        return self.inner.transmit(apdu)

    def reset(self):
        if self.reset_fails and self.count >= self.fail_at:
            raise TransportError("no card in the reader")
        return self.inner.reset()

    def close(self):
        pass


def test_card_removed_mid_case_then_back(suite):
    transport = Scripted(fail_at=2, error=TransportError("card removed (scripted reader)"))
    result = run(suite, transport=transport, selection="SEL")
    first, second = result.cases[0], result.cases[1]
    assert first.verdict is Verdict.INCONCLUSIVE and "card removed" in first.reason
    assert second.verdict is Verdict.PASS  # the run went on
    assert all(c.verdict is not Verdict.ERROR for c in result.cases)


def test_card_removed_for_good_stops_the_run_cleanly(suite):
    transport = Scripted(fail_at=2, error=TransportError("card removed (scripted reader)"), reset_fails=True)
    result = run(suite, transport=transport, selection="SEL")
    assert result.cases[0].verdict is Verdict.INCONCLUSIVE
    rest = result.cases[1:]
    assert rest and all(c.verdict is Verdict.INCONCLUSIVE and c.reason.startswith("not run:") for c in rest)
    assert "reset failed" in rest[0].reason
    assert [c.case_id for c in result.cases] == [c.id for c in Runner(suite, transport, None, selection="SEL").selected()]


def test_reader_gone_is_an_error_and_stops(suite):
    transport = Scripted(fail_at=1, error=TransportError("reader unavailable: scripted", fatal=True))
    result = run(suite, transport=transport, selection="SEL")
    assert result.cases[0].verdict is Verdict.ERROR
    assert all(c.reason == "not run: reader unavailable: scripted" for c in result.cases[1:])


def test_case_timeout_is_an_error_and_the_run_goes_on(suite):
    transport = Scripted(fail_at=2, hang=0.6)
    result = run(suite, transport=transport, selection="SSC.SEL.001 or SSC.SEL.002", timeout=0.3)
    first, second = result.cases
    assert first.verdict is Verdict.ERROR and first.reason == "case exceeded its timeout of 0.3 s"
    assert second.verdict is Verdict.PASS
