"""One run of the suite for the TUI: the conformance Runner over a Connection, its events handed to
a callback, a cancel flag checked between cases, and the reports written however the run ends.

Runs in the calling thread (the TUI calls it from a Textual thread worker). When the user stops
the run, the cases not run are reported INCONCLUSIVE "not run: stopped by the user", so a
stopped run still writes a complete report.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

from conformance.events import CaseDone, Event, SuiteDone, SuiteStarted
from conformance.provenance import now as iso_now
from conformance.reports import apdu4j, json_report
from conformance.runner import Runner
from conformance.vectors import Case, Suite
from conformance.verdict import CaseResult, SuiteResult, Verdict

from .targets import Connection

STOPPED = "not run: stopped by the user"


class _ChosenRunner(Runner):
    """The runner over an explicit list of case ids (the start screen's checkboxes), in suite order."""

    def __init__(self, *args, chosen: Iterable[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.chosen = None if chosen is None else set(chosen)

    def selected(self) -> list[Case]:
        cases = super().selected()
        return cases if self.chosen is None else [c for c in cases if c.id in self.chosen]


@dataclass
class RunOutcome:
    result: SuiteResult
    cancelled: bool
    report: Path | None = None
    trace_file: Path | None = None
    errors: list[str] = field(default_factory=list)  # reports that could not be written


def run_suite(suite: Suite, connection: Connection, *, chosen: Iterable[str] | None = None,
              expression: str = "", emit: Callable[[Event], None] = lambda e: None,
              cancel: threading.Event | None = None, reports_dir: Path | None = None,
              stamp: str | None = None) -> RunOutcome:
    """Run, emitting every event; stop between cases once `cancel` is set. Writes the JSON report
    and the APDU trace (apdu4j log) into `reports_dir` when given."""
    cancel = cancel or threading.Event()
    runner = _ChosenRunner(suite, connection.transport, connection.card, selection=expression or None,
                           image_path=connection.image_path, chosen=chosen)
    planned = runner.selected()
    done: list[CaseResult] = []
    provenance: dict = {}
    result: SuiteResult | None = None
    events = runner.events()
    try:
        for event in events:
            if isinstance(event, SuiteStarted):
                provenance = event.provenance
            emit(event)
            if isinstance(event, CaseDone):
                done.append(event.case)
            if isinstance(event, SuiteDone):
                result = event.result
            elif cancel.is_set() and isinstance(event, (CaseDone, SuiteStarted)):
                break  # between cases: nothing is half-sent to the card
    finally:
        events.close()
    cancelled = result is None
    if cancelled:
        rest = [_not_run(case) for case in planned[len(done):]]
        provenance = {**provenance, "ended": iso_now(), "stopped": "by the user"}
        result = SuiteResult(connection.card.label, done + rest, provenance, runner.trace)
        for index, case in enumerate(rest, start=len(done)):
            emit(CaseDone(case, index, len(planned)))
        emit(SuiteDone(result))
    outcome = RunOutcome(result, cancelled)
    if reports_dir is not None:
        _write_reports(outcome, Path(reports_dir), connection.target.short, stamp)
    return outcome


def _not_run(case: Case) -> CaseResult:
    return CaseResult(case.id, case.title, case.ref, case.labels, Verdict.INCONCLUSIVE, STOPPED,
                      file=case.file, line=case.line)


def report_stamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now()).strftime("%Y%m%d-%H%M%S")


def _write_reports(outcome: RunOutcome, folder: Path, label: str, stamp: str | None) -> None:
    base = f"sscard-{_safe(label)}-{stamp or report_stamp()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        outcome.report = folder / f"{base}.json"
        json_report.write(outcome.result, outcome.report)
    except OSError as exc:
        outcome.errors.append(f"JSON report: {exc}")
        outcome.report = None
    trace = outcome.result.trace
    if trace is not None and getattr(trace, "entries", None):
        try:
            outcome.trace_file = folder / f"{base}.apdu4j.log"
            apdu4j.write(trace, outcome.trace_file)
        except OSError as exc:
            outcome.errors.append(f"APDU trace: {exc}")
            outcome.trace_file = None


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text).strip("-") or "card"
