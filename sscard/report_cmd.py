"""`sscard report merge|diff`: JSON reports from many machines or nights, together.

    sscard report merge A.json B.json … --html batch.html [--json merged.json]
    sscard report diff old.json new.json [--force]

merge: one batch view (per card, per area, per case); exit 0 when no case of any card is FAIL or
ERROR, 1 otherwise (as `sscard run`). diff: the cases of one card whose verdict changed; exit 0
when none did, 1 when some did, 2 when the reports are of different cards (unless --force).
Cases in one report only are listed too, without changing the exit code (vectors come and go).
"""

from __future__ import annotations

import click

from . import exitcodes

_NONE = "—"


@click.group("report")
def report():
    """Merge and compare JSON reports (of `sscard run --json` or `pytest --sscard-json`)."""


@report.command("merge")
@click.argument("reports", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help="The batch page (self-contained HTML).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="One combined JSON report of every card run (sscard report diff and the TUI read it).")
@click.option("--title", default="sscard batch report", show_default=True, help="Title of the batch page.")
def merge(reports, html_path, json_path, title):
    """One batch view of several JSON reports: per card, per area, per case."""
    from rich.table import Table

    from conformance.reports import batch, json_report, writing
    from conformance.textsafe import console as rich_console, markup_safe
    from conformance.verdict import ORDER

    runs = _load(batch.batch, reports)
    for path in filter(None, (html_path, json_path)):
        writing.check(path)
    outputs = []
    if html_path:
        outputs.append((html_path, batch.render(runs, title)))
    if json_path:
        outputs.append((json_path, json_report.dumps([run.result for run in runs])))
    written = writing.write_all(outputs) if outputs else []
    console = rich_console()  # a closed output exits 130, not 1 (a FAIL)
    table = Table(title=f"{len(runs)} card run(s) from {len(reports)} report(s)")
    table.add_column("card", overflow="fold")
    table.add_column("report", overflow="fold")
    for verdict in ORDER:
        table.add_column(batch.SHORT.get(verdict.value, verdict.value), justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for run in runs:
        found = run.result.counts()
        table.add_row(markup_safe(run.card), markup_safe(run.source), *(str(found[v.value]) for v in ORDER),
                      run.result.verdict.value)
    console.print(table)
    attention = batch.not_quiet(runs)
    if attention:
        console.print(f"{len(attention)} case result(s) not PASS or N/A"
                      + (" (listed in the batch page)" if html_path else ""))
    if written:
        console.print("written: " + ", ".join(markup_safe(p) for p in written))
    raise SystemExit(exitcodes.PASSED if all(run.result.ok for run in runs) else exitcodes.FAILED)


@report.command("diff")
@click.argument("old", type=click.Path(exists=True, dir_okay=False))
@click.argument("new", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Compare even when the reports are of different cards.")
def diff(old, new, force):
    """The cases of the same card whose verdict changed from OLD to NEW."""

    from conformance.reports import batch
    from conformance.textsafe import console as rich_console, markup_safe

    before, after = _load(batch.batch, [old]), _load(batch.batch, [new])
    pairs, alone = batch.pair(before, after)
    different = [(a, b) for a, b in pairs if not batch.same_card(a, b)]
    console = rich_console()  # a closed output exits 130, not 1 (a FAIL)
    if (different or alone or not pairs) and not force:
        named = [f"{batch.identity(a)} in {old} and {batch.identity(b)} in {new}" for a, b in different]
        named += [f"{batch.identity(run)} only in {run.source}" for run in alone]
        raise exitcodes.CodedError("the reports are of different cards: " + "; ".join(named or ["no card in common"])
                                   + " (--force compares them anyway)", exitcodes.BAD_INPUT)
    for run in alone:
        console.print(f"not compared: {markup_safe(batch.identity(run))} is only in {markup_safe(run.source)}")
    changed = 0
    for a, b in pairs:
        found = batch.changes(a.result, b.result)
        changed += sum(1 for c in found if c.old is not None and c.new is not None)
        _print_changes(console, a, b, found)
    raise SystemExit(exitcodes.FAILED if changed else exitcodes.PASSED)


def _print_changes(console, old, new, found) -> None:
    from rich.table import Table

    from conformance.reports import batch
    from conformance.textsafe import markup_safe

    label = markup_safe(old.card if old.card == new.card else f"{old.card} → {new.card}")
    versions = [((r.result.provenance or {}).get("suite") or {}).get("version") for r in (old, new)]
    if all(versions) and versions[0] != versions[1]:
        console.print(f"{label}: the vectors differ (suite {markup_safe(versions[0])} → {markup_safe(versions[1])})")
    both = [c for c in found if c.old is not None and c.new is not None]
    if not found:
        console.print(f"{label}: no case changed verdict ({len(new.result.cases)} cases)")
        return
    table = Table(title=f"{label}: {len(both)} case(s) changed verdict")
    for name in ("case", "title", "old", "new", "reason"):
        table.add_column(name, overflow="fold", no_wrap=name in ("old", "new"))
    for change in found:
        table.add_row(markup_safe(change.case_id), markup_safe(change.title), _short(batch, change.old),
                      _short(batch, change.new), markup_safe(change.reason))
    console.print(table)
    only = [c for c in found if c.old is None or c.new is None]
    if only:
        console.print(f"{len(only)} case(s) in one report only (shown with {_NONE}); they do not count as changes")


def _short(batch, verdict) -> str:
    return _NONE if verdict is None else batch.SHORT.get(verdict.value, verdict.value)


def _load(read, paths):
    """Reports read, or bad input (exit 2) naming the file that is not a report."""
    try:
        return read(paths)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
