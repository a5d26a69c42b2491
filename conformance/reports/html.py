"""One self-contained HTML page (no scripts, fonts or images from elsewhere): provenance, a
summary per card, and every case with its steps — expected and actual bytes side by side, the
differing bytes marked, the status word's meaning and the response decoded as TLV.
"""

from __future__ import annotations

from html import escape

from simulator import tlv
from simulator.sw import describe

from .writing import write_text
from ..verdict import ORDER, CaseResult, StepResult, SuiteResult, Verdict

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
h1{font-size:1.4em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .5em;vertical-align:top;text-align:left}
th{background:#f4f4f4}code,.hex{font-family:ui-monospace,monospace;font-size:.9em;word-break:break-all}
.v{display:inline-block;padding:0 .4em;border-radius:3px;color:#fff;font-size:.85em;font-weight:600}
.PASS{background:#2e7d32}.FAIL{background:#c62828}.ERROR{background:#6a1b9a}
.INCONCLUSIVE{background:#ef6c00}.NOT_APPLICABLE{background:#757575}
mark.diff{background:#ffcdd2;color:#b71c1c;font-weight:700}
details{margin:.3em 0;border:1px solid #e0e0e0;border-radius:4px;padding:.3em .6em}
summary{cursor:pointer}.muted{color:#777}.reason{color:#b71c1c}pre{margin:0;font-size:.85em}
"""


def render(results: list[SuiteResult] | SuiteResult, title: str = "sscard conformance report") -> str:
    results = [results] if isinstance(results, SuiteResult) else list(results)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>",
             f"<style>{_CSS}</style></head><body><h1>{escape(title)}</h1>"]
    # Provenance first: what produced these verdicts (tool, suite, image hashes, ATR, reader, times).
    parts += [f"<details class='provenance'><summary>provenance: {escape(r.card)}</summary>"
              f"{_provenance(r.provenance)}</details>" for r in results]
    parts.append(_overview(results))
    for result in results:
        parts.append(_card_section(result))
    parts.append("</body></html>")
    return "\n".join(parts)


def write(results, path, title: str = "sscard conformance report", create_under=None) -> None:
    """The page written atomically, mode 0600 (reports/writing.py)."""
    write_text(path, render(results, title), create_under)


def marked_hex(data: bytes, differing) -> str:
    """Hex of `data` with the bytes at the `differing` indexes wrapped in <mark class="diff">."""
    positions = set(differing)
    return "".join(f"<mark class='diff'>{b:02X}</mark>" if i in positions else f"{b:02X}" for i, b in enumerate(data))


def _badge(verdict) -> str:
    value = verdict.value if isinstance(verdict, Verdict) else str(verdict)
    return f"<span class='v {value}'>{value}</span>"


def _overview(results: list[SuiteResult]) -> str:
    head = "".join(f"<th>{v.value}</th>" for v in ORDER)
    rows = []
    for result in results:
        counts = result.counts()
        cells = "".join(f"<td>{counts[v.value]}</td>" for v in ORDER)
        rows.append(f"<tr><td>{escape(result.card)}</td><td>{_badge(result.verdict)}</td>{cells}</tr>")
    return f"<table><tr><th>card</th><th>verdict</th>{head}</tr>{''.join(rows)}</table>"


def _card_section(result: SuiteResult) -> str:
    areas = "".join(f"<tr><td>{escape(a)}</td><td>{_badge(v)}</td></tr>" for a, v in result.by_area().items())
    cases = "".join(_case(c) for c in result.cases)
    return (f"<h2>{escape(result.card)} {_badge(result.verdict)}</h2>"
            f"<table><tr><th>area</th><th>verdict</th></tr>{areas}</table>{cases}")


def _provenance(value) -> str:
    if isinstance(value, dict):
        rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{_provenance(v)}</td></tr>" for k, v in value.items())
        return f"<table>{rows}</table>"
    if isinstance(value, list):
        return escape(", ".join(map(str, value)))
    return f"<code>{escape('' if value is None else str(value))}</code>"


def _case(case: CaseResult) -> str:
    opened = " open" if case.verdict not in (Verdict.PASS, Verdict.NOT_APPLICABLE) else ""
    reason = f" <span class='reason'>{escape(case.reason)}</span>" if case.reason else ""
    meta = (f"<p class='muted'>ref: {escape(', '.join(case.ref))} · label: {escape(', '.join(case.labels))}"
            f" · {case.duration * 1000:.1f} ms · {escape(case.file)}:{case.line}</p>")
    warnings = "".join(f"<p class='reason'>warning: {escape(w)}</p>" for w in case.warnings)
    steps = ""
    if case.steps:
        steps = ("<table><tr><th>#</th><th>step</th><th>command</th><th>expected</th><th>actual</th>"
                 "<th>verdict</th></tr>" + "".join(_step(s) for s in case.steps) + "</table>")
    return (f"<details{opened}><summary>{_badge(case.verdict)} <b>{escape(case.case_id)}</b> "
            f"{escape(case.title)}{reason}</summary>{meta}{warnings}{steps}</details>")


def _step(step: StepResult) -> str:
    command = "<span class='muted'>reset</span>" if step.command is None else f"<span class='hex'>{step.command.hex().upper()}</span>"
    return (f"<tr><td>{step.index + 1}</td><td>{escape(step.phase)}<br>{escape(step.title)}</td><td>{command}</td>"
            f"<td>{_expected(step)}</td><td>{_actual(step)}</td>"
            f"<td>{_badge(step.verdict)}<br><span class='reason'>{escape(step.reason)}</span></td></tr>")


def _expected(step: StepResult) -> str:
    exp = step.expected
    lines = []
    if "sw" in exp:
        lines.append("SW " + " or ".join(f"<code>{escape(p)}</code>" for p in exp["sw"]))
    if "data" in exp:
        want = bytes.fromhex(exp["data"])
        lines.append(f"data <span class='hex'>{marked_hex(want, step.differing)}</span>")
    if "mask" in exp:
        lines.append(f"data <span class='hex'>{escape(exp['mask']['value'])}</span> under mask "
                     f"<span class='hex'>{escape(exp['mask']['mask'])}</span>")
    if "regex" in exp:
        lines.append(f"regex <code>{escape(exp['regex'])}</code>")
    if "length" in exp:
        lines.append(f"length <code>{escape(str(exp['length']))}</code>")
    for path, value in (exp.get("tlv") or {}).items():
        lines.append(f"TLV <code>{escape(path)}</code> = <span class='hex'>{escape(value or 'present')}</span>")
    return "<br>".join(lines) or "<span class='muted'>—</span>"


def _actual(step: StepResult) -> str:
    if step.response is None:
        return "<span class='muted'>no answer</span>"
    if step.command is None:
        return f"ATR <span class='hex'>{marked_hex(step.response, step.differing)}</span>"
    lines = []
    sw = step.sw
    if sw is not None:
        lines.append(f"SW <code>{sw:04X}</code> <span class='muted'>{escape(describe(sw))}</span>")
    if step.data:
        lines.append(f"data <span class='hex'>{marked_hex(step.data, step.differing)}</span>")
        decoded = tlv.describe(step.data)
        if decoded:
            lines.append(f"<details><summary>TLV</summary><pre>{escape(chr(10).join(decoded))}</pre></details>")
    notes = [e.text for e in step.exchanges if e.kind == "note"]
    if notes:
        lines.append("<span class='muted'>" + "<br>".join(escape(n) for n in notes) + "</span>")
    return "<br>".join(lines)
