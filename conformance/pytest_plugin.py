"""pytest-native conformance runs: every vector case is a pytest item, one per case and card.

    pytest --sscard-builtin gen2                       every case against the built-in gen2 card
    pytest --sscard-builtin gen1 --sscard-builtin gen3 -k "PIN and not 004" -m area_PIN
    pytest --sscard-image card.yaml --sscard-json r.json --sscard-html r.html
    pytest --sscard-reader "Virtual PCD 00 00" --sscard-reader "Virtual PCD 00 01" -n 2

Registered through the `pytest11` entry point, and inert until a card option (--sscard-builtin,
--sscard-image, --sscard-reader) is given: the project's own test run never sees a vector. With a
card option and no path on the command line, the vectors (--sscard-vectors, default the project's
vectors/) are all that is collected, so the command works from any directory.

Items are named `<case id>[<card>]` (-k also matches the case's title) and carry the markers
`sscard`, `area_<AREA>` and `label_<LABEL>` (`label_PD_14` for PD-14). Verdicts map to outcomes:
PASS passed; FAIL failed, with expected and actual bytes and the case's trace; ERROR an error;
NOT_APPLICABLE skipped with its reason; INCONCLUSIVE xfailed with its reason (never strict).

A case runs through the runner's per-case API (Runner.case_events): the same applicability,
preconditions, timeouts and card rebuild after a case that may change the card as `sscard run`.
Under pytest-xdist every reader's cases run on one worker, reader N on worker gwN (see
ReaderScheduling), so two workers never talk to one reader; emulated cards are built per worker.
"""

from __future__ import annotations

import pytest

# Imported by every pytest run through the entry point: nothing of the suite is loaded until a
# card option asks for it (pytest_cards.py, pytest_items.py).
CARD_OPTIONS = ("sscard_builtin", "sscard_image", "sscard_reader")


def pytest_addoption(parser):
    group = parser.getgroup("sscard", "sscard conformance vectors as tests (inert without a card option)")
    group.addoption("--sscard-builtin", action="append", default=[], metavar="gen1|gen2|gen3",
                    help="Run the vectors against a built-in emulated card (repeatable: one item per case per card).")
    group.addoption("--sscard-image", action="append", default=[], metavar="FILE",
                    help="An emulated card from a card image; with --sscard-reader, the description of the "
                         "reader's card (one shared by every reader, or one per reader in order).")
    group.addoption("--sscard-reader", action="append", default=[], metavar="NAME",
                    help="A card in a PC/SC reader (repeatable; under -n, one worker per reader).")
    group.addoption("--sscard-vectors", action="append", default=[], metavar="PATH",
                    help="Vector directory or file (repeatable; default: the project's vectors/).")
    group.addoption("--sscard-timeout", type=float, default=None, metavar="SECONDS",
                    help="Seconds per case (default: sscard run's, 30).")
    group.addoption("--sscard-json", metavar="FILE", help="Also write the JSON report of every card run.")
    group.addoption("--sscard-html", metavar="FILE", help="Also write the HTML report of every card run.")


def active(config) -> bool:
    return any(config.getoption(name) for name in CARD_OPTIONS)


def pytest_configure(config):
    if not active(config):
        extra = [f"--{n.replace('_', '-')}" for n in ("sscard_json", "sscard_html") if config.getoption(n)]
        extra += ["--sscard-vectors"] if config.getoption("sscard_vectors") else []
        if extra:
            raise pytest.UsageError(f"{', '.join(extra)}: no card to run against; "
                                    "give --sscard-builtin, --sscard-image or --sscard-reader")
        return
    from .pytest_cards import Conformance

    config.pluginmanager.register(Conformance(config), "sscard-conformance")
