"""Scale: 1,000 emulated cards in one process, each behind its own in-process pyscard reader.

Memory per card is measured as the growth of the process's RSS,
with every card powered, connected and answering. Goal: the whole under 200 MB.
"""

from __future__ import annotations

import gc
import os
import time

from benchmarks.soak import rss_kb

CARDS = int(os.environ.get("SSCARD_SCALE_CARDS", "1000"))
SELECT_SSSE = list(bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF"))


def run(report=print) -> dict:
    from simulator import Card
    from simulator.pcsc_reader import EmulatedReader

    Card.builtin("gen3")  # warm the caches every card shares (profile data, sample image)
    gc.collect()
    before = rss_kb(os.getpid())
    t0 = time.monotonic()
    readers, connections = [], []
    for i in range(CARDS):
        reader = EmulatedReader(Card.builtin(("gen1", "gen2", "gen3")[i % 3]), name=f"sscard virtual reader {i:04d}")
        conn = reader.createConnection()
        conn.connect()
        readers.append(reader)
        connections.append(conn)
    built = time.monotonic() - t0
    answers = sum(conn.transmit(SELECT_SSSE)[1] == 0x61 for conn in connections)
    gc.collect()
    after = rss_kb(os.getpid())
    total_mb = (after - before) / 1024
    report(f"scale: {CARDS} cards in one process (in-process readers), built and connected in {built:.1f} s, "
           f"{answers} answered SELECT")
    report(f"  RSS growth {total_mb:.1f} MB for {CARDS} cards ({(after - before) / CARDS:.0f} KiB per card); goal < 200 MB")
    assert answers == CARDS
    return {"cards": CARDS, "rss_mb": total_mb, "per_card_kb": (after - before) / CARDS}


if __name__ == "__main__":
    run()
