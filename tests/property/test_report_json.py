"""Properties of the JSON report (conformance/reports/json_report.py): any run written and read back
gives the same cases, verdicts, steps and exchanges (durations to the microsecond the file keeps),
and a report of several cards reads back as each card's own run."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings, strategies as st

from conformance.processors import TraceEntry
from conformance.reports import json_report
from conformance.verdict import CaseResult, StepResult, SuiteResult, Verdict

SETTINGS = settings(max_examples=40, deadline=None)
TEXT = st.text(max_size=30)  # any Unicode, control characters and quotes included
APDU = st.one_of(st.none(), st.binary(min_size=2, max_size=40))
SECONDS = st.floats(0, 1000, allow_nan=False)
VERDICTS = st.sampled_from(list(Verdict))
HEX = st.binary(max_size=8).map(lambda b: b.hex().upper())

entries = st.builds(TraceEntry, st.sampled_from(["exchange", "note", "error", "reset"]), TEXT, APDU, APDU,
                    SECONDS, TEXT)
expected = st.fixed_dictionaries({}, optional={"sw": st.lists(st.sampled_from(["9000", "6A82", "61XX"]), max_size=2),
                                               "data": HEX, "tlv": st.dictionaries(st.sampled_from(["84", "6F/84"]), HEX,
                                                                                   max_size=2)})
steps = st.builds(StepResult, st.sampled_from(["precondition", "step", "cleanup"]), st.integers(0, 50), TEXT,
                  VERDICTS, APDU, APDU, expected, st.lists(st.integers(0, 255), max_size=4), TEXT, SECONDS,
                  st.lists(entries, max_size=3), st.integers(0, 9999))
case_ids = st.from_regex(r"SSC\.[A-Z]{2,4}\.[0-9]{3}", fullmatch=True)
cases = st.builds(CaseResult, case_ids, TEXT, st.lists(TEXT, max_size=2), st.lists(TEXT, max_size=2), VERDICTS,
                  TEXT, SECONDS, st.lists(steps, max_size=3), st.lists(TEXT, max_size=2), TEXT, st.integers(0, 9999))


def runs(label=st.text("abcdefgh0123456789-", min_size=1, max_size=8)):
    return st.builds(lambda card, cs: SuiteResult(card, cs, {"tool": "sscard", "card": {"label": card}}),
                     label, st.lists(cases, max_size=5))


def _seen(result: SuiteResult) -> list:
    """Everything the viewers show of a run, with durations as the file keeps them (6 decimals)."""
    def entry(e: TraceEntry):
        return (e.kind, e.time, e.command, e.response, round(e.duration, 6), e.text)

    def step(s: StepResult):
        return (s.phase, s.index, s.title, s.verdict, s.command, s.response, s.expected, s.differing, s.reason,
                round(s.duration, 6), [entry(e) for e in s.exchanges], s.line)

    return [(c.case_id, c.title, c.ref, c.labels, c.verdict, c.reason, round(c.duration, 6),
             [step(s) for s in c.steps], c.warnings, c.file, c.line) for c in result.cases]


def _written(result) -> Path:
    path = Path(tempfile.mkdtemp()) / "report.json"
    json_report.write(result, path)
    return path


@SETTINGS
@given(run=runs())
def test_a_written_report_reads_back_as_the_same_run(run):
    back = json_report.load_json_report(_written(run))
    assert back.card == run.card
    assert _seen(back) == _seen(run)
    assert back.verdict == run.verdict and back.counts() == run.counts() and back.ok == run.ok
    # the trace is rebuilt from the steps' exchanges, in order
    assert [(e.kind, e.command) for e in back.trace.entries] == \
        [(e.kind, e.command) for c in run.cases for s in c.steps for e in s.exchanges]


@settings(max_examples=20, deadline=None)
@given(many=st.lists(runs(st.sampled_from(["gen1", "gen2", "gen3", "reader-a"])), min_size=2, max_size=3,
                     unique_by=lambda r: r.card))
def test_a_report_of_several_cards_reads_back_card_by_card(many):
    path = _written(many)
    back = json_report.load_json_reports(path)
    assert [r.card for r in back] == [r.card for r in many]
    assert [_seen(r) for r in back] == [_seen(r) for r in many]
    combined = json_report.load_json_report(path)
    assert sorted(c.case_id for c in combined.cases) == sorted(c.case_id for r in many for c in r.cases)
