"""`sscard run --reader R --batch`: card after card in one reader, a report per card.

The loop: wait for a card, run the suite on it, write its reports named by the card
(conformance.batch_run.card_name: region and serial of the ATR, else the ATR), ask for the next
one and wait until this one is taken out. It ends after `--count` cards, or on Ctrl-C: pressed
while a card runs, the card's suite ends and its reports are written first (exit 130 after);
pressed while waiting, at once (exit 130). A card that cannot be opened is reported and skipped.
"""

from __future__ import annotations

import signal
from pathlib import Path

from conformance import cli_run as lib
from conformance.batch_run import card_name, unique, wait_for_card
from conformance.parallel import Lane, run_one
from conformance.targets import exact_reader, open_target
from conformance.textsafe import markup_safe

from .exitcodes import FAILED, INTERRUPTED, PASSED
from .run_display import Display


class _Deferred:
    """Ctrl-C while a card runs: remembered, acted on once its reports are written."""

    def __init__(self):
        self.pressed = False

    def __enter__(self):
        self.previous = signal.signal(signal.SIGINT, self._press)
        return self

    def _press(self, *_):
        self.pressed = True

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self.previous)


def run_batch(console, suite, spec, count, options, reports) -> int:
    reader = exact_reader(spec.name)
    taken, results = set(), []
    try:
        while count is None or len(results) < count:
            console.print(f"put the next card into {markup_safe(reader)} (Ctrl-C to stop)")
            atr = wait_for_card(reader)
            name = unique(card_name(atr), taken)
            lane = Lane(name, lambda: _labelled(open_target(spec), name))
            console.print(f"{markup_safe(name)}: running the suite (Ctrl-C stops after this card)")
            with _Deferred() as interrupt:
                with Display(console, [lane]) as display:
                    run_one(suite, lane, on_event=display, **options)
                if lane.result is not None:
                    results.append(lane.result)
                    lib._write_reports([lane.result], console=console, **_per_card(reports, name))
                else:
                    console.print(f"[red]not run[/red] {markup_safe(lane.error)}")
            if interrupt.pressed:
                raise KeyboardInterrupt
            if count is not None and len(results) >= count:
                break
            console.print(f"done with {markup_safe(name)}: take the card out of {markup_safe(reader)}")
            wait_for_card(reader, present=False)
    except KeyboardInterrupt:
        _summary(console, results)
        console.print("stopped (Ctrl-C)")
        return INTERRUPTED
    _summary(console, results)
    return PASSED if all(r.ok for r in results) else FAILED


def _labelled(opened, name):
    """The card's report carries the card's name, not the reader's."""
    transport, under_test = opened
    under_test.label = name
    return transport, under_test


def _per_card(reports: dict, name: str) -> dict:
    """The report paths for one card: each path given gets the card's name; with none, a JSON and
    an HTML report named by the card under the reports directory."""
    named = {key: (str(lib._per_card(path, name, True)) if path else None)
             for key, path in reports.items() if key != "reports_dir"}
    if not any(named[key] for key in ("json_path", "junit_path", "html_path")):
        out = Path(reports["reports_dir"])
        named.update(json_path=str(out / f"{name}.json"), html_path=str(out / f"{name}.html"))
    return dict(named, reports_dir=reports["reports_dir"])


def _summary(console, results) -> None:
    if results:
        lib._summary_table(console, results)
