"""The JSON report (design.md contract) and its reader.

    {"provenance": {...},
     "cases": [{"id", "verdict", "title", "ref", "duration", "steps": [...], "reason", ...}],
     "summary": {"card", "verdict", "total", "PASS": n, "FAIL": n, ..., "areas": {...}, "ok"}}

Each step holds the command sent, the expected values and the actual ones side by side, the
indexes of the differing data bytes, the status word's meaning, and its exchanges on the wire.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

from simulator.sw import describe

from ..processors import Trace, TraceEntry
from .writing import write_text
from ..verdict import ORDER, CaseResult, StepResult, SuiteResult, Verdict, worst as worst_of

FORMAT = "sscard-report/1"


def _hex(value: bytes | None) -> str | None:
    return None if value is None else value.hex().upper()


def _unhex(value: str | None) -> bytes | None:
    return None if value is None else bytes.fromhex(_text(value, "hex"))


def step_dict(step: StepResult) -> dict:
    sw = step.sw
    actual = {"sw": None if step.command is None else (f"{sw:04X}" if sw is not None else None),
              "data": _hex(step.data if step.command is not None else step.response)}
    return {
        "phase": step.phase, "index": step.index, "title": step.title, "verdict": step.verdict.value,
        "command": _hex(step.command), "response": _hex(step.response),
        "expected": step.expected, "actual": actual,
        "sw_meaning": describe(sw) if sw is not None and step.command is not None else None,
        "differing": step.differing, "reason": step.reason, "duration": round(step.duration, 6),
        "line": step.line, "exchanges": [_entry_dict(e) for e in step.exchanges],
    }


def case_dict(case: CaseResult) -> dict:
    return {"id": case.case_id, "verdict": case.verdict.value, "title": case.title, "ref": case.ref,
            "labels": case.labels, "duration": round(case.duration, 6), "reason": case.reason,
            "warnings": case.warnings, "file": case.file, "line": case.line,
            "steps": [step_dict(s) for s in case.steps]}


def summary(result: SuiteResult) -> dict:
    return {"card": result.card, "verdict": result.verdict.value, "total": len(result.cases),
            **result.counts(), "areas": {a: v.value for a, v in result.by_area().items()}, "ok": result.ok}


def to_dict(result: SuiteResult) -> dict:
    # Provenance first: every report starts with what produced it.
    return {"format": FORMAT, "provenance": result.provenance, "cases": [case_dict(c) for c in result.cases],
            "summary": summary(result)}


def to_dict_many(results: list[SuiteResult]) -> dict:
    """Several cards' runs as ONE report: every case carries its card, the summary covers all."""
    cases = [{**case_dict(c), "card": r.card} for r in results for c in r.cases]
    verdict = worst_of(r.verdict for r in results)
    counts = {v.value: sum(r.counts()[v.value] for r in results) for v in ORDER}
    return {"format": FORMAT,
            "provenance": {"cards": [r.provenance for r in results],
                           **{k: v for k, v in (results[0].provenance if results else {}).items()
                              if k in ("tool", "suite", "started")}},
            "cases": cases,
            "summary": {"card": ", ".join(r.card for r in results), "verdict": verdict.value,
                        "total": len(cases), **counts, "ok": all(r.ok for r in results),
                        "cards": {r.card: summary(r) for r in results}}}


def dumps(result: "SuiteResult | list[SuiteResult]") -> str:
    """One card's run as the contract's report; a list of runs as one combined report."""
    if isinstance(result, list):
        doc = to_dict(result[0]) if len(result) == 1 else to_dict_many(result)
    else:
        doc = to_dict(result)
    # compact: the C encoder only runs without indent, and a suite report is megabytes
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"


def write(result: "SuiteResult | list[SuiteResult]", path, create_under=None) -> None:
    """The report written atomically, mode 0600 (reports/writing.py)."""
    write_text(path, dumps(result), create_under)


def load_json_reports(path) -> list[SuiteResult]:
    """Every card's run of a saved report (one for a single-card report). Raises ValueError."""
    doc = _read(path)
    with _shape(path):
        cards = _dict(doc, "summary").get("cards")
        if not cards:
            return [_from_doc(doc)]
        provenances = _dict(doc, "provenance").get("cards") or [{} for _ in cards]
        out = []
        labels = list(cards) if isinstance(cards, dict) else cards  # the writer's {label: summary}
        for label, provenance in zip(_list(labels, str, "summary.cards"), _list(provenances, dict, "provenance.cards")):
            part = {"provenance": provenance, "summary": {"card": label},
                    "cases": [c for c in _list(doc["cases"], dict, "cases") if c.get("card") == label]}
            out.append(_from_doc(part))
        return out


def load_json_report(path) -> SuiteResult:
    """Reopen a saved report as a SuiteResult (the TUI's viewer and report re-rendering use it).

    A combined report of several cards comes back as one result over all their cases. Anything
    that is not such a report (bad JSON, a missing field, a field of the wrong type) is a ValueError.
    """
    doc = _read(path)
    with _shape(path):
        return _from_doc(doc)


