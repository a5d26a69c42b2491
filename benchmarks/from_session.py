"""`vectors from-session` on large recordings: reading stays linear in the input's size.

Each input is read at two sizes; the ratio of the times is about the ratio of the sizes (about 4x
for 4x the input) when the readers are linear, and about 16x when they are quadratic (the apdutool
reader once took 93 s on 240 KB of blanks and `/*`).
"""

from __future__ import annotations

import time

from conformance import sessions
from conformance.from_session import to_yaml

SIZES = (256 * 1024, 1024 * 1024)


def _script(size: int) -> str:
    """An apdutool script: two commands around blank lines and comments."""
    filler = "   \n\t /* a note */ // and another\n"
    return "powerup;\n0x00 0xA4 0x04 0x00 0x02 0x3F 0x00 0x7F;\n" + filler * (size // len(filler)) + \
        "0x00 0x84 0x00 0x00 0x00 0x08;\n"


def _output(size: int) -> str:
    """apdutool output: blank lines, then one exchange."""
    return " \n" * (size // 2) + "CLA: 00, INS: 84, P1: 00, P2: 00, Lc: 00, Le: 08, 01, 02, 03, 04, 05, 06, 07, 08, " \
                                 "SW1: 90, SW2: 00\n"


def _apdu4j(size: int) -> str:
    """An apdu4j log of GET CHALLENGE exchanges."""
    pair = "A>> T=0 (4+0000) 00840000 08\nA<< (0008+2) (0.10ms) 0102030405060708 9000\n"
    return "# ATR: 3B6D00000081005353430244035A3C1E02\n" + pair * (size // len(pair))


def _time(text: str) -> float:
    start = time.perf_counter()
    to_yaml(sessions.loads(text, "bench"))
    return time.perf_counter() - start


def run(report=print) -> dict:
    figures = {}
    report("vectors from-session (read + vector text), seconds at 256 KiB and 1 MiB of input:")
    inputs = (("apdutool script, blanks and comments", _script), ("apdutool output after blank lines", _output),
              ("apdu4j log", _apdu4j))
    for name, make in inputs:
        small, large = (_time(make(size)) for size in SIZES)
        figures[name] = (small, large)
        report(f"  {name:38s} {small:7.3f} s  {large:7.3f} s  (x{large / max(small, 1e-9):.1f} for x4 the input)")
    return figures


if __name__ == "__main__":
    run()
