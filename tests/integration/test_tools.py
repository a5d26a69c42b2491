"""Real PC/SC clients see the served card: opensc-tool and pcsc_scan."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from pcsckit import READERS, served
from simulator import Card


def run(cmd, timeout=30):
    exe = shutil.which(cmd[0])
    if exe is None:
        pytest.fail(f"{cmd[0]} is not installed: apt-get install -y opensc pcsc-tools", pytrace=False)
    return subprocess.run([exe, *cmd[1:]], capture_output=True, text=True, timeout=timeout)


def opensc_index(reader: str) -> int:
    out = run(["opensc-tool", "-l"]).stdout
    for line in out.splitlines():
        m = re.match(r"\s*(\d+)\s+.*" + re.escape(reader), line)
        if m:
            return int(m.group(1))
    pytest.fail(f"opensc-tool -l does not list {reader}:\n{out}")


def spaced(hexstr: str) -> str:
    return " ".join(hexstr[i : i + 2] for i in range(0, len(hexstr), 2))


def test_opensc_tool_atr_and_apdus():
    card = Card.builtin("gen2")
    with served(card):
        n = opensc_index(READERS[0])
        atr = run(["opensc-tool", "-r", str(n), "-a"])
        assert atr.returncode == 0, atr.stderr
        assert card.atr.hex(":") in atr.stdout.lower()
        out = run(["opensc-tool", "-r", str(n),
                   "-s", "00A404000F7378312E73682EC9E7BBE1B1A3D5CF",
                   "-s", "00B2012C12"])
        assert out.returncode == 0, out.stderr
        text = out.stdout.upper()
        # opensc fetches the 61xx itself in T=0 and shows the record of spec §4.20
        assert "SW1=0X90, SW2=0X00" in text
        assert spaced("0110440300D1560000055A3C1E02C64D") in text


def test_pcsc_scan_lists_both_readers_and_the_card():
    g2, g3 = Card.builtin("gen2"), Card.builtin("gen3")
    with served(g2, 0), served(g3, 1):
        out = run(["timeout", "-s", "INT", "4", "pcsc_scan", "-c", "-n"], timeout=20).stdout
    for reader in READERS:
        assert reader in out
    assert spaced(g2.atr.hex().upper()) in out
    assert spaced(g3.atr.hex().upper()) in out
    assert "Card inserted" in out
