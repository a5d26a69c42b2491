"""Reports from many machines or nights, together: a batch view of several JSON reports and the
diff of two runs of one card.

    batch(paths)          every card's run of every report (load_json_reports), labels unique
    render(runs)          one self-contained HTML page: cards, a cards × areas table with counts,
                          the cases that are not PASS or N/A with their card, every case × card
    pair(old, new)        the runs of the same card in two reports; changes(a, b) their verdict changes

The page has the single-card report's look (html.py's style and verdict badges); every text
from a report (labels, titles, reasons, file names) is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

from ..verdict import ORDER, CaseResult, SuiteResult, Verdict, worst
from .html import _CSS, _badge
from .json_report import load_json_reports

QUIET = (Verdict.PASS, Verdict.NOT_APPLICABLE)  # what the batch view does not list case by case
SHORT = {"NOT_APPLICABLE": "N/A", "INCONCLUSIVE": "INCONCL."}
_CSS_BATCH = ".n{display:inline-block;min-width:1.6em;margin:0 .1em;padding:0 .3em;border-radius:3px;color:#fff;" \
             "font-size:.85em;text-align:center}td.m{text-align:center}"


@dataclass
class Run:
    """One card's run and the report file it came from."""

    result: SuiteResult
    source: Path

    @property
    def card(self) -> str:
        return self.result.card

    @property
    def atr(self) -> str:
        return str(((self.result.provenance or {}).get("card") or {}).get("atr") or "")


def batch(paths) -> list[Run]:
    """Every card's run of every report, in the order given. A card label that occurs more than
    once (the same card on two nights) gets its report's name: `gen2 (night-2.json)`. Raises
    ValueError for a file that is not an sscard JSON report (the message names it)."""
    runs = [Run(result, Path(path)) for path in paths for result in load_json_reports(path)]
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.card] = counts.get(run.card, 0) + 1
    names = [run.source.name for run in runs]
    for run in runs:
        if counts[run.card] > 1:
            where = run.source.name if names.count(run.source.name) == 1 else str(run.source)
            run.result.card = f"{run.card} ({where})"
    return runs


def areas(runs: list[Run]) -> list[str]:
    """Every area of every run, in the order first met."""
    found: dict[str, None] = {}
    for run in runs:
        found.update((case.area, None) for case in run.result.cases)
    return list(found)


def counts(cases: list[CaseResult]) -> dict[Verdict, int]:
    return {v: n for v in ORDER if (n := sum(1 for c in cases if c.verdict is v))}


def not_quiet(runs: list[Run]) -> list[tuple[Run, CaseResult]]:
    """The cases a person must look at (not PASS, not N/A), card by card, worst first."""
    found = [(run, case) for run in runs for case in run.result.cases if case.verdict not in QUIET]
    return sorted(found, key=lambda rc: -rc[1].verdict.rank)


# --- the batch page ----------------------------------------------------------------------------

def render(runs: list[Run], title: str = "sscard batch report") -> str:
    verdict = worst(run.result.verdict for run in runs)
    total = sum(len(run.result.cases) for run in runs)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>",
             f"<style>{_CSS}{_CSS_BATCH}</style></head><body><h1>{escape(title)}</h1>",
             f"<p>{_badge(verdict)} {len(runs)} card run(s) from {len({r.source for r in runs})} report(s), "
             f"{total} case results.</p>",
             "<h2>Cards</h2>", _cards(runs), "<h2>Cards × areas</h2>", _areas(runs),
             "<h2>Cases not PASS or N/A</h2>", _attention(runs),
             "<h2>Every case</h2>", _matrix(runs), "</body></html>"]
    return "\n".join(parts)


def _pills(found: dict[Verdict, int]) -> str:
    return "".join(f"<span class='n {v.value}' title='{v.value}'>{n}</span>" for v, n in found.items())


def _cards(runs: list[Run]) -> str:
    head = "".join(f"<th>{SHORT.get(v.value, v.value)}</th>" for v in ORDER)
    rows = []
    for run in runs:
        provenance = run.result.provenance or {}
        found = run.result.counts()
        cells = "".join(f"<td>{found[v.value]}</td>" for v in ORDER)
        tool = (provenance.get("tool") or {}).get("version", "")
        suite = (provenance.get("suite") or {}).get("version", "")
        rows.append(f"<tr><td>{escape(run.card)}</td><td><code>{escape(str(run.source))}</code></td>"
                    f"<td>{_badge(run.result.verdict)}</td>{cells}<td><code>{escape(run.atr)}</code></td>"
                    f"<td>{escape(str(tool))}</td><td><code>{escape(str(suite))}</code></td>"
                    f"<td>{escape(str(provenance.get('started') or ''))}</td>"
                    f"<td>{escape(str(provenance.get('ended') or ''))}</td></tr>")
    return (f"<table><tr><th>card</th><th>report</th><th>verdict</th>{head}<th>ATR</th><th>tool</th>"
            f"<th>suite</th><th>started</th><th>ended</th></tr>{''.join(rows)}</table>")


