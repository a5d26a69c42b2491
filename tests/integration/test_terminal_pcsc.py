"""The LD/T 33 terminal through the real pcscd: `sscard serve --psam` puts a card in "Virtual PCD
00 00" and the emulated PSAM in "Virtual PCD 00 01"; `sscard terminal …` (another process) talks
to both through pyscard. Expected strings come from docs/spec/ssc-terminal.md §5."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

from pcsckit import READERS, ROOT, sscard, wait_card, wait_slot_empty
from simulator import Card
from simulator.image import save_image
from simulator.psam import Psam
from terminal import Terminal

SPEC = (ROOT / "docs" / "spec" / "ssc-terminal.md").read_text(encoding="utf-8")
SECTION5 = SPEC[SPEC.index("\n## 5. "):SPEC.index("\n## 6. ")]
CARD, PSAM = READERS
GEN3_ATR = "3B6D00000081005353430344035A3C1E03"
PSAM_ATR = "3B6C00000081005353435053414D0001"  # ssc-terminal.md §2.1, PD-T01
ADDR = "SSSEEF05|05|06|$SSSEEF06|08|09|$"
BOTH_READERS = ("--reader", CARD, "--psam-reader", PSAM)


def sample(gen: str, psam: str) -> str:
    row = re.search(rf"^\| {gen} \| {psam}[^|]*\| `(.*)` \| 0 \|$", SECTION5, re.M)
    assert row, f"no §5 row for {gen} / {psam}"
    return row.group(1).replace("\\|", "|")


@contextmanager
def serving(*args: str):
    """`sscard serve ARGS --psam` until the block ends; the card and the PSAM must show up in pcscd."""
    for reader in READERS:
        wait_slot_empty(reader)
    server = sscard("serve", *args, "--psam")
    try:
        assert wait_card(CARD).hex().upper() == GEN3_ATR
        assert wait_card(PSAM).hex().upper() == PSAM_ATR
        yield server
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=15)
    assert server.returncode == 0, out


def terminal(*args: str) -> subprocess.CompletedProcess:
    """`sscard terminal ARGS` as its own process: stdout (the result) and stderr (trace, errors) apart."""
    return subprocess.run([sys.executable, "-m", "sscard", "terminal", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_read_basic_through_pcscd_gives_the_gen3_with_psam_string():
    with serving("--builtin", "gen3"):
        named = terminal("read-basic", *BOTH_READERS)
        assert named.returncode == 0, named.stderr
        assert named.stdout == sample("gen3", "yes") + "\n"
        found = terminal("read-basic", "--reader", CARD)  # the PSAM found by its ATR
        assert found.returncode == 0, found.stderr
        assert found.stdout == named.stdout
        without = terminal("read-basic", "--reader", CARD, "--no-psam")
        assert without.returncode == 0, without.stderr
        assert without.stdout == sample("gen3", "no") + "\n"
        refused = terminal("read-basic", "--reader", CARD, "--no-psam", "--require-psam")
        assert refused.returncode != 0 and refused.stdout == ""
        assert "-2201" in refused.stderr


def test_write_then_read_round_trip_through_pcscd_with_key_04_from_the_psam(tmp_path):
    image = tmp_path / "gen3.yaml"  # a copy: the built-in sample itself stays as it is
    save_image(image, Card.builtin("gen3").export_image())
    new = "SSSEEF05|20240601|20390601|$SSSEEF06|440305198503151238|李四|$"
    with serving("--image", str(image)):
        before = terminal("read", *BOTH_READERS, "--auth", "2", "--file-addr", ADDR)
        assert before.returncode == 0, before.stderr
        assert before.stdout == "SSSEEF05|20240601|20340601|$SSSEEF06|440305198503151238|张三|$\n"
        written = terminal("write", *BOTH_READERS, "--trace", "--file-addr", ADDR, "--write-data", new)
        assert written.returncode == 0, written.stderr
        trace = written.stderr.splitlines()
        uk = next(i for i, line in enumerate(trace) if line.startswith("card > 00820004"))  # EXTERNAL AUTH key 04
        assert trace[uk].endswith("< 9000")
        assert any(line.startswith("psam > BFDE4812") for line in trace[:uk])  # PSAM index 12, §2.2
        assert any(line.startswith("card > 00DC") and line.endswith("< 9000") for line in trace[uk:])
        after = terminal("read", *BOTH_READERS, "--auth", "2", "--file-addr", ADDR)
        assert after.returncode == 0, after.stderr
        assert after.stdout == new + "\n"
    saved = Card.from_image(image)  # serve wrote the change back to the image on SIGTERM
    assert Terminal(saved, psam=Psam.builtin()).read_card(1, 2, _card_info(saved), ADDR) == new
    fresh = Card.builtin("gen3")
    assert Terminal(fresh, psam=Psam.builtin()).read_card(1, 2, _card_info(fresh), ADDR).endswith("|张三|$")


def _card_info(card: Card) -> str:
    basic = Terminal(card, psam=Psam.builtin()).read_card_bas()
    return f"{basic.card_id}|{basic.card_no}|"


def test_the_tui_terminal_screen_reads_through_two_pcsc_readers():
    """The TUI's terminal screen with the card and the PSAM chosen among the readers pcscd lists."""
    from textual.widgets import OptionList

    from tui.app import SscardApp

    async def until(pilot, condition, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {condition}"
            await pilot.pause(0.05)

    async def scenario():
        app = SscardApp(poll_interval=0.2)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("t")
            await until(pilot, lambda: type(app.screen).__name__ == "TerminalScreen" and app.screen.is_mounted)
            screen = app.screen
            await until(pilot, lambda: {CARD, PSAM} <= {name for name, _ in screen.scan.readers})
            for list_id, reader in (("#term-cards", CARD), ("#term-psams", PSAM)):
                options = screen.query_one(list_id, OptionList)
                options.highlighted = options.get_option_index(f"pcsc:{reader}")
            await until(pilot, lambda: screen.card.name == CARD and screen.psam.name == PSAM)
            outcomes = []
            for run in (1, 2):  # the readers are closed after a call and opened again for the next
                await pilot.press("r")
                await until(pilot, lambda: screen.runs == run)
                outcomes.append(screen.outcome)
            return outcomes

    with serving("--builtin", "gen3"):
        outcome, again = asyncio.run(scenario())
    assert again.code == 0 and again.text == outcome.text
    assert outcome.code == 0, outcome.text
    assert outcome.text == sample("gen3", "yes")
    assert {e.slot for e in outcome.trace} == {"card", "psam"}
    assert any(e.slot == "card" and e.command and e.command.startswith(bytes.fromhex("0082000A"))
               and e.response == b"\x90\x00" for e in outcome.trace)
