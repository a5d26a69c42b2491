"""One self-contained HTML page (nothing loaded from elsewhere; one small inline script for the
filter, the page reads the same without it): the provenance summary at the top (card, ATR, tool,
vectors hash, start and end), an index of the failing cases linking to each, a filter by verdict,
area and text, a summary per card, and every case with its steps — expected and actual bytes side
by side, the differing bytes marked, the status word's meaning and the response decoded as TLV.
"""

from __future__ import annotations

import re
from html import escape

from simulator import tlv
from simulator.sw import describe

from .writing import write_text
from ..provenance import vectors_hash
from ..textsafe import printable
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
.na{color:#555}.index li{margin:.15em 0}.filter{position:sticky;top:0;background:#fff;padding:.4em 0;z-index:1}
.filter label{margin-right:1em}.hidden{display:none}
"""

# The filter: hides the cases (and empty card sections) that do not match; without scripts the
# controls do nothing and every case stays shown.
_SCRIPT = """
(function(){
  var form=document.getElementById('filter');if(!form)return;
  function apply(){
    var v=form.verdict.value,a=form.area.value,t=form.text.value.toLowerCase(),shown=0;
    document.querySelectorAll('details.case').forEach(function(c){
      var ok=(!v||c.dataset.verdict===v)&&(!a||c.dataset.area===a)&&(!t||c.textContent.toLowerCase().indexOf(t)>=0);
      c.classList.toggle('hidden',!ok);if(ok)shown++;
    });
    document.getElementById('filter-count').textContent='cases shown: '+shown;
  }
  form.addEventListener('input',apply);form.addEventListener('submit',function(e){e.preventDefault();apply();});
})();
"""
# What the top summary shows of each card's provenance: (label, path in the provenance dict).
_SUMMARY = (("card", ("card", "label")), ("ATR", ("card", "atr")), ("reader", ("reader",)),
            ("image sha256", ("card", "image_sha256")), ("tool", ("tool", "version")),
            ("vectors", ("suite", "version")), ("vectors sha256", ("suite", "sha256")),
            ("cases that change the card", ("changing", "summary")),
            ("started", ("started",)), ("ended", ("ended",)))
_PROBLEMS = (Verdict.ERROR, Verdict.FAIL, Verdict.INCONCLUSIVE)


def render(results: list[SuiteResult] | SuiteResult, title: str = "sscard conformance report") -> str:
    results = [results] if isinstance(results, SuiteResult) else list(results)
    anchors = _anchors(results)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_text(title)}</title>",
             f"<style>{_CSS}</style></head><body><h1>{_text(title)}</h1>",
             _provenance_summary(results)]
    # The full provenance, folded: what produced these verdicts (every vector file's hash, ...).
    parts += [f"<details class='provenance'><summary>provenance: {_text(r.card)}</summary>"
              f"{_provenance(r.provenance)}</details>" for r in results]
    parts += [_failure_index(results, anchors), _overview(results), _filter(results)]
    for number, result in enumerate(results):
        parts.append(_card_section(result, anchors[number]))
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
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


def _text(value) -> str:
    """Outside text (titles, reasons, labels, card data) as characters: escaped, controls visible."""
    return escape(printable("" if value is None else value), quote=True)


def _anchors(results: list[SuiteResult]) -> list[dict[int, str]]:
    """A unique element id per case, per card: `gen2-SSC.SEL.001` (ids keep to safe characters)."""
    taken: set[str] = set()
    found = []
    for number, result in enumerate(results):
        ids = {}
        for index, case in enumerate(result.cases):
            anchor = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{result.card}-{case.case_id}")
            anchor = anchor if anchor not in taken else f"{anchor}-{number}-{index}"
            taken.add(anchor)
            ids[index] = anchor
        found.append(ids)
    return found


def _provenance_summary(results: list[SuiteResult]) -> str:
    head = "".join(f"<th>{label}</th>" for label, _ in _SUMMARY)
    rows = "".join("<tr>" + "".join(f"<td><code>{_text(_dig(r.provenance, path, r))}</code></td>"
                                    for _, path in _SUMMARY) + "</tr>" for r in results)
    return f"<table class='summary'><tr>{head}</tr>{rows}</table>"


def _dig(provenance: dict, path: tuple, result: SuiteResult) -> str:
    value = provenance
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if value is None and path == ("suite", "sha256"):  # reports written before the combined hash
        files = (provenance.get("suite") or {}).get("files") or {}
        value = vectors_hash(files) if files else None
    if value is None and path == ("card", "label"):
        value = result.card
    return "—" if value in (None, "") else str(value)


def _failure_index(results: list[SuiteResult], anchors: list[dict[int, str]]) -> str:
    items = [f"<li>{_badge(case.verdict)} <a href='#{anchors[number][index]}'>{_text(case.case_id)}</a> "
             f"{_text(case.title)}{' <span class=muted>(' + _text(result.card) + ')</span>' if len(results) > 1 else ''}"
             f"{' — <span class=reason>' + _text(case.reason) + '</span>' if case.reason else ''}</li>"
             for verdict in _PROBLEMS for number, result in enumerate(results)
             for index, case in enumerate(result.cases) if case.verdict is verdict]
    if not items:
        return "<h2 id='failures'>Failures</h2><p>No case failed, erred or was inconclusive.</p>"
    return f"<h2 id='failures'>Failures ({len(items)})</h2><ol class='index'>{''.join(items)}</ol>"


def _filter(results: list[SuiteResult]) -> str:
    verdicts = "".join(f"<option value='{v.value}'>{v.value}</option>" for v in reversed(ORDER))
    areas = sorted({c.area for r in results for c in r.cases})
    area_options = "".join(f"<option value='{_text(a)}'>{_text(a or '(none)')}</option>" for a in areas)
    return ("<form id='filter' class='filter' role='search'>"
            f"<label>verdict <select name='verdict'><option value=''>all</option>{verdicts}</select></label>"
            f"<label>area <select name='area'><option value=''>all</option>{area_options}</select></label>"
            "<label>text <input type='search' name='text' placeholder='id, title, reason'></label>"
            "<span id='filter-count' class='muted'></span>"
            "<noscript><span class='muted'>(the filter needs scripts; every case is shown)</span></noscript></form>")


def _overview(results: list[SuiteResult]) -> str:
    head = "".join(f"<th>{v.value}</th>" for v in ORDER)
    rows = []
    for result in results:
        counts = result.counts()
        cells = "".join(f"<td>{counts[v.value]}</td>" for v in ORDER)
        rows.append(f"<tr><td>{_text(result.card)}</td><td>{_badge(result.verdict)}</td>{cells}</tr>")
    return f"<table><tr><th>card</th><th>verdict</th>{head}</tr>{''.join(rows)}</table>"


def _card_section(result: SuiteResult, anchors: dict[int, str]) -> str:
    areas = "".join(f"<tr><td>{_text(a)}</td><td>{_badge(v)}</td></tr>" for a, v in result.by_area().items())
    cases = "".join(_case(c, anchors[i]) for i, c in enumerate(result.cases))
    return (f"<section class='card'><h2>{_text(result.card)} {_badge(result.verdict)}</h2>"
            f"<table><tr><th>area</th><th>verdict</th></tr>{areas}</table>{cases}</section>")


def _provenance(value) -> str:
    if isinstance(value, dict):
        rows = "".join(f"<tr><th>{_text(k)}</th><td>{_provenance(v)}</td></tr>" for k, v in value.items())
        return f"<table>{rows}</table>"
    if isinstance(value, list):
        return _text(", ".join(map(str, value)))
    return f"<code>{_text(value)}</code>"


def _case(case: CaseResult, anchor: str) -> str:
    opened = " open" if case.verdict in _PROBLEMS else ""
    style = "na" if case.verdict is Verdict.NOT_APPLICABLE else "reason"
    reason = f" <span class='{style}'>{_text(case.reason)}</span>" if case.reason else ""
    meta = (f"<p class='muted'>ref: {_text(', '.join(case.ref))} · label: {_text(', '.join(case.labels))}"
            f" · {case.duration * 1000:.1f} ms · {_text(case.file)}:{case.line} · <a href='#failures'>failures</a></p>")
    warnings = "".join(f"<p class='reason'>warning: {_text(w)}</p>" for w in case.warnings)
    steps = ""
    if case.steps:
        steps = ("<table><tr><th>#</th><th>step</th><th>command</th><th>expected</th><th>actual</th>"
                 "<th>verdict</th></tr>" + "".join(_step(s) for s in case.steps) + "</table>")
    return (f"<details class='case' id='{anchor}' data-verdict='{case.verdict.value}' data-area='{_text(case.area)}'{opened}>"
            f"<summary>{_badge(case.verdict)} <b>{_text(case.case_id)}</b> "
            f"{_text(case.title)}{reason}</summary>{meta}{warnings}{steps}</details>")


def _step(step: StepResult) -> str:
    command = "<span class='muted'>reset</span>" if step.command is None else f"<span class='hex'>{step.command.hex().upper()}</span>"
    return (f"<tr><td>{step.index + 1}</td><td>{_text(step.phase)}<br>{_text(step.title)}</td><td>{command}</td>"
            f"<td>{_expected(step)}</td><td>{_actual(step)}</td>"
            f"<td>{_badge(step.verdict)}<br><span class='reason'>{_text(step.reason)}</span></td></tr>")


def _expected(step: StepResult) -> str:
    exp = step.expected
    lines = []
    if "sw" in exp:
        lines.append("SW " + " or ".join(f"<code>{_text(p)}</code>" for p in exp["sw"]))
    if "data" in exp:
        want = bytes.fromhex(exp["data"])
        lines.append(f"data <span class='hex'>{marked_hex(want, step.differing)}</span>")
    if "mask" in exp:
        lines.append(f"data <span class='hex'>{_text(exp['mask']['value'])}</span> under mask "
                     f"<span class='hex'>{_text(exp['mask']['mask'])}</span>")
    if "regex" in exp:
        lines.append(f"regex <code>{_text(exp['regex'])}</code>")
    if "length" in exp:
        lines.append(f"length <code>{_text(str(exp['length']))}</code>")
    for path, value in (exp.get("tlv") or {}).items():
        lines.append(f"TLV <code>{_text(path)}</code> = <span class='hex'>{_text(value or 'present')}</span>")
    return "<br>".join(lines) or "<span class='muted'>—</span>"


def _actual(step: StepResult) -> str:
    if step.response is None:
        return "<span class='muted'>no answer</span>"
    if step.command is None:
        return f"ATR <span class='hex'>{marked_hex(step.response, step.differing)}</span>"
    lines = []
    sw = step.sw
    if sw is not None:
        lines.append(f"SW <code>{sw:04X}</code> <span class='muted'>{_text(describe(sw))}</span>")
    if step.data:
        lines.append(f"data <span class='hex'>{marked_hex(step.data, step.differing)}</span>")
        decoded = tlv.describe(step.data)
        if decoded:
            lines.append(f"<details><summary>TLV</summary><pre>{_text(chr(10).join(decoded))}</pre></details>")
    notes = [e.text for e in step.exchanges if e.kind == "note"]
    if notes:
        lines.append("<span class='muted'>" + "<br>".join(_text(n) for n in notes) + "</span>")
    return "<br>".join(lines)
