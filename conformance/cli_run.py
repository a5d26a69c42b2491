"""What `sscard run` (sscard/run_cmd.py) calls around the runner: the vector source, the -k check,
the PSAM targets, and the reports (planned, checked before any case, written all or none).

Reports: with no --json/--junit/--html, all three go to reports/ (JSON one per card, JUnit and HTML
over all cards); with any of them, just the ones named (--json: one file over every card);
the APDU trace only with --trace (apdu4j format, or a JSON session for a .json name). They are
written all or none, atomically, mode 0600 (reports/writing.py).
"""

from __future__ import annotations

from pathlib import Path

import click

from .targets import BUILTIN  # noqa: F401  (the names the pytest plugin has always imported from here)
from .textsafe import markup_safe
from .transport import EmulatedTransport
from .verdict import ORDER


def _naming(path, exc) -> str:
    """The error with the file it is about named once (the readers often name it already)."""
    text = str(exc)
    return text if text.startswith(str(path)) else f"{path}: {text}"


def _check_selection(suite, expression) -> None:
    """A -k that does not parse, or that selects no case, is bad input: a run of nothing must not
    look like a green run."""
    from .selection import Selection

    chosen = Selection(expression)
    if not any(chosen.matches(c.id, c.title) for c in suite.cases):
        raise click.UsageError(f"-k {expression!r} selects none of the {len(suite.cases)} cases")


def _vector_source(paths: tuple):
    """None (the project's vectors), one directory or file, or the files of several."""
    if not paths:
        return None
    if len(paths) == 1:
        return paths[0]
    files = []
    for path in map(Path, paths):
        files += sorted(path.glob("*.y*ml")) if path.is_dir() else [path]
    return files


def _psam_targets(psam, psam_reader):
    """(label, opener) pairs for the PSAM: a physical one in `psam_reader` (described by the
    `psam` image, if any), else the emulated one of `psam` (built-in, a profile, an image)."""
    from simulator.psam import PROFILES, Psam

    from .card_under_test import PsamUnderTest
    from .transport import PcscTransport

    image = psam if psam and not (psam in PROFILES and not Path(psam).exists()) else None
    described = Psam.from_image(image) if image else None   # a bad image: exit 2 before any case
    profile = psam or "default"

    def under_test(emulated, label):
        target = PsamUnderTest(emulated.export_image(), label=label)
        target.image_path = image
        return target

    if psam_reader:
        def open_reader():
            transport = PcscTransport(psam_reader)
            if described is not None:
                return transport, under_test(described, f"psam-{transport.name}")
            if transport.atr == Psam.builtin().atr:   # an emulated PSAM served by `sscard serve --psam`
                return transport, under_test(Psam.builtin(), f"psam-{transport.name}")
            target = under_test(Psam.builtin(), f"psam-{transport.name}")
            target.described = False                   # the roots are unknown: crypto cases INCONCLUSIVE
            return transport, target
        return [(psam_reader, open_reader)]

    def open_emulated():
        emulated = described or Psam.builtin(profile)
        stem = Path(image).stem if image else ""
        label = (stem if stem.startswith("psam") else f"psam-{stem}") if image else \
            ("psam" if profile == "default" else f"psam-{profile}")
        return _PsamTransport(emulated, f"emulated:{label}"), under_test(emulated, label)
    return [(image or f"builtin PSAM {profile}", open_emulated)]


class _PsamTransport(EmulatedTransport):
    def restore(self) -> bytes:
        """A PSAM keeps nothing across a power cycle; a fresh one from the same image all the same."""
        from simulator.psam import Psam

        self.card = Psam.from_dict(self.card.export_image())
        return self.reset()


def _per_card(path: str, label: str, several: bool) -> Path:
    p = Path(path)
    return p.with_name(f"{p.stem}-{label}{p.suffix}") if several else p


def _reports(results, reports_dir, json_path, junit_path, html_path, trace_path) -> list:
    """(path, text) of every report of the run: with no report option, a JSON per card and the
    JUnit and HTML over all cards under reports_dir; with any, only the ones named."""
    from . import sessions
    from .reports import apdu4j, html, json_report, junit

    out = Path(reports_dir)
    several = len(results) > 1
    chosen = any((json_path, junit_path, html_path))
    reports = []
    if json_path:  # one report over every card (the design's contract: {"cases": [...], "summary": ...})
        reports.append((Path(json_path), lambda: json_report.dumps(results)))
    for result in results:
        label = _safe(result.card)
        if not chosen:
            reports.append((out / f"{label}.json", lambda r=result: json_report.dumps(r)))
        if trace_path:
            target = _per_card(trace_path, label, several)
            if target.suffix.lower() == ".json":  # a JSON session (replayable, with timestamps)
                reports.append((target, lambda r=result: sessions.dumps(r.trace)))
            else:
                reports.append((target, lambda r=result: apdu4j.dumps(
                    r.trace, tool=f"sscard/{r.provenance['tool']['version']}", provenance=r.provenance)))
    for path, default, render in ((junit_path, "junit.xml", junit.dumps), (html_path, "report.html", html.render)):
        if path or not chosen:
            reports.append((Path(path) if path else out / default, lambda render=render: render(results)))
    return reports


def _check_report_paths(reports_dir, *paths) -> None:
    """Before any case runs: a report path that can never be written ends the command (exit 4)."""
    from .reports import writing

    json_path, junit_path, html_path, trace_path = paths
    defaults = () if any((json_path, junit_path, html_path)) else (Path(reports_dir) / "report.html",)
    for path in (*filter(None, paths), *defaults):
        writing.check(path, create_under=reports_dir)


def _write_reports(results, reports_dir, json_path, junit_path, html_path, trace_path, console) -> None:
    from .reports import writing

    planned = _reports(results, reports_dir, json_path, junit_path, html_path, trace_path)
    written = writing.write_all([(path, render()) for path, render in planned], create_under=reports_dir)
    console.print("reports: " + ", ".join(markup_safe(p) for p in written))


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label) or "card"


def _summary_table(console, results) -> None:
    from rich.table import Table

    short = {"NOT_APPLICABLE": "N/A", "INCONCLUSIVE": "INCONCL."}  # narrow terminals keep every column
    table = Table(title="cases per verdict")
    table.add_column("card", overflow="fold")
    for verdict in ORDER:
        table.add_column(short.get(verdict.value, verdict.value), justify="right", no_wrap=True)
    table.add_column("suite", no_wrap=True)
    for result in results:
        counts = result.counts()
        table.add_row(markup_safe(result.card), *(str(counts[v.value]) for v in ORDER), result.verdict.value)
    console.print(table)
