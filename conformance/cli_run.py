"""`sscard run` and `sscard vectors ...`: the conformance suite from the command line.

    sscard run                                   built-in gen1, gen2, gen3 cards, in-process
    sscard run --builtin gen3 -k "SEL and not 013"
    sscard run --image card.yaml                 an emulated card from a card image (in memory)
    sscard run --reader "Virtual PCD 00 00" --image card.yaml   a card in a reader, described
    sscard run --replay session.json             a recorded session
    sscard run --psam [no-rk|psam.yaml]          the PSAM vectors against an emulated PSAM
    sscard run --psam-reader "Virtual PCD 00 01" [--psam psam.yaml]   a PSAM in a reader, described
    (with no target at all, the built-in PSAM runs after the three cards)
    sscard vectors check [DIR]                   load and validate the vector files only
    sscard vectors from-session SESSION [--out FILE]

Reports: with no --json/--junit/--html, all three go to reports/ (JSON one per card, JUnit and HTML
over all cards); with any of them, just the ones named (--json: one file over every card);
the APDU trace only with --trace (apdu4j format, or a JSON session for a .json name). They are
written all or none, atomically, mode 0600 (reports/writing.py).

Exit status (sscard/exitcodes.py): 0 when no case is FAIL or ERROR, 1 otherwise, 2 for bad input
(a broken vector suite, a bad card image, a bad -k or one that selects no case), 3 when the card
cannot be reached, 4 when a report cannot be written, 130 on Ctrl-C (no report is written).
"""

from __future__ import annotations

from pathlib import Path

import click

from simulator.atr import ssc_fields

from .card_under_test import CardUnderTest
from .runner import DEFAULT_TIMEOUT, Runner
from .textsafe import console as textsafe_console, markup_safe, printable
from .transport import EmulatedTransport, TransportError
from .vectors import VectorError, load_suite
from .verdict import ORDER

BUILTIN = ("gen1", "gen2", "gen3")


@click.command("run")
@click.option("--image", type=click.Path(exists=True, dir_okay=False), help="Card image: the emulated card, or the description of a physical one.")
@click.option("--reader", help="PC/SC reader name (or a unique part of it).")
@click.option("--replay", type=click.Path(exists=True, dir_okay=False), help="Replay a recorded session.")
@click.option("--builtin", help="Built-in sample cards, comma-separated (gen1,gen2,gen3).")
@click.option("-k", "selection", help="Select cases: words matched in id and title, with and/or/not.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="JSON report: one file, every card's cases. Naming any report writes only the ones named.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False), help="JUnit XML report.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help="HTML report.")
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False), help="APDU trace in apdu4j format.")
@click.option("--vectors", "vectors_dir", type=click.Path(exists=True), multiple=True,
              help="Vector directory or file (repeatable; default: the project's vectors/).")
@click.option("--timeout", type=float, default=DEFAULT_TIMEOUT, show_default=True, help="Seconds per case.")
@click.option("--reports", "reports_dir", default="reports", show_default=True, type=click.Path(file_okay=False),
              help="Where reports go when no path is given.")
@click.option("--chaos", "chaos_spec", metavar="SPEC", help="Inject faults to test the tester, e.g. "
              "seed=1,drop=0.01,garbage=0.01,truncate=0.01,delay=0.01,delay_s=0.1:2,remove_at=300,reinsert.")
@click.option("--psam", "psam", is_flag=False, flag_value="", default=None, metavar="[PSAM.yaml|PROFILE]",
              help="Also run the PSAM vectors against an emulated PSAM: the built-in one (no value, or a "
                   "profile: default, no-rk, des-only, sm4-only) or a PSAM image; with --psam-reader, the "
                   "description of that PSAM.")
@click.option("--psam-reader", help="PC/SC reader holding a physical PSAM: run the PSAM vectors against it.")
def run(image, reader, replay, builtin, selection, json_path, junit_path, html_path, trace_path,
        vectors_dir, timeout, reports_dir, chaos_spec, psam, psam_reader):
    """Run the conformance vectors and write the reports."""
    from .chaos import ChaosProcessor, parse_spec

    try:
        chaos = parse_spec(chaos_spec) if chaos_spec else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--chaos") from None
    console = textsafe_console()
    try:
        suite = load_suite(_vector_source(vectors_dir))
    except VectorError as exc:
        raise click.ClickException(f"the vector suite has {len(exc.problems)} problem(s); nothing was run:\n"
                                   f"{exc}") from None
    _check_selection(suite, selection)
    if image:
        from simulator.image import load_image

        load_image(image)  # a bad image is bad input (exit 2, file:line), not an unreachable card
    _check_report_paths(reports_dir, json_path, junit_path, html_path, trace_path)
    card_chosen, psam_chosen = any((image, reader, replay, builtin)), psam is not None or bool(psam_reader)
    targets = _targets(image, reader, replay, builtin) if card_chosen or not psam_chosen else []
    targets += _psam_targets(psam, psam_reader) if psam_chosen or not card_chosen else []
    results = []
    for label, open_target in targets:
        try:
            transport, card = open_target()
        except (TransportError, OSError) as exc:
            raise TransportError(f"{label}: cannot reach the card: {exc}") from None
        except ValueError as exc:  # a session or image that does not read
            raise click.ClickException(_naming(label, exc)) from None
        if chaos is not None:
            transport = ChaosProcessor(chaos).wrap(transport)
        with transport:
            runner = Runner(suite, transport, card, selection=selection, timeout=timeout,
                            image_path=getattr(card, "image_path", None) or (image if image else None))
            results.append(_run_with_progress(console, runner, label))
    _write_reports(results, reports_dir, json_path, junit_path, html_path, trace_path, console)
    _summary_table(console, results)
    raise SystemExit(0 if all(r.ok for r in results) else 1)


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


