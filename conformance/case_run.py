"""One case against one card: preconditions, steps, cleanup, each recorded as a StepResult.

Verdicts (design.md): a step whose answer does not meet its expectation FAILs the case and ends
its steps; a precondition that is not reached, a card removed, or a value the card description
cannot give (a missing key) makes it INCONCLUSIVE; a tool fault or a dead reader is an ERROR.
Cleanup steps always run; their failures are warnings that make a passed case INCONCLUSIVE.
"""

from __future__ import annotations

import time
from typing import Callable

from terminal import KeySet, PkiSession, Session
from terminal.transport import Channel

from . import card_model, compute
from .card_under_test import MissingSecret
from .expect import RegexTimeout
from .limits import REGEX_TIMEOUT, CaseLimits, clip_hex
from .processors import Cancelled, Chain
from .template import TemplateError
from .transport import TransportError
from .vectors import CAPTURE, Case, Precondition, Step
from .verdict import CaseResult, StepResult, Verdict, worst


class _Stop(Exception):
    """Ends the current phase of a case with a verdict and a reason."""

    def __init__(self, verdict: Verdict, reason: str):
        super().__init__(reason)
        self.verdict, self.reason = verdict, reason


class CaseRun:
    def __init__(self, case: Case, chain: Chain, card, trace, on_step: Callable[[StepResult], None] = lambda s: None,
                 limits: CaseLimits | None = None):
        self.case, self.chain, self.card, self.trace, self.on_step = case, chain, card, trace, on_step
        self.limits = limits or CaseLimits()  # the case's time and recording budget (the runner's)
        self.context = compute.Context(card, current_df="MF")
        self.functions = compute.bind(self.context)
        self.variables = {**compute.builtin_variables(card), **case.vars, "atr": chain.transport.atr}
        self.result = CaseResult(case.id, case.title, case.ref, case.labels, Verdict.PASS, file=case.file, line=case.line)
        self.transport_error: TransportError | None = None

    def run(self) -> CaseResult:
        start = time.perf_counter()
        steps_started = False
        try:
            for index, pre in enumerate(self.case.preconditions):
                self._precondition(index, pre)
            steps_started = True
            for index, step in enumerate(self.case.steps):
                self._step("step", index, step)
        except _Stop as stop:
            self._conclude(stop.verdict, stop.reason)
        # Cleanup restores what the steps changed: skipped when no step ran (a precondition was
        # not reached, so nothing changed) and when the transport is gone.
        if steps_started and not (self.transport_error and self.transport_error.fatal):
            self._cleanup()
        self.result.duration = time.perf_counter() - start
        return self.result

    def _conclude(self, verdict: Verdict, reason: str) -> None:
        self.result.verdict = worst([self.result.verdict, verdict])
        self.result.reason = self.result.reason or reason

    def _cleanup(self) -> None:
        for index, step in enumerate(self.case.cleanup):
            try:
                self._step("cleanup", index, step)
            except _Stop as stop:
                self.result.warnings.append(f"cleanup step {index + 1}: {stop.reason}")
                if self.result.verdict is Verdict.PASS:
                    self.result.verdict = Verdict.INCONCLUSIVE
                    self.result.reason = f"cleanup failed, the card may be left changed: {stop.reason}"
                if isinstance(stop.__cause__, TransportError):
                    return

    # --- preconditions ---------------------------------------------------------------------

    def _precondition(self, index: int, pre: Precondition) -> None:
        what = str(pre)
        try:
            if pre.kind == "reset":
                self._reset("precondition", index, what)
            elif pre.kind == "select":
                self._expect_ok(index, what, card_model.select_apdu(str(pre.arg)))
                self.context.current_df = card_model.label_of(str(pre.arg))
            elif pre.kind == "authenticate":
                self._authenticate(index, what, pre.arg["key"], pre.arg["version"])
            elif pre.kind == "verify_pin":
                self._verify_pin(index, what, str(pre.arg))
        except MissingSecret as exc:
            raise _Stop(Verdict.INCONCLUSIVE, f"precondition '{what}' not reached: {exc}") from None

    def _session(self, index: int, what: str, kind=Session):
        """A terminal session whose every APDU is a recorded precondition step (see _expect_ok)."""
        return kind(Channel(_PreconditionSlot(self, index, what), processors=()))

    def _authenticate(self, index, what, key: str, version: int) -> None:
        # The card-under-test description holds the key; the version byte goes with Lc 11 (PD-15).
        keys = KeySet(lambda ref, df: self.card.key(key, self.context.current_df, version), self.card.algorithm,
                      version if version != 1 else None)
        self._session(index, what).external_authenticate(int(key.split("/")[-1], 16), keys, self.context.current_df)

    def _verify_pin(self, index, what, which: str) -> None:
        if which == "SSSE":
            self._session(index, what).verify(self.card.pin("SSSE"))
            return
        who = "user" if which == "user" else "admin"
        self._session(index, what, PkiSession).verify_pin(who, self.card.pin(which))

    def _expect_ok(self, index: int, what: str, apdu: bytes) -> bytes:
        """Send a precondition APDU; anything but 9000 ends the case INCONCLUSIVE. Returns the data."""
        command = _COMMAND_NAMES.get(apdu[1], "")
        title = f"{what}: {command}" if command else what
        record = StepResult("precondition", index, title, Verdict.PASS, command=apdu, expected={"sw": ["9000"]})
        response = self._exchange(record, apdu, raw=False)
        if record.sw != 0x9000:
            from simulator.sw import describe

            got = f"{record.sw:04X} ({describe(record.sw)})" if record.sw is not None else "no answer"
            record.verdict, record.reason = Verdict.INCONCLUSIVE, f"answered {got}"
            self._emit(record)
            raise _Stop(Verdict.INCONCLUSIVE, f"precondition '{what}' not reached: {clip_hex(apdu)} answered {got}")
        self._emit(record)
        return response[:-2]

    # --- steps ---------------------------------------------------------------------------------

    def _reset(self, phase: str, index: int, title: str, step: Step | None = None) -> StepResult:
        record = StepResult(phase, index, title, Verdict.PASS, line=step.line if step else 0)
        start = time.perf_counter()
        try:
            atr = self.chain.transport.reset()
        except TransportError as exc:
            self.transport_error = exc
            record.verdict, record.reason = _transport_verdict(exc), str(exc)
            self._emit(record)
            raise _Stop(record.verdict, f"{title}: {exc}") from exc
        record.duration = time.perf_counter() - start
        record.exchanges = [self.trace.add("reset", response=atr, duration=record.duration)]
        record.response = atr  # for a reset, the "answer" is the ATR (no status word)
        self.variables["atr"] = atr
        self.context.current_df = "MF"
        return record if step is not None else self._emit(record)

    def _step(self, phase: str, index: int, step: Step) -> None:
        title = step.title or f"{phase} {index + 1}"
        if step.is_reset:
            record = self._reset(phase, index, title, step)
            data, sw = record.response, None
        else:
            try:
                apdu = step.apdu.render(self.variables, self.functions)
            except MissingSecret as exc:
                raise _Stop(Verdict.INCONCLUSIVE, f"{title}: cannot compute the command: {exc}") from None
            except (TemplateError, ValueError) as exc:
                raise _Stop(Verdict.ERROR, f"{title}: cannot build the command: {exc}") from None
            record = StepResult(phase, index, title, Verdict.PASS, command=apdu, line=step.line)
            response = self._exchange(record, apdu, raw=step.raw)
            data, sw = response[:-2], record.sw
            self.context.current_df = card_model.df_after(apdu, sw, self.context.current_df)
        if step.expect is not None:
            try:
                left = self.limits.time_left()  # a regex gets the case's time left, if less
                seconds = REGEX_TIMEOUT if left is None else min(REGEX_TIMEOUT, max(left, 0.01))
                outcome = step.expect.check(sw, data, self.variables, self.functions, regex_seconds=seconds)
            except RegexTimeout as exc:
                record.verdict, record.reason = Verdict.ERROR, str(exc)
            except MissingSecret as exc:
                record.verdict, record.reason = Verdict.INCONCLUSIVE, f"cannot compute the expectation: {exc}"
            except (TemplateError, ValueError) as exc:
                record.verdict, record.reason = Verdict.ERROR, f"cannot build the expectation: {exc}"
            else:
                record.expected, record.differing = outcome.expected, outcome.differing
                self.limits.charge(len(str(outcome.expected)))  # the report will hold it
                if not outcome.ok:
                    record.verdict, record.reason = Verdict.FAIL, "; ".join(outcome.mismatches)
        self._capture(step, data, sw)
        self._emit(record)
        if record.verdict is not Verdict.PASS:
            verdict = record.verdict if phase != "cleanup" else Verdict.INCONCLUSIVE
            raise _Stop(verdict, f"{title}: {record.reason}")

    def _exchange(self, record: StepResult, apdu: bytes, raw: bool) -> bytes:
        mark = self.trace.mark()
        start = time.perf_counter()
        try:
            response = self.chain.transmit(apdu, raw=raw)
        except Cancelled as exc:
            record.verdict, record.reason = Verdict.ERROR, str(exc)
            self._emit(record, mark)
            raise _Stop(Verdict.ERROR, str(exc)) from exc
        except TransportError as exc:
            self.transport_error = exc
            record.verdict, record.reason = _transport_verdict(exc), str(exc)
            self._emit(record, mark)
            raise _Stop(record.verdict, f"{record.title}: {exc}") from exc
        record.duration = time.perf_counter() - start
        record.response = response
        record.exchanges = self.trace.since(mark)
        return response

    def _capture(self, step: Step, data: bytes, sw: int | None) -> None:
        for name, source in step.capture.items():
            match = CAPTURE.match(source)
            base = {"data": data, "sw": b"" if sw is None else sw.to_bytes(2, "big"), "atr": self.variables["atr"]}[match.group(1)]
            if match.group(5) is not None:
                value = base[int(match.group(5)):int(match.group(5)) + 1]
            elif match.group(2):
                lower = int(match.group(3)) if match.group(3) else None
                upper = int(match.group(4)) if match.group(4) else None
                value = base[lower:upper]
            else:
                value = base
            self.variables[name] = bytes(value)

    def _emit(self, record: StepResult, mark: int | None = None) -> StepResult:
        if mark is not None and not record.exchanges:
            record.exchanges = self.trace.since(mark)
        self.result.steps.append(record)
        self.on_step(record)
        return record


_COMMAND_NAMES = {0x84: "GET CHALLENGE", 0x82: "EXTERNAL AUTHENTICATE", 0x20: "VERIFY", 0xA4: "SELECT"}


class _PreconditionSlot:
    """The case's chain as a terminal Slot: each APDU one precondition step; anything but 9000
    ends the case INCONCLUSIVE, so a session never sees a refusal."""

    def __init__(self, run: CaseRun, index: int, what: str):
        self.run, self.index, self.what = run, index, what

    def reset(self) -> bytes:
        return self.run.chain.transport.reset()

    def transmit(self, apdu: bytes) -> bytes:
        return self.run._expect_ok(self.index, self.what, apdu) + b"\x90\x00"


def _transport_verdict(exc: TransportError) -> Verdict:
    """Card removed: INCONCLUSIVE (could not decide). Reader or recording unusable: ERROR."""
    return Verdict.ERROR if exc.fatal else Verdict.INCONCLUSIVE

