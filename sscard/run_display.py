"""The progress of `sscard run`: one row per card (several at once in a parallel run, one at a time
otherwise or in a batch), and each FAIL or ERROR printed as it happens."""

from __future__ import annotations

from conformance.textsafe import markup_safe, printable


class Display:
    """One progress row per card (rows of a parallel run update from their own threads: rich's
    Progress takes its own lock); a FAIL or ERROR is printed as it happens."""

    def __init__(self, console, lanes):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        columns = (TextColumn("[bold]{task.fields[label]}[/bold]"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.description}", markup=False))
        self.progress = Progress(*columns, console=console, transient=False)
        self.tasks = {id(lane): self.progress.add_task("", total=None, label=markup_safe(lane.label))
                      for lane in lanes}

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        self.progress.__exit__(*exc)

    def __call__(self, lane, event) -> None:
        task = self.tasks[id(lane)]
        if event.kind == "suite_started":
            self.progress.update(task, total=event.total)
        elif event.kind == "case_started":
            self.progress.update(task, description=printable(event.case_id))
        elif event.kind == "case_done":
            self.progress.advance(task)
            case = event.case
            if case.verdict.is_bad:
                where = f"{markup_safe(lane.label)} " if len(self.tasks) > 1 else ""
                self.progress.console.print(f"  [red]{case.verdict.value}[/red] {where}{markup_safe(case.case_id)}: "
                                            f"{markup_safe(case.reason)}")
