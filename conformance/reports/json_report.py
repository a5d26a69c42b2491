"""The JSON report (design.md contract) and its reader.

    {"provenance": {...},
     "cases": [{"id", "verdict", "title", "ref", "duration", "steps": [...], "reason", ...}],
     "summary": {"card", "verdict", "total", "PASS": n, "FAIL": n, ..., "areas": {...}, "ok"}}

Each step holds the command sent, the expected values and the actual ones side by side, the
indexes of the differing data bytes, the status word's meaning, and its exchanges on the wire.
"""

from __future__ import annotations

import json
from pathlib import Path

from simulator.sw import describe

from ..processors import Trace, TraceEntry
from ..verdict import ORDER, CaseResult, StepResult, SuiteResult, Verdict, worst as worst_of

FORMAT = "sscard-report/1"


def _hex(value: bytes | None) -> str | None:
    return None if value is None else value.hex().upper()


def _unhex(value: str | None) -> bytes | None:
    return None if value is None else bytes.fromhex(value)


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


def write(result: "SuiteResult | list[SuiteResult]", path) -> None:
    """One card's run as the contract's report; a list of runs as one combined report."""
    if isinstance(result, list):
        doc = to_dict(result[0]) if len(result) == 1 else to_dict_many(result)
    else:
        doc = to_dict(result)
    # compact: the C encoder only runs without indent, and a suite report is megabytes
    Path(path).write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


def load_json_reports(path) -> list[SuiteResult]:
    """Every card's run of a saved report (one for a single-card report)."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or "cases" not in doc:
        raise ValueError(f"{path}: not an sscard JSON report (no 'cases')")
    cards = (doc.get("summary") or {}).get("cards")
    if not cards:
        return [load_json_report(path)]
    provenances = (doc.get("provenance") or {}).get("cards") or [{} for _ in cards]
    out = []
    for label, provenance in zip(cards, provenances):
        part = {"provenance": provenance, "summary": {"card": label},
                "cases": [c for c in doc["cases"] if c.get("card") == label]}
        out.append(_from_doc(part))
    return out


def load_json_report(path) -> SuiteResult:
    """Reopen a saved report as a SuiteResult (the TUI's viewer and report re-rendering use it).

    A combined report of several cards comes back as one result over all their cases.
    """
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or "cases" not in doc:
        raise ValueError(f"{path}: not an sscard JSON report (no 'cases')")
    return _from_doc(doc)


def _from_doc(doc: dict) -> SuiteResult:
    trace = Trace()
    cases = [_case(c, trace) for c in doc["cases"]]
    provenance = doc.get("provenance") or {}
    card = (doc.get("summary") or {}).get("card") or (provenance.get("card") or {}).get("label", "")
    if not isinstance(provenance.get("card"), (dict, type(None))):
        provenance = {}
    trace.atr = bytes.fromhex((provenance.get("card") or {}).get("atr") or "")
    trace.reader = provenance.get("reader", "")
    trace.protocol = provenance.get("protocol") or "T=1"
    return SuiteResult(card, cases, provenance, trace)


def _case(doc: dict, trace: Trace) -> CaseResult:
    steps = [_step(s, trace) for s in doc.get("steps", [])]
    return CaseResult(doc["id"], doc.get("title", ""), list(doc.get("ref", [])), list(doc.get("labels", [])),
                      Verdict(doc["verdict"]), doc.get("reason", ""), float(doc.get("duration", 0.0)), steps,
                      list(doc.get("warnings", [])), doc.get("file", ""), int(doc.get("line", 0)))


def _step(doc: dict, trace: Trace) -> StepResult:
    exchanges = [_entry(e) for e in doc.get("exchanges", [])]
    trace.entries.extend(exchanges)
    return StepResult(doc["phase"], int(doc["index"]), doc.get("title", ""), Verdict(doc["verdict"]),
                      _unhex(doc.get("command")), _unhex(doc.get("response")), doc.get("expected") or {},
                      list(doc.get("differing", [])), doc.get("reason", ""), float(doc.get("duration", 0.0)),
                      exchanges, int(doc.get("line", 0)))


def _entry_dict(entry: TraceEntry) -> dict:
    return {"kind": entry.kind, "time": entry.time, "command": _hex(entry.command),
            "response": _hex(entry.response), "duration": round(entry.duration, 6), "text": entry.text}


def _entry(doc: dict) -> TraceEntry:
    return TraceEntry(doc["kind"], doc.get("time", ""), _unhex(doc.get("command")), _unhex(doc.get("response")),
                      float(doc.get("duration", 0.0)), doc.get("text", ""))


__all__ = ["FORMAT", "ORDER", "load_json_report", "load_json_reports", "to_dict", "to_dict_many", "write"]
