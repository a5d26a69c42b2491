"""The runner under injected faults: the real suite (vectors/) against the built-in emulated cards
behind a seeded chaos processor. A case that saw a fault never PASSes: a transport fault (dropped
answer, answer without status word, card pulled) is INCONCLUSIVE or ERROR, a garbage answer a card
could have sent is a FAIL with the bytes recorded, a delay past the timeout is an ERROR; and every
report is written and reads back."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from conformance import sessions
from conformance.card_under_test import CardUnderTest
from conformance.chaos import ChaosConfig, ChaosProcessor, parse_spec
from conformance.processors import Chain, Trace, TracingProcessor
from conformance.reports import apdu4j, html, json_report, junit
from conformance.runner import Runner
from conformance.transport import EmulatedTransport, TransportError
from conformance.vectors import load_suite
from conformance.verdict import Verdict
from simulator import Card

TRANSPORT_FAULTS = {"drop", "truncate", "removed"}
UNDECIDED = (Verdict.INCONCLUSIVE, Verdict.ERROR)


@pytest.fixture(scope="module")
def suite():
    return load_suite()  # the real suite, every area


def chaos_run(suite, config: ChaosConfig, generation="gen3", timeout=30.0, transport="t0", **options):
    image = Card.builtin(generation).export_image()
    image.setdefault("switches", {})["transport"] = transport
    card = Card.from_dict(image)
    chaos = ChaosProcessor(config)
    runner = Runner(suite, chaos.wrap(EmulatedTransport(card, f"emulated:{generation}")),
                    CardUnderTest(card.image, label=generation), timeout=timeout, **options)
    return runner.run(chaos.observe), chaos


def check_verdicts(result, chaos, timeout=30.0) -> dict:
    """The per-case rule; returns the cases by id."""
    cases = {c.case_id: c for c in result.cases}
    kinds: dict[str, set] = {}
    for fault in chaos.faults:
        if fault.case:
            kinds.setdefault(fault.case, set()).add(fault.kind)
    faulted = chaos.faulted_cases()
    for case_id in faulted:
        case = cases[case_id]
        assert case.verdict not in (Verdict.PASS, Verdict.NOT_APPLICABLE), (case_id, kinds[case_id])
        assert case.reason, case_id
        if case.verdict is Verdict.FAIL and "garbage" not in kinds[case_id]:
            # Only an answer a card could have sent may FAIL the card: a transport fault may come
            # after a step failed on the card's real answer (in cleanup), never be the FAIL itself.
            failed = [s for s in case.steps if s.verdict is Verdict.FAIL]
            hit = [s for s in case.steps if "chaos" in s.reason or "no status word" in s.reason]
            assert failed and failed[0].response is not None and hit, (case_id, case.reason)
            assert all(s.phase == "cleanup" and s.verdict in UNDECIDED for s in hit), (case_id, case.reason)
    for case_id, seconds in chaos.delays().items():
        if seconds > timeout:
            assert cases[case_id].verdict is Verdict.ERROR and "timeout" in cases[case_id].reason, case_id
    for case in result.cases:  # faulted or not (a fault may leave the card changed): never silent
        assert case.verdict is Verdict.PASS or case.reason, case.case_id
    return cases


def check_reports(result, tmp_path) -> None:
    """JSON, JUnit, HTML, the apdu4j trace and the JSON session are written and parse back."""
    json_report.write(result, tmp_path / "r.json")
    reopened = json_report.load_json_report(tmp_path / "r.json")
    assert [(c.case_id, c.verdict, c.reason) for c in reopened.cases] == \
           [(c.case_id, c.verdict, c.reason) for c in result.cases]
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["total"] == len(result.cases)
    junit.write([result], tmp_path / "junit.xml")
    root = ET.parse(tmp_path / "junit.xml").getroot()
    counts = result.counts()
    assert (int(root.get("failures")), int(root.get("errors"))) == (counts["FAIL"], counts["ERROR"])
    html.write([result], tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    parser = HTMLParser()
    parser.feed(page)
    parser.close()
    assert all(c.case_id in page for c in result.cases)
    apdu4j.write(result.trace, tmp_path / "trace.txt")
    assert len(apdu4j.loads((tmp_path / "trace.txt").read_text()).exchanges) >= len(result.trace.exchanges())
    session = sessions.loads(sessions.dumps(result.trace))
    assert len([e for e in session.exchanges if e is not None]) == len(result.trace.exchanges())


def faults_of(chaos, kind) -> list:
    return [f for f in chaos.faults if f.kind == kind]


# --- one fault kind at a time ----------------------------------------------------------------


def test_dropped_answers_are_inconclusive(suite, tmp_path):
    result, chaos = chaos_run(suite, ChaosConfig(seed=2, drop=0.02))
    cases = check_verdicts(result, chaos)
    drops = faults_of(chaos, "drop")
    assert len(drops) >= 20
    for fault in drops:
        case = cases[fault.case]
        assert case.verdict is Verdict.INCONCLUSIVE and "did not answer" in case.reason, (fault, case.reason)
    check_reports(result, tmp_path)


def test_answers_without_status_word_are_transport_faults_not_fails(suite, tmp_path):
    result, chaos = chaos_run(suite, ChaosConfig(seed=1, truncate=0.02), generation="gen2")
    cases = check_verdicts(result, chaos)
    truncated = faults_of(chaos, "truncate")
    assert len(truncated) >= 20 and {len(f.detail.split(" -> ")[1]) // 2 for f in truncated} == {0, 1}
    for fault in truncated:
        case = cases[fault.case]
        assert case.verdict is Verdict.INCONCLUSIVE and "no status word" in case.reason, (fault, case.reason)
    # the malformed bytes are kept in the trace beside the command that got them
    errors = [e for e in result.trace.entries if e.kind == "error"]
    assert len(errors) == len(truncated) and all("no status word" in e.text and e.command for e in errors)
    check_reports(result, tmp_path)


def test_garbage_a_card_could_send_fails_with_the_bytes_recorded(suite, tmp_path):
    result, chaos = chaos_run(suite, ChaosConfig(seed=3, garbage=0.02), generation="gen1")
    cases = check_verdicts(result, chaos)
    garbage = faults_of(chaos, "garbage")
    assert len(garbage) >= 20
    verdicts = Counter(cases[f.case].verdict for f in garbage)
    assert set(verdicts) <= {Verdict.FAIL, Verdict.INCONCLUSIVE} and verdicts[Verdict.FAIL] >= 5
    for fault in garbage:
        case = cases[fault.case]
        sent = fault.detail.split(" -> ")[1]
        if case.verdict is Verdict.FAIL:  # the garbage is the actual answer, beside the expected one
            step = next(s for s in case.steps if s.verdict is Verdict.FAIL)
            assert step.response.hex().upper().endswith(sent) and step.expected.get("sw")
    check_reports(result, tmp_path)


def test_card_pulled_for_good_ends_the_run_cleanly(suite, tmp_path):
    result, chaos = chaos_run(suite, ChaosConfig(seed=4, remove_at=500))
    check_verdicts(result, chaos)
    [pulled] = faults_of(chaos, "pulled")
    order = [c.case_id for c in result.cases]
    at = order.index(pulled.case)
    assert result.cases[at].verdict is Verdict.INCONCLUSIVE and "card removed" in result.cases[at].reason
    assert all(c.verdict in (Verdict.PASS, Verdict.NOT_APPLICABLE) for c in result.cases[:at])
    later = result.cases[at + 1:]
    assert later and all(c.verdict is Verdict.INCONCLUSIVE and c.reason.startswith("not run: card removed") for c in later)
    assert faults_of(chaos, "reset-refused")
    check_reports(result, tmp_path)


def test_card_put_back_on_reset_lets_the_run_go_on(suite, tmp_path):
    result, chaos = chaos_run(suite, ChaosConfig(seed=4, remove_at=500, reinsert_on_reset=True))
    check_verdicts(result, chaos)
    [pulled] = faults_of(chaos, "pulled")
    assert faults_of(chaos, "reinserted") and not faults_of(chaos, "reset-refused")
    at = [c.case_id for c in result.cases].index(pulled.case)
    assert result.cases[at].verdict is Verdict.INCONCLUSIVE
    later = Counter(c.verdict for c in result.cases[at + 1:])
    assert later[Verdict.PASS] > 100 and not any("not run" in c.reason for c in result.cases)
    check_reports(result, tmp_path)


def test_delays_within_the_timeout_change_nothing(suite):
    result, chaos = chaos_run(suite, ChaosConfig(seed=5, delay=0.01, delay_s=(0.0, 0.005)), generation="gen2")
    assert len(faults_of(chaos, "delay")) >= 10
    assert result.ok and result.counts()["INCONCLUSIVE"] == 0


def test_delays_past_the_timeout_are_errors(suite, tmp_path):
    timeout = 0.2
    result, chaos = chaos_run(suite, ChaosConfig(seed=6, delay=0.003, delay_s=(0.3, 0.35)), timeout=timeout)
    cases = check_verdicts(result, chaos, timeout)
    slow = chaos.delays()
    assert len(slow) >= 3 and all(s > timeout for s in slow.values())
    assert {cases[c].verdict for c in slow} == {Verdict.ERROR}
    check_reports(result, tmp_path)


def test_a_card_that_hangs_past_the_grace_time_ends_the_run(suite, tmp_path):
    result, chaos = chaos_run(suite, ChaosConfig(seed=7, delay=1.0, delay_s=(2.6, 2.6)), generation="gen1",
                              timeout=0.1, selection="SEL")
    first, *rest = result.cases
    assert first.verdict is Verdict.ERROR and "timeout" in first.reason
    assert rest and all(c.verdict is Verdict.INCONCLUSIVE and "stopped answering" in c.reason for c in rest)
    check_reports(result, tmp_path)


# --- a seeded mix ------------------------------------------------------------------------------


MIX = dict(drop=0.01, garbage=0.01, truncate=0.01, delay=0.01, delay_s=(0.0, 0.003))


@pytest.mark.parametrize("generation, transport, seed", [
    ("gen1", "t0", 11), ("gen2", "t1", 12), ("gen3", "t0", 13), ("gen3", "t1", 14)])
def test_seeded_mix_of_every_fault(suite, tmp_path, generation, transport, seed):
    config = ChaosConfig(seed=seed, remove_at=600 + 50 * seed, reinsert_on_reset=True, **MIX)
    result, chaos = chaos_run(suite, config, generation=generation, transport=transport)
    check_verdicts(result, chaos)
    kinds = Counter(f.kind for f in chaos.faults)
    assert all(kinds[k] >= 3 for k in ("drop", "garbage", "truncate", "delay")) and kinds["pulled"] == 1
    faulted = chaos.faulted_cases()
    assert len(faulted) >= 20 and not any(c.verdict is Verdict.PASS for c in result.cases if c.case_id in faulted)
    check_reports(result, tmp_path)


def test_same_seed_same_faults(suite):
    config = ChaosConfig(seed=21, drop=0.02, garbage=0.02, truncate=0.02)
    runs = [chaos_run(suite, config, generation="gen2", selection="SEL or REC") for _ in range(2)]
    (first, chaos1), (second, chaos2) = runs
    assert [(f.number, f.kind, f.case) for f in chaos1.faults] == [(f.number, f.kind, f.case) for f in chaos2.faults]
    assert [c.verdict for c in first.cases] == [c.verdict for c in second.cases]
    other, chaos3 = chaos_run(suite, ChaosConfig(seed=22, drop=0.02, garbage=0.02, truncate=0.02),
                              generation="gen2", selection="SEL or REC")
    assert [(f.number, f.kind) for f in chaos3.faults] != [(f.number, f.kind) for f in chaos1.faults]


# --- the processor itself, the spec, the CLI ------------------------------------------------


class _Answer:
    atr, protocol, name = b"\x3B\x00", "T=1", "fixed"

    def transmit(self, apdu):
        return bytes.fromhex("AABB9000")


def test_as_a_processor_in_a_chain_a_short_answer_is_a_transport_error():
    trace = Trace()
    chain = Chain(_Answer(), [TracingProcessor(trace), ChaosProcessor(ChaosConfig(truncate=1.0))])
    with pytest.raises(TransportError, match="no status word"):
        chain.transmit(bytes.fromhex("00B0000000"))
    [entry] = trace.entries
    assert entry.kind == "error" and "no status word" in entry.text


def test_without_faults_the_processor_passes_answers_through():
    chain = Chain(_Answer(), [ChaosProcessor(ChaosConfig(seed=1))])
    assert chain.transmit(bytes.fromhex("00B0000000")) == bytes.fromhex("AABB9000")


def test_garbage_never_has_a_valid_sw1():
    chaos = ChaosProcessor(ChaosConfig(seed=9, garbage=1.0))
    answers = [chaos.process(b"\x00\xB0\x00\x00\x00", _Answer().transmit) for _ in range(500)]
    assert all(len(a) >= 2 and a[-2] >> 4 not in (6, 9) for a in answers)
    assert len({len(a) for a in answers}) > 20


def test_parse_spec():
    config = parse_spec("seed=7, drop=0.01,garbage=0.02,truncate=0.03,delay=0.04,delay_s=0.1:2,remove=300,reinsert")
    assert config == ChaosConfig(seed=7, drop=0.01, garbage=0.02, truncate=0.03, delay=0.04, delay_s=(0.1, 2.0),
                                 remove_at=300, reinsert_on_reset=True)
    for bad in ("drop=2", "drop=x", "nonsense=1", "drop=0.6,garbage=0.6", "remove_at=0", "delay_s=2:1"):
        with pytest.raises(ValueError, match="chaos"):
            parse_spec(bad)


def test_sscard_run_with_chaos_writes_every_report(tmp_path):
    from sscard.cli import cli

    out = tmp_path / "reports"
    args = ["run", "--builtin", "gen2", "--chaos", "seed=3,drop=0.03,truncate=0.03,garbage=0.03,remove_at=400",
            "--reports", str(out), "--trace", str(tmp_path / "trace.json")]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 1, result.output  # garbage FAILs
    doc = json.loads((out / "gen2.json").read_text())
    verdicts = Counter(c["verdict"] for c in doc["cases"])
    assert verdicts["INCONCLUSIVE"] > 0 and verdicts["FAIL"] > 0
    assert any(c["reason"].startswith("not run: card removed") for c in doc["cases"])
    assert "chaos seed 3" in doc["provenance"]["reader"]
    assert ET.parse(out / "junit.xml").getroot().get("failures") == str(verdicts["FAIL"])
    assert (out / "report.html").read_text(encoding="utf-8").count("<html") == 1
    assert sessions.load_session(tmp_path / "trace.json").exchanges
    bad = CliRunner().invoke(cli, ["run", "--builtin", "gen2", "--chaos", "drop=lots"])
    assert bad.exit_code == 2 and "--chaos" in bad.output


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_case_without_a_fault_never_fails_on_a_card_that_can_be_rebuilt(suite, seed):
    """A fault can hit a write before its cleanup restores it; the runner rebuilds an emulated
    card after such a case, so no later, unfaulted case pays for it."""
    result, chaos = chaos_run(suite, ChaosConfig(seed=seed, drop=0.01, garbage=0.01, truncate=0.01))
    check_verdicts(result, chaos)
    faulted = chaos.faulted_cases()
    assert faulted
    innocent = [c for c in result.cases if c.case_id not in faulted]
    assert [c.case_id for c in innocent if c.verdict is Verdict.FAIL] == []
    assert sum(c.verdict is Verdict.PASS for c in innocent) > 300


def test_without_a_rebuild_a_later_fail_names_the_case_that_left_the_card_changed(suite):
    image = Card.builtin("gen3").export_image()
    card = Card.from_dict(image)

    class NoRebuild(EmulatedTransport):  # like a physical card: nothing can undo a write
        restore = None

    chaos = ChaosProcessor(ChaosConfig(seed=3, drop=0.02, garbage=0.02))  # a seed whose faults leave the card changed
    runner = Runner(suite, chaos.wrap(NoRebuild(card, "emulated:gen3")), CardUnderTest(card.image, label="gen3"))
    result = runner.run(chaos.observe)
    faulted = chaos.faulted_cases()
    later_fails = [c for c in result.cases if c.case_id not in faulted and c.verdict is Verdict.FAIL]
    assert later_fails  # without a rebuild, the damage shows up later...
    assert all("may have been left changed by SSC." in c.reason for c in later_fails), \
        [(c.case_id, c.reason) for c in later_fails]
