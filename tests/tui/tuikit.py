"""Helpers of the TUI tests: a deterministic app (fixed clocks, seeded card random, fixed
durations), fixed PC/SC scans, the fixture suite, and helpers to wait for the app's workers.
"""

from __future__ import annotations

import random
import time
from datetime import datetime
from pathlib import Path

from textual.command import CommandList, CommandPalette

from tui.app import SscardApp
from tui.targets import ReaderScan

FIXTURES = Path(__file__).parent / "fixtures"
VECTORS = FIXTURES / "vectors"
SIZE = (160, 48)
NO_PCSC = ReaderScan((), "no PC/SC service")
TWO_READERS = ReaderScan((("Virtual PCD 00 00", True), ("Virtual PCD 00 01", False)), "")


class DeterministicApp(SscardApp):
    """The real app with its clocks and the card's random fixed, so screens are the same every run."""

    def __init__(self, **kwargs):
        seeded = random.Random(20240601)
        kwargs.setdefault("card_random", seeded.randbytes)
        kwargs.setdefault("reader_scan", lambda: NO_PCSC)
        kwargs.setdefault("vectors", VECTORS)
        super().__init__(**kwargs)

    def clock(self) -> float:
        return 100.0

    def now(self) -> datetime:
        return datetime(2026, 1, 2, 3, 4, 5)

    def prepare_result(self, result):
        # Durations are wall-clock measurements: replace them by a fixed value per case.
        for number, case in enumerate(result.cases, start=1):
            case.duration = number / 1000
        return result


class SlowTransport:
    """Wraps a transport and sleeps before each APDU, so a test can stop a run mid-way."""

    def __init__(self, inner, delay: float):
        self.inner, self.delay = inner, delay
        self.name, self.protocol = inner.name, inner.protocol

    @property
    def atr(self):
        return self.inner.atr

    def transmit(self, apdu: bytes) -> bytes:
        time.sleep(self.delay)
        return self.inner.transmit(apdu)

    def reset(self) -> bytes:
        return self.inner.reset()

    def close(self) -> None:
        self.inner.close()


class SlowApp(DeterministicApp):
    def connect(self, target):
        connection = super().connect(target)
        connection.transport = SlowTransport(connection.transport, 0.02)
        return connection


async def wait_for(pilot, condition, timeout: float = 30.0, step: float = 0.05) -> None:
    """Let the app run until `condition()` holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {condition}")
        await pilot.pause(step)
    await pilot.pause()


def screen_name(app) -> str:
    return type(app.screen).__name__


def _highlighted_command(app) -> str | None:
    """The plain text of the command highlighted in an open command palette, else None."""
    if not isinstance(app.screen, CommandPalette):
        return None
    commands = app.screen.query_one(CommandList)
    if commands.highlighted is None or not commands.option_count:
        return None
    option = commands.get_option_at_index(commands.highlighted)
    hit = getattr(option, "hit", None)  # the "no matches" line is a plain option
    return None if hit is None else hit.text


async def run_command(pilot, typed: str, command: str) -> None:
    """Open the command palette, type `typed`, wait until `command` is the highlighted match (the
    palette searches in a worker and fills its list in batches), then choose it."""
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CommandPalette))
    await pilot.press(*typed)
    await wait_for(pilot, lambda: _highlighted_command(pilot.app) == command)
    await pilot.press("enter")
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, CommandPalette))


async def run_to_results(pilot, timeout: float = 60.0) -> None:
    """Press r on the start screen and wait until the results screen is up and filled."""
    await pilot.press("r")
    await wait_for(pilot, lambda: screen_name(pilot.app) == "ResultsScreen"
                   and pilot.app.screen.is_mounted and pilot.app.screen.query("#cases"), timeout)
    await pilot.pause()


