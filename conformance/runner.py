"""The suite runner: selected cases against one Transport, as a stream of typed events.

A case has its time on every transport (limits.CaseLimits): it is checked before each APDU and
reset, a regex gets the time left, and a case that took longer is ERROR, the card rebuilt if it is
emulated. A case whose transport can hang (a reader) runs in a worker thread, so a transmit that
never returns still ends the case at its time; an in-process card runs it inline. A case also
records a bounded number of exchanges and bytes, so a report stays small. A card removed mid-case makes that
case INCONCLUSIVE and the run goes on after a reset; if the reset fails too, or the reader is
gone, the remaining cases are reported INCONCLUSIVE "not run" and the run ends cleanly, so the
report is always complete.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable, Iterator

from . import provenance as prov
from .case_run import CaseRun
from .limits import CaseLimits, LimitedTransport, shorten
from .events import CaseDone, CaseStarted, Event, StepDone, SuiteDone, SuiteStarted
from .processors import Trace, standard_chain
from .selection import Selection
from .transport import TransportError
from .vectors import Case, Suite
from .verdict import CaseResult, SuiteResult, Verdict

DEFAULT_TIMEOUT = 30.0
# The kinds of case that change the card (vectors/README.md, "Cases that change the card"), as
# features: an emulated card has both (the run rebuilds it after the case, Transport.restore); a
# card in a reader has only those the user allowed (sscard run --destructive / --irreversible).
DESTRUCTIVE = "destructive"    # writes that the case's cleanup undoes (a master key changed back)
IRREVERSIBLE = "irreversible"  # changes no command undoes (CARD BLOCK, a blocked PKI PIN, a log append)
CHANGING = (DESTRUCTIVE, IRREVERSIBLE)
_GRACE = 2.0  # seconds a timed-out case gets to notice it must stop


class Runner:
    def __init__(self, suite: Suite, transport, card, *, selection: str | None = None,
                 timeout: float | None = DEFAULT_TIMEOUT, image_path: str | None = None,
                 get_response: bool = True, retry_6c: bool = True, allow: frozenset = frozenset()):
        self.suite, self.transport, self.card = suite, transport, card
        self.selection = Selection(selection)
        self.timeout = timeout
        self.image_path = image_path
        self.get_response, self.retry_6c = get_response, retry_6c
        self.allowed = self._allowed(frozenset(allow))
        self.trace = Trace(atr=_safe_atr(transport), protocol=getattr(transport, "protocol", "T=1"),
                           reader=getattr(transport, "name", ""))
        self._dead: str | None = None  # why the transport cannot be used any more
        self._left_changed: str | None = None  # the case after which the card may not be as found
        self._timed_out_case = False
        self._worker = _Worker()

    def selected(self) -> list[Case]:
        return [c for c in self.suite.cases if self.selection.matches(c.id, c.title)]

    def run(self, on_event: Callable[[Event], None] | None = None) -> SuiteResult:
        result = None
        for event in self.events():
            if on_event is not None:
                on_event(event)
            if isinstance(event, SuiteDone):
                result = event.result
        return result

    def events(self) -> Iterator[Event]:
        cases = self.selected()
        provenance = prov.build(self.suite, self.card, self.transport, image_path=self.image_path,
                                selection=self.selection.expression, timeout=self.timeout)
        provenance["deselected"] = len(self.suite.cases) - len(cases)
        provenance["changing"] = prov.changing(self.allowed, self._rebuilt())
        yield SuiteStarted(self.card.label, len(cases), provenance)
        results: list[CaseResult] = []
        context = self.applicability_context()
        for index, case in enumerate(cases):
            yield CaseStarted(case.id, case.title, index, len(cases))
            result = yield from self.case_events(case, context)
            results.append(result)
            yield CaseDone(result, index, len(cases))
        provenance["ended"] = prov.now()
        prov.changing_ran(provenance["changing"], [(self.kind(c), r) for c, r in zip(cases, results)])
        self.close()
        yield SuiteDone(SuiteResult(self.card.label, results, provenance, self.trace))

    def applicability_context(self) -> dict:
        """What `applies` expressions see: the card's, plus the kinds of changing case allowed."""
        context = self.card.applicability_context()
        if self.allowed:
            context = {**context, "features": frozenset(context["features"]) | self.allowed}
        return context

    @staticmethod
    def kind(case: Case) -> str | None:
        """DESTRUCTIVE or IRREVERSIBLE when the case changes the card (its `applies` names the kind)."""
        return next((k for k in reversed(CHANGING) if case.applies.mentions(k)), None)

    def _rebuilt(self) -> bool:
        return callable(getattr(self.transport, "restore", None))

    def _allowed(self, allow: frozenset) -> frozenset:
        """Every kind on a card the run rebuilds; else what the user allowed (irreversible
        implies destructive: a sacrificial card may take both)."""
        if self._rebuilt() or IRREVERSIBLE in allow:
            return frozenset(CHANGING)
        return allow & {DESTRUCTIVE}

    def case_events(self, case: Case, context: dict | None = None) -> Iterator[Event]:
        """One case as the suite runs it, the per-case API (the pytest plugin runs items with it):
        applicability, the case, the card rebuilt after a case that may have changed it. Yields
        the case's step events; returns its CaseResult."""
        context = context or self.applicability_context()
        if self._dead:
            return _verdict_only(case, Verdict.INCONCLUSIVE, f"not run: {self._dead}")
        if not case.applies.evaluate(context):
            return _verdict_only(case, Verdict.NOT_APPLICABLE, case.applies.why_not(context))
        result = yield from self._run_case(case)
        self._blame_earlier_case(result)
        if self.kind(case) and self._rebuilt():
            self._restore(case)
        elif self._unclean(result):
            self._clean_up_after(case)
        return result

    def close(self) -> None:
        """Ends the case worker thread (after its current case); the transport is the caller's."""
        self._worker.close()

    def _run_case(self, case: Case) -> Iterator[Event]:
        """Runs the case in the worker; yields its step events; returns its CaseResult.

        Steps are collected in the worker and handed over when the case ends: waking this thread
        for every step makes the two threads trade the GIL at each step, which costs more than the
        steps of an emulated card.
        """
        events: queue.Queue = queue.Queue()
        limit = case.timeout or self.timeout
        limits = CaseLimits(limit)  # also the chain's cancel: the watchdog sets it
        chain = standard_chain(LimitedTransport(self.transport, limits), self.trace, self.get_response,
                               self.retry_6c)
        steps: list[StepDone] = []
        run = CaseRun(case, chain, self.card, self.trace, on_step=lambda s: steps.append(StepDone(case.id, s)),
                      limits=limits)
        if getattr(self.transport, "can_hang", True):
            done = self._worker.submit(run, events)
            finished = done.wait(limit or None)
        else:  # an in-process card cannot hang: run it here, without the thread handoff
            _work(run, events)
            done, finished = _DONE, True
        yield from list(steps)
        if finished and not limits.expired:
            result = events.get()
        else:
            result = self._timed_out(case, run, done, events, limits, limit)
        self._after_case(run)
        return result

    def _timed_out(self, case, run, done, events, cancel, limit) -> CaseResult:
        self._timed_out_case = True
        cancel.set()
        done.wait(_GRACE)
        reason = f"case exceeded its timeout of {limit:g} s"
        if not done.is_set():  # stuck inside a transmit: the card or reader does not answer
            self._dead = f"the card stopped answering during {case.id}"
            self._worker = _Worker()  # the stuck thread is left behind; a fresh one serves on
            result = run.result
        else:
            result = _last_result(events) or run.result
        result.verdict, result.reason = Verdict.ERROR, reason
        return result

    def _unclean(self, result: CaseResult) -> bool:
        """The case may have left the card changed: its cleanup failed, it timed out, or the
        transport failed under it (a fault can hit a write before the cleanup restores it)."""
        timed_out, self._timed_out_case = self._timed_out_case, False
        return bool(result.warnings) or timed_out or result.verdict is Verdict.ERROR

    def _clean_up_after(self, case: Case) -> None:
        """Rebuild a card that can be rebuilt; else remember the case, so a later FAIL says why it may be."""
        if self._rebuilt():
            self._restore(case)
        else:
            self._left_changed = case.id

    def _blame_earlier_case(self, result: CaseResult) -> None:
        if self._left_changed and result.verdict is Verdict.FAIL:
            result.reason = (f"{result.reason} (the card may have been left changed by {self._left_changed}, "
                             "whose cleanup did not complete)")

    def _restore(self, case: Case) -> None:
        """After a changing case the card is rebuilt from its image, so later cases see it fresh."""
        if self._dead:
            return
        try:
            atr = self.transport.restore()
        except TransportError as exc:
            self._dead = f"could not restore the card after {case.id}: {exc.reason}"
            return
        self.trace.add("reset", response=atr, text=f"card restored after {self.kind(case) or 'unclean'} case {case.id}")

    def _after_case(self, run: CaseRun) -> None:
        error = run.transport_error
        if error is None or self._dead:
            return
        if error.fatal:
            self._dead = error.reason
            return
        try:  # a removed card may be back; if not, stop cleanly
            self.transport.reset()
        except TransportError as again:
            self._dead = f"{error.reason}; reset failed: {again.reason}"


