"""Verdict aggregation: worst wins from step to case to group to suite."""

from __future__ import annotations

import pytest

from conformance.verdict import ORDER, CaseResult, SuiteResult, Verdict, worst

P, NA, INC, F, E = (Verdict.PASS, Verdict.NOT_APPLICABLE, Verdict.INCONCLUSIVE, Verdict.FAIL, Verdict.ERROR)


def test_order_from_best_to_worst():
    assert ORDER == [NA, P, INC, F, E]


@pytest.mark.parametrize("verdicts, expected", [
    ([P, P], P), ([P, NA], P), ([NA, NA], NA), ([], NA), ([P, INC], INC),
    ([INC, F, P], F), ([F, E], E), ([E, NA, P], E),
])
def test_worst_wins(verdicts, expected):
    assert worst(verdicts) is expected


def case(case_id: str, verdict: Verdict) -> CaseResult:
    return CaseResult(case_id, "t", [], [], verdict)


def test_suite_groups_by_area_and_counts():
    result = SuiteResult("gen2", [case("SSC.SEL.001", P), case("SSC.SEL.002", NA), case("SSC.TRN.001", INC),
                                  case("SSC.PIN.001", NA)])
    assert result.by_area() == {"SEL": P, "TRN": INC, "PIN": NA}
    assert result.verdict is INC
    assert result.counts() == {"NOT_APPLICABLE": 2, "PASS": 1, "INCONCLUSIVE": 1, "FAIL": 0, "ERROR": 0}
    assert result.ok  # INCONCLUSIVE does not fail a run


@pytest.mark.parametrize("bad", [F, E])
def test_fail_or_error_makes_the_run_not_ok(bad):
    result = SuiteResult("gen2", [case("SSC.SEL.001", P), case("SSC.SEL.002", bad)])
    assert not result.ok and result.verdict is bad and bad.is_bad
