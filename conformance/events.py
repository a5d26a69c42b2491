"""Progress of a run as typed events, in order: suite_started, then per case case_started,
step_done (one per step, preconditions and cleanup included), case_done, and last suite_done.
The CLI's progress bar and the TUI consume these; `kind` lets a consumer dispatch on a string.
"""

from __future__ import annotations

from dataclasses import dataclass

from .verdict import CaseResult, StepResult, SuiteResult


@dataclass
class SuiteStarted:
    card: str
    total: int  # cases that will be reported (selected), applicable or not
    provenance: dict
    kind: str = "suite_started"


@dataclass
class CaseStarted:
    case_id: str
    title: str
    index: int  # 0-based position among the selected cases
    total: int
    kind: str = "case_started"


@dataclass
class StepDone:
    case_id: str
    step: StepResult
    kind: str = "step_done"


@dataclass
class CaseDone:
    case: CaseResult
    index: int
    total: int
    kind: str = "case_done"


@dataclass
class SuiteDone:
    result: SuiteResult
    kind: str = "suite_done"


Event = SuiteStarted | CaseStarted | StepDone | CaseDone | SuiteDone
