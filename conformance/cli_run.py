"""`sscard run` and `sscard vectors ...`: the conformance suite from the command line.

    sscard run                                   built-in gen1, gen2, gen3 cards, in-process
    sscard run --builtin gen3 -k "SEL and not 013"
    sscard run --image card.yaml                 an emulated card from a card image (in memory)
    sscard run --reader "Virtual PCD 00 00" --image card.yaml   a card in a reader, described
    sscard run --replay session.json             a recorded session
    sscard vectors check [DIR]                   load and validate the vector files only
    sscard vectors from-session SESSION [--out FILE]

Reports: with no --json/--junit/--html, all three go to reports/ (JSON one per card, JUnit and HTML
over all cards); with any of them, just the ones named (--json: one file over every card);
the APDU trace only with --trace (apdu4j format, or a JSON session for a .json name). Exit status 0 when no case is FAIL or ERROR,
1 otherwise, 2 for a broken vector suite, 3 when the card cannot be reached.
"""

from __future__ import annotations

from pathlib import Path

import click

from .card_under_test import CardUnderTest
from .runner import DEFAULT_TIMEOUT, Runner
from .transport import TransportError
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
def run(image, reader, replay, builtin, selection, json_path, junit_path, html_path, trace_path,
        vectors_dir, timeout, reports_dir, chaos_spec):
    """Run the conformance vectors and write the reports."""
    from rich.console import Console

    from .chaos import ChaosProcessor, parse_spec

    try:
        chaos = parse_spec(chaos_spec) if chaos_spec else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--chaos") from None
    console = Console()
    try:
        suite = load_suite(_vector_source(vectors_dir))
    except VectorError as exc:
        console.print(f"[red]The vector suite has {len(exc.problems)} problem(s); nothing was run:[/red]")
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(2)
    targets = _targets(image, reader, replay, builtin)
    results = []
    for label, open_target in targets:
        try:
            transport, card = open_target()
        except (TransportError, OSError, ValueError) as exc:
            console.print(f"[red]{label}: cannot reach the card: {exc}[/red]")
            raise SystemExit(3)
        if chaos is not None:
            transport = ChaosProcessor(chaos).wrap(transport)
        with transport:
            runner = Runner(suite, transport, card, selection=selection, timeout=timeout,
                            image_path=image if image else None)
            results.append(_run_with_progress(console, runner, label))
    _write_reports(results, reports_dir, json_path, junit_path, html_path, trace_path, console)
    _summary_table(console, results)
    raise SystemExit(0 if all(r.ok for r in results) else 1)


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


def _generation_from_atr(atr: bytes) -> str:
    """Project ATR template (spec §6): "SSC" then the generation byte; gen2 when unknown."""
    marker = atr.find(b"SSC")
    if marker != -1 and marker + 3 < len(atr) and atr[marker + 3] in (1, 2, 3):
        return f"gen{atr[marker + 3]}"
    return "gen2"


def _run_with_progress(console, runner: Runner, label: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn(f"[bold]{label}[/bold]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("", total=None)

        def on_event(event):
            if event.kind == "suite_started":
                progress.update(task, total=event.total)
            elif event.kind == "case_started":
                progress.update(task, description=event.case_id)
            elif event.kind == "case_done":
                progress.advance(task)
                if event.case.verdict.is_bad:
                    progress.console.print(f"  [red]{event.case.verdict.value}[/red] {event.case.case_id}: {event.case.reason}")
        return runner.run(on_event)


def _per_card(path: str, label: str, several: bool) -> Path:
    p = Path(path)
    return p.with_name(f"{p.stem}-{label}{p.suffix}") if several else p


def _write_reports(results, reports_dir, json_path, junit_path, html_path, trace_path, console) -> None:
    from . import sessions
    from .reports import apdu4j, html, json_report, junit

    several = len(results) > 1
    out = Path(reports_dir)
    written = []
    if json_path:  # one report over every card (the design's contract: {"cases": [...], "summary": ...})
        target = Path(json_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        json_report.write(results, target)
        written.append(target)
    chosen = any((json_path, junit_path, html_path))  # report options name the reports wanted
    for result in results:
        label = _safe(result.card)
        if not chosen:
            target = out / f"{label}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            json_report.write(result, target)
            written.append(target)
        if trace_path:
            target = _per_card(trace_path, label, several)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.suffix.lower() == ".json":  # a JSON session (replayable, with timestamps)
                target.write_text(sessions.dumps(result.trace), encoding="utf-8")
            else:
                apdu4j.write(result.trace, target, tool=f"sscard/{result.provenance['tool']['version']}",
                             provenance=result.provenance)
            written.append(target)
    for path, default, writer in ((junit_path, "junit.xml", junit.write), (html_path, "report.html", html.write)):
        if chosen and not path:
            continue
        target = Path(path) if path else out / default
        target.parent.mkdir(parents=True, exist_ok=True)
        writer(results, target)
        written.append(target)
    console.print("reports: " + ", ".join(str(p) for p in written))


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
        table.add_row(result.card, *(str(counts[v.value]) for v in ORDER), result.verdict.value)
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
            click.echo(str(problem), err=True)
        raise SystemExit(2)
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
        raise click.ClickException(f"{session}: {exc}") from None
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)
