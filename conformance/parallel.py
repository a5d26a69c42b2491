"""Several cards at once: one worker thread per card, each with its own transport and Runner.

pyscard gives every connection its own PC/SC context, so the workers share nothing but the
(read-only) suite. A card that is slow, removed or never there affects its own lane only: the
runner turns what goes wrong during a case into that case's verdict (INCONCLUSIVE, ERROR), and a
card that cannot be opened at all ends its lane with `error` set while the others go on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from .runner import Runner
from .transport import TransportError

Opener = Callable[[], tuple]  # () -> (transport, CardUnderTest)


@dataclass
class Lane:
    """One card of a parallel run: its label, how to open it, and how it ended."""

    label: str
    open: Opener
    result: object = None        # the SuiteResult, once the suite ran
    error: str | None = None     # why the card could not be opened (the lane ran nothing)
    exception: BaseException | None = None  # what opening it raised (its class gives the exit code)


def run_lanes(suite, lanes: list[Lane], *, selection=None, timeout=None, wrap=None,
              on_event: Callable[[Lane, object], None] | None = None, runner_options=None) -> list[Lane]:
    """Run the suite on every lane at once; returns the lanes once all are done. `wrap(transport)`
    may put a processor around each transport (chaos); `on_event(lane, event)` is called from the
    lane's thread (the caller's display must be thread-safe, as rich's Progress is)."""
    threads = [threading.Thread(target=_lane, name=f"card {lane.label}", daemon=True,
                                args=(suite, lane, selection, timeout, wrap, on_event, runner_options or {}))
               for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return lanes


def run_one(suite, lane: Lane, *, selection=None, timeout=None, wrap=None, on_event=None,
            runner_options=None) -> Lane:
    """The same for one card, in this thread."""
    _lane(suite, lane, selection, timeout, wrap, on_event, runner_options or {})
    return lane


def _lane(suite, lane: Lane, selection, timeout, wrap, on_event, runner_options) -> None:
    try:
        transport, card = lane.open()
    except (TransportError, OSError) as exc:
        lane.error, lane.exception = f"{lane.label}: cannot reach the card: {exc}", exc
        return
    except ValueError as exc:  # an image or a session that does not read (ImageError is one), an image in use
        text = str(exc)
        lane.error, lane.exception = (text if text.startswith(lane.label) else f"{lane.label}: {text}"), exc
        return
    if wrap is not None:
        transport = wrap(transport)
    options = dict(runner_options)
    if timeout is not None:
        options["timeout"] = timeout
    with transport:
        runner = Runner(suite, transport, card, selection=selection,
                        image_path=getattr(card, "image_path", None), **options)
        try:
            lane.result = runner.run((lambda event: on_event(lane, event)) if on_event else None)
        finally:
            runner.close()