class _Worker:
    """One thread that runs the cases one after another (a thread per case costs more than a case).

    The suite waits on the case's events with the case's timeout, so a hung card still ends the
    case as ERROR; only a worker stuck inside a transmit is abandoned.
    """

    def __init__(self):
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.thread: threading.Thread | None = None

    def submit(self, run: CaseRun, events: queue.Queue) -> threading.Event:
        if self.thread is None:
            self.thread = threading.Thread(target=self._loop, name="conformance case worker", daemon=True)
            self.thread.start()
        done = threading.Event()
        self.jobs.put((run, events, done))
        return done

    def close(self) -> None:
        if self.thread is not None:
            self.jobs.put(None)  # the thread ends after its current job

    def _loop(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            run, events, done = job
            try:
                _work(run, events)
            finally:
                done.set()


_DONE = threading.Event()
_DONE.set()


def _work(run: CaseRun, events: queue.Queue) -> None:
    try:
        result = run.run()
    except Exception as exc:  # a tool bug: the case is an ERROR, the run goes on
        result = run.result
        result.verdict, result.reason = Verdict.ERROR, f"internal error: {type(exc).__name__}: {shorten(exc)}"
    events.put(result)


def _last_result(events: queue.Queue) -> CaseResult | None:
    found = None
    while not events.empty():
        item = events.get_nowait()
        if isinstance(item, CaseResult):
            found = item
    return found


def _verdict_only(case: Case, verdict: Verdict, reason: str) -> CaseResult:
    return CaseResult(case.id, case.title, case.ref, case.labels, verdict, reason, file=case.file, line=case.line)


def _safe_atr(transport) -> bytes:
    try:
        return bytes(transport.atr)
    except Exception:
        return b""