def _targets(image, reader, replay, builtin):
    """(label, opener) pairs; an opener returns (transport, CardUnderTest)."""
    from simulator import Card
    from simulator.image import load_image

    from .transport import EmulatedTransport, PcscTransport, ReplayTransport

    def describe(atr: bytes, label: str) -> CardUnderTest:
        if image:
            return CardUnderTest(dict(load_image(image)), label=label)
        generation = _generation_from_atr(atr)
        sample = Card.builtin(generation)
        if sample.atr == atr:  # a built-in sample card (e.g. served by `sscard serve`): its keys are known
            return CardUnderTest(sample.image, label=label)
        return CardUnderTest({"profile": generation}, label=label)

    if reader:
        def open_reader():
            transport = PcscTransport(reader)
            return transport, describe(transport.atr, transport.name)
        return [(reader, open_reader)]
    if replay:
        def open_replay():
            transport = ReplayTransport(replay)
            return transport, describe(transport.atr, Path(replay).stem)
        return [(replay, open_replay)]
    if image:
        def open_image():
            card = Card(load_image(image))  # no backing file: the run never changes the image on disk
            return EmulatedTransport(card, f"emulated:{Path(image).name}"), CardUnderTest(card.image, label=Path(image).stem)
        return [(image, open_image)]
    names = [n.strip() for n in (builtin or ",".join(BUILTIN)).split(",") if n.strip()]
    for name in names:
        if name not in BUILTIN:
            raise click.BadParameter(f"{name!r} is not one of {', '.join(BUILTIN)}", param_hint="--builtin")

    def opener(name):
        def open_builtin():
            card = Card.builtin(name)
            return EmulatedTransport(card, f"emulated:{name}"), CardUnderTest(card.image, label=name)
        return open_builtin
    return [(name, opener(name)) for name in names]


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


def _generation_from_atr(atr: bytes) -> str:
    """Project ATR template (spec §6): "SSC" then the generation byte; gen2 when unknown."""
    fields = ssc_fields(atr)
    return f"gen{fields.generation}" if fields is not None and fields.generation in (1, 2, 3) else "gen2"


def _run_with_progress(console, runner: Runner, label: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn(f"[bold]{markup_safe(label)}[/bold]"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.description}", markup=False))
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("", total=None)

        def on_event(event):
            if event.kind == "suite_started":
                progress.update(task, total=event.total)
            elif event.kind == "case_started":
                progress.update(task, description=printable(event.case_id))
            elif event.kind == "case_done":
                progress.advance(task)
                if event.case.verdict.is_bad:
                    case = event.case
                    progress.console.print(f"  [red]{case.verdict.value}[/red] {markup_safe(case.case_id)}: "
                                           f"{markup_safe(case.reason)}")
        return runner.run(on_event)


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


@click.group("vectors")
def vectors():
    """Work with vector files."""


@vectors.command("check")
@click.argument("source", required=False, type=click.Path(exists=True))
def check(source):
    """Load and validate vector files (default: the project's vectors/); print every problem."""
    try:
        suite = load_suite(source)
    except VectorError as exc:
        for problem in exc.problems:
            click.echo(printable(problem), err=True)
        raise SystemExit(2)  # bad input (sscard/exitcodes.py)
    click.echo(f"{len(suite.cases)} cases in {len(suite.files)} files, suite version {suite.version}")


@vectors.command("from-session")
@click.argument("session", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), help="Vector file to write (default: print).")
@click.option("--area", default="REC", show_default=True, help="AREA of the generated ids SSC.<AREA>.<NNN>.")
def from_session(session, out, area):
    """Turn a recorded session (JSON, apdu4j trace, apdutool script/output) into a vector file."""
    from .from_session import to_yaml
    from .sessions import load_session

    try:
        text = to_yaml(load_session(session), area=area.upper())
    except ValueError as exc:
        raise click.ClickException(_naming(session, exc)) from None
    if out:
        from .reports.writing import write_text

        write_text(out, text)  # atomic, 0600: the vectors hold what the session sent, PINs included
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)
