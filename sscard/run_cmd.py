"""`sscard run` and `sscard vectors ...`: the conformance suite from the command line.

    sscard run                                   built-in gen1, gen2, gen3 cards, in-process
    sscard run --builtin gen3 -k "SEL and not 013"
    sscard run --image card.yaml                 an emulated card from a card image (in memory, locked)
    sscard run --reader "Virtual PCD 00 00" --image card.yaml   a card in a reader, described
    sscard run --reader A --image a.yaml --reader B --image b.yaml   two cards at once, one report each
    sscard run --reader A --reader B --describe card.yaml            the same, one shared description
    sscard run --all-readers                     every reader holding a card, at once
    sscard run --reader R --wait 30              wait up to 30 s for the card instead of failing at once
    sscard run --reader R --batch [--count N]    card after card: a report per card, named by the card
    sscard run --reader R --image card.yaml --destructive    also the write-and-restore cases
    sscard run --reader R --image card.yaml --irreversible [--yes]   also the cases no command undoes
    sscard run --replay session.json             a recorded session
    sscard run --psam [no-rk|psam.yaml]          the PSAM vectors against an emulated PSAM
    sscard run --psam-reader "Virtual PCD 00 01" [--psam psam.yaml]   a PSAM in a reader, described
    (with no target at all, the built-in PSAM runs after the three cards)
    sscard vectors check [DIR]                   load and validate the vector files only
    sscard vectors from-session SESSION [--out FILE]

Targets: sscard/targets.py (one target, or several readers paired with their descriptions).
Reports: conformance/cli_run.py (one JSON per card, JUnit and HTML over all cards; written all or
none). Exit status (sscard/exitcodes.py): 0 when no case is FAIL or ERROR, 1 otherwise, 2 for bad
input, 3 when a card cannot be reached (in a parallel run: after the reports of the cards that
ran), 4 when a report cannot be written, 130 on Ctrl-C (in a batch: after the current card's
report is complete).
"""

from __future__ import annotations

import click

from conformance import cli_run as lib
from conformance.parallel import Lane
from conformance.runner import DEFAULT_TIMEOUT
from conformance.textsafe import markup_safe, printable

from .exitcodes import BAD_INPUT, FAILED, PASSED, UNREACHABLE, CodedError, code_for
from .run_display import Display
from .run_changing import changing_allowed
from .targets import run_specs, target_options


@click.command("run")
@target_options(several=True, builtin_help="Built-in sample cards, comma-separated (gen1,gen2,gen3).")
@click.option("--describe", type=click.Path(exists=True, dir_okay=False),
              help="One card image describing the card in every --reader (instead of one --image each).")
@click.option("--all-readers", is_flag=True, help="Run on every PC/SC reader that holds a card, at once.")
@click.option("--wait", "wait_s", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="With --reader: wait this long for the card instead of failing at once.")
@click.option("--batch", is_flag=True, help="With one --reader: card after card until Ctrl-C (or --count).")
@click.option("--count", type=click.IntRange(min=1), default=None, help="With --batch: stop after N cards.")
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
@click.option("--destructive", is_flag=True, help="With --reader: also run the cases that write and restore the "
              "card in their cleanup (needs its keys in the description).")
@click.option("--irreversible", is_flag=True, help="With --reader: also run the cases no command undoes "
              "(CARD BLOCK, a blocked PIN): only on a card you can sacrifice; asks for confirmation.")
