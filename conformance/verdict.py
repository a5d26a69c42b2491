"""Verdicts of the certification field, and the results they label.

Worst wins, from step to case to group to suite: ERROR > FAIL > INCONCLUSIVE > PASS >
NOT_APPLICABLE. NOT_APPLICABLE ranks lowest so that a group of passed and not-applicable cases
passes, and only a group in which nothing applied is NOT_APPLICABLE.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Verdict(enum.Enum):
    NOT_APPLICABLE = "NOT_APPLICABLE"
    PASS = "PASS"
    INCONCLUSIVE = "INCONCLUSIVE"
    FAIL = "FAIL"
    ERROR = "ERROR"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def is_bad(self) -> bool:
        """FAIL or ERROR: what makes `sscard run` exit non-zero."""
        return self in (Verdict.FAIL, Verdict.ERROR)

    def __str__(self) -> str:
        return self.value


_RANK = {Verdict.NOT_APPLICABLE: 0, Verdict.PASS: 1, Verdict.INCONCLUSIVE: 2, Verdict.FAIL: 3, Verdict.ERROR: 4}
ORDER = sorted(Verdict, key=lambda v: v.rank)


def worst(verdicts, empty: Verdict = Verdict.NOT_APPLICABLE) -> Verdict:
    """The worst verdict of an iterable; `empty` when there is none."""
    found = list(verdicts)
    return max(found, key=lambda v: v.rank) if found else empty


@dataclass
class StepResult:
    """One exchange (or reset) with expected and actual side by side."""

    phase: str  # precondition | step | cleanup
    index: int
    title: str
    verdict: Verdict
    command: bytes | None = None  # the C-APDU as sent (after substitution); None for a reset
    response: bytes | None = None  # the final R-APDU (after GET RESPONSE / 6Cxx handling)
    expected: dict = field(default_factory=dict)
    differing: list[int] = field(default_factory=list)  # actual data bytes that differ
    reason: str = ""
    duration: float = 0.0
    exchanges: list = field(default_factory=list)  # TraceEntry items on the wire for this step
    line: int = 0

    @property
    def sw(self) -> int | None:
        return None if self.response is None or len(self.response) < 2 else int.from_bytes(self.response[-2:], "big")

    @property
    def data(self) -> bytes:
        return b"" if self.response is None else self.response[:-2]


@dataclass
class CaseResult:
    case_id: str
    title: str
    ref: list[str]
    labels: list[str]
    verdict: Verdict
    reason: str = ""
    duration: float = 0.0
    steps: list[StepResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    file: str = ""
    line: int = 0

    @property
    def area(self) -> str:
        parts = self.case_id.split(".")
        return parts[1] if len(parts) > 2 else ""


@dataclass
class SuiteResult:
    card: str
    cases: list[CaseResult]
    provenance: dict = field(default_factory=dict)
    trace: object = None  # processors.Trace of the whole run

    @property
    def verdict(self) -> Verdict:
        return worst(c.verdict for c in self.cases)

    def counts(self) -> dict[str, int]:
        return {v.value: sum(1 for c in self.cases if c.verdict is v) for v in ORDER}

    def by_area(self) -> dict[str, Verdict]:
        areas: dict[str, list[Verdict]] = {}
        for case in self.cases:
            areas.setdefault(case.area, []).append(case.verdict)
        return {area: worst(vs) for area, vs in areas.items()}

    @property
    def ok(self) -> bool:
        return not any(c.verdict.is_bad for c in self.cases)