def from_dict(doc: dict, source: str = "report") -> SuiteResult:
    """A report document already in memory (cases gathered from pytest workers) as a SuiteResult;
    a document of the wrong shape is a ValueError naming `source`."""
    with _shape(source):
        return _from_doc(doc)


def _read(path) -> dict:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except RecursionError:  # nested deeper than the parser's stack
        raise ValueError(f"{path}: JSON nested too deep") from None
    if not isinstance(doc, dict) or "cases" not in doc:
        raise ValueError(f"{path}: not an sscard JSON report (no 'cases')")
    return doc


@contextmanager
def _shape(path):
    """A report that does not have the writer's shape is a ValueError naming the file."""
    try:
        yield
    except (KeyError, TypeError, AttributeError, OverflowError) as exc:
        raise ValueError(f"{path}: not an sscard JSON report ({type(exc).__name__}: {exc})") from None
    except ValueError as exc:
        raise ValueError(f"{path}: not an sscard JSON report: {exc}") from None


def _from_doc(doc: dict) -> SuiteResult:
    trace = Trace()
    cases = [_case(c, trace) for c in _list(doc["cases"], dict, "cases")]
    provenance = _dict(doc, "provenance")
    if not isinstance(provenance.get("card"), (dict, type(None))):
        provenance = {}
    card = _dict(doc, "summary").get("card") or _dict(provenance, "card").get("label") or ""
    trace.atr = _unhex(_dict(provenance, "card").get("atr") or "")
    trace.reader = _text(provenance.get("reader") or "", "provenance.reader")
    trace.protocol = _text(provenance.get("protocol") or "T=1", "provenance.protocol")
    return SuiteResult(_text(card, "summary.card"), cases, provenance, trace)


def _case(doc: dict, trace: Trace) -> CaseResult:
    steps = [_step(s, trace) for s in _list(doc.get("steps", []), dict, "steps")]
    return CaseResult(_text(doc["id"], "id"), _text(doc.get("title", ""), "title"), _list(doc.get("ref", []), str, "ref"),
                      _list(doc.get("labels", []), str, "labels"), Verdict(doc["verdict"]),
                      _text(doc.get("reason", ""), "reason"), float(doc.get("duration", 0.0)), steps,
                      _list(doc.get("warnings", []), str, "warnings"), _text(doc.get("file", ""), "file"),
                      int(doc.get("line", 0)))


def _step(doc: dict, trace: Trace) -> StepResult:
    exchanges = [_entry(e) for e in _list(doc.get("exchanges", []), dict, "exchanges")]
    trace.entries.extend(exchanges)
    return StepResult(_text(doc["phase"], "phase"), int(doc["index"]), _text(doc.get("title", ""), "title"),
                      Verdict(doc["verdict"]), _unhex(doc.get("command")), _unhex(doc.get("response")),
                      _expected(doc.get("expected") or {}), _list(doc.get("differing", []), int, "differing"),
                      _text(doc.get("reason", ""), "reason"), float(doc.get("duration", 0.0)), exchanges,
                      int(doc.get("line", 0)))


def _expected(doc) -> dict:
    """The expected values as the writer puts them (expect.Outcome.expected): what the viewers read."""
    if not isinstance(doc, dict):
        raise ValueError(f"expected: a mapping, got {type(doc).__name__}")
    _list(doc.get("sw", []), str, "expected.sw")
    for key in ("data", "regex"):
        _text(doc.get(key, ""), f"expected.{key}")
    _unhex(doc.get("data"))
    mask = _dict(doc, "mask")
    for key in ("value", "mask") if "mask" in doc else ():
        _unhex(_text(mask[key], f"expected.mask.{key}"))
    for path, value in _dict(doc, "tlv").items():
        _text(value or "", f"expected.tlv.{path}")
    return doc


def _dict(doc: dict, key: str) -> dict:
    """doc[key] when it is a mapping, {} when it is absent or null."""
    value = doc.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{key}: expected a mapping, got {type(value).__name__}")
    return value


def _text(value, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what}: expected text, got {type(value).__name__}")
    return value


def _list(value, kind: type, what: str) -> list:
    if not isinstance(value, list) or not all(isinstance(v, kind) and not isinstance(v, bool) for v in value):
        raise ValueError(f"{what}: expected a list of {kind.__name__}")
    return list(value)


def _entry_dict(entry: TraceEntry) -> dict:
    return {"kind": entry.kind, "time": entry.time, "command": _hex(entry.command),
            "response": _hex(entry.response), "duration": round(entry.duration, 6), "text": entry.text}


def _entry(doc: dict) -> TraceEntry:
    return TraceEntry(_text(doc["kind"], "kind"), _text(doc.get("time", ""), "time"), _unhex(doc.get("command")),
                      _unhex(doc.get("response")), float(doc.get("duration", 0.0)), _text(doc.get("text", ""), "text"))


__all__ = ["FORMAT", "ORDER", "dumps", "from_dict", "load_json_report", "load_json_reports", "to_dict", "to_dict_many", "write"]