@click.option("--yes", "assume_yes", is_flag=True, help="With --irreversible: do not ask for confirmation.")
def run(builtin, image, reader, replay, describe, all_readers, wait_s, batch, count, selection, json_path,
        junit_path, html_path, trace_path, vectors_dir, timeout, reports_dir, chaos_spec, psam, psam_reader,
        destructive, irreversible, assume_yes):
    """Run the conformance vectors and write the reports."""
    from conformance.chaos import ChaosProcessor, parse_spec
    from conformance.textsafe import console as textsafe_console
    from conformance.vectors import VectorError, load_suite
    from simulator.image import load_image

    try:
        chaos = parse_spec(chaos_spec) if chaos_spec else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--chaos") from None
    card_chosen = any((image, reader, replay, builtin, all_readers))
    psam_chosen = psam is not None or bool(psam_reader)
    specs = run_specs(builtin, image, reader, replay, describe, all_readers) if card_chosen or not psam_chosen else []
    _check_modes(specs, wait_s, batch, count)
    console = textsafe_console()
    try:
        suite = load_suite(lib._vector_source(vectors_dir))
    except VectorError as exc:
        raise click.ClickException(f"the vector suite has {len(exc.problems)} problem(s); nothing was run:\n"
                                   f"{exc}") from None
    lib._check_selection(suite, selection)
    for path in {*image, *([describe] if describe else [])}:
        load_image(path)  # a bad image is bad input (exit 2, file:line), not an unreachable card
    lib._check_report_paths(reports_dir, json_path, junit_path, html_path, trace_path)
    allow = changing_allowed(specs, destructive, irreversible, assume_yes)  # last: it may ask
    wrap = (lambda transport: ChaosProcessor(chaos).wrap(transport)) if chaos is not None else None  # one per card
    options = dict(selection=selection, timeout=timeout, wrap=wrap, runner_options={"allow": allow})
    reports = dict(reports_dir=reports_dir, json_path=json_path, junit_path=junit_path, html_path=html_path,
                   trace_path=trace_path)
    if batch:
        from .run_batch import run_batch

        raise SystemExit(run_batch(console, suite, specs[0], count, options, reports))
    lanes = [Lane(spec.name, _opener(spec, wait_s)) for spec in specs]
    lanes += [Lane(label, opener) for label, opener in lib._psam_targets(psam, psam_reader)] \
        if psam_chosen or not card_chosen else []
    at_once = sum(spec.kind == "reader" for spec in specs) > 1
    raise SystemExit(run_and_report(console, suite, lanes, options, reports, at_once=at_once))


def _opener(spec, wait_s):
    from conformance.batch_run import wait_for_card
    from conformance.targets import exact_reader, open_target
    from conformance.transport import TransportError

    def open_card():
        if wait_s is not None:  # --wait: the card may come later; the reader must be there now
            reader = exact_reader(spec.name)
            if wait_for_card(reader, timeout=wait_s) is None:
                raise TransportError(f"no card in {reader!r} after waiting {wait_s:g} s")
        return open_target(spec)
    return open_card


def run_and_report(console, suite, lanes, options, reports, at_once=False) -> int:
    """Run every lane (at once, or one after another), write the reports of those that ran, print
    the summary; the exit status. A lane that could not be opened: exit 3 (2 for bad input), after
    the others' reports, or at once with no report when nothing ran."""
    from conformance.parallel import run_lanes, run_one

    with Display(console, lanes) as display:
        if at_once:
            run_lanes(suite, lanes, on_event=display, **options)
        else:
            for lane in lanes:
                if not run_one(suite, lane, on_event=display, **options).result and lane.error:
                    break  # one target after another: an unreachable one ends the command, as before
    results = [lane.result for lane in lanes if lane.result is not None]
    failed = [lane for lane in lanes if lane.error]
    if failed and not results:  # nothing ran: the one error, no report
        raise CodedError(failed[0].error, _code(failed[0].exception))
    lib._write_reports(results, console=console, **reports)
    lib._summary_table(console, results)
    for lane in failed:
        console.print(f"[red]not run[/red] {markup_safe(lane.error)}")
    if failed:
        return _code(failed[0].exception)
    return PASSED if all(r.ok for r in results) else FAILED


def _code(exc) -> int:
    """The exit code of a card that could not be opened: an image in use or a reader that is not
    there is unreachable (3), an image or a session that does not read is bad input (2)."""
    return code_for(exc) or (BAD_INPUT if isinstance(exc, ValueError) else UNREACHABLE)


def _check_modes(specs, wait_s, batch, count) -> None:
    readers = [s for s in specs if s.kind == "reader"]
    if (wait_s is not None or batch) and not readers:
        raise click.UsageError(f"{'--batch' if batch else '--wait'} goes with --reader: it waits for a card "
                               f"to be put into a reader")
    if batch and len(specs) != 1:
        raise click.UsageError("--batch takes one --reader (run several batches for several readers)")
    if count is not None and not batch:
        raise click.UsageError("--count goes with --batch")


@click.group("vectors")
def vectors():
    """Work with vector files."""


@vectors.command("check")
@click.argument("source", required=False, type=click.Path(exists=True))
def check(source):
    """Load and validate vector files (default: the project's vectors/); print every problem."""
    from conformance.vectors import VectorError, load_suite

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
    from conformance.from_session import to_yaml
    from conformance.sessions import load_session

    try:
        text = to_yaml(load_session(session), area=area.upper())
    except ValueError as exc:
        raise click.ClickException(lib._naming(session, exc)) from None
    if out:
        from conformance.reports.writing import write_text

        write_text(out, text)  # atomic, 0600: the vectors hold what the session sent, PINs included
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)