def _areas(runs: list[Run]) -> str:
    names = areas(runs)
    head = "".join(f"<th>{escape(a)}</th>" for a in names)
    rows = []
    for run in runs:
        by_area: dict[str, list[CaseResult]] = {}
        for case in run.result.cases:
            by_area.setdefault(case.area, []).append(case)
        cells = "".join(f"<td class='m'>{_pills(counts(by_area[a]))}</td>" if a in by_area
                        else "<td class='m muted'>—</td>" for a in names)
        rows.append(f"<tr><td>{escape(run.card)}</td>{cells}</tr>")
    legend = " ".join(f"<span class='n {v.value}'>{SHORT.get(v.value, v.value)}</span>" for v in ORDER)
    return f"<p class='muted'>cases per verdict: {legend}</p><table><tr><th>card</th>{head}</tr>{''.join(rows)}</table>"


def _attention(runs: list[Run]) -> str:
    found = not_quiet(runs)
    if not found:
        return "<p>none: every case of every card is PASS or N/A.</p>"
    rows = "".join(f"<tr><td>{escape(run.card)}</td><td>{_badge(case.verdict)}</td><td><b>{escape(case.case_id)}</b></td>"
                   f"<td>{escape(case.title)}</td><td class='reason'>{escape(case.reason)}</td>"
                   f"<td class='muted'>{escape(case.file)}:{case.line}</td></tr>" for run, case in found)
    return (f"<table><tr><th>card</th><th>verdict</th><th>case</th><th>title</th><th>reason</th>"
            f"<th>vector</th></tr>{rows}</table>")


def _matrix(runs: list[Run]) -> str:
    titles: dict[str, str] = {}
    for run in runs:
        for case in run.result.cases:
            titles.setdefault(case.case_id, case.title)
    verdicts = [{c.case_id: c.verdict for c in run.result.cases} for run in runs]
    head = "".join(f"<th>{escape(run.card)}</th>" for run in runs)
    rows = []
    for case_id, title in titles.items():
        cells = "".join(f"<td class='m'>{_badge(v[case_id]) if case_id in v else '—'}</td>" for v in verdicts)
        rows.append(f"<tr><td><b>{escape(case_id)}</b> {escape(title)}</td>{cells}</tr>")
    return (f"<details><summary>{len(titles)} cases × {len(runs)} card run(s)</summary>"
            f"<table><tr><th>case</th>{head}</tr>{''.join(rows)}</table></details>")


# --- the diff of two runs of one card ----------------------------------------------------------

@dataclass
class Change:
    case_id: str
    title: str
    old: Verdict | None  # None: the case is not in the old run
    new: Verdict | None
    reason: str          # the new run's reason (the old one's when the case is gone)


def identity(run: Run) -> str:
    """How a card is named in a refusal: its label and, when the report has it, its ATR."""
    return f"{run.card} (ATR {run.atr})" if run.atr else run.card


def same_card(old: Run, new: Run) -> bool:
    """One card: the same label, and the same ATR when both reports give one."""
    return old.card == new.card and (not old.atr or not new.atr or old.atr == new.atr)


def pair(old: list[Run], new: list[Run]) -> tuple[list[tuple[Run, Run]], list[Run]]:
    """(runs of the same card, the runs left without a partner). One run each: they are paired
    whatever their cards (same_card says whether they may be compared)."""
    if len(old) == 1 and len(new) == 1:
        return [(old[0], new[0])], []
    by_label = {run.card: run for run in new}
    pairs = [(run, by_label.pop(run.card)) for run in old if run.card in by_label]
    paired = {id(a) for a, _ in pairs}
    return pairs, [run for run in old if id(run) not in paired] + list(by_label.values())


def changes(old: SuiteResult, new: SuiteResult) -> list[Change]:
    """The cases whose verdict differs (a case in one run only counts: it came or went), in the
    new run's order, then the cases only the old run had."""
    before = {c.case_id: c for c in old.cases}
    after = {c.case_id: c for c in new.cases}
    out = []
    for case in new.cases:
        was = before.get(case.case_id)
        if was is None or was.verdict is not case.verdict:
            out.append(Change(case.case_id, case.title, was.verdict if was else None, case.verdict, case.reason))
    out += [Change(c.case_id, c.title, c.verdict, None, c.reason) for c in old.cases if c.case_id not in after]
    return out
