"""Named defects: deliberate deviations an image can ask for, to test the tester (conformance).

Each defect is one realistic way a card goes wrong. The handlers consult `card.defects`; this
table is the list of names an image may use, with what each one does.
"""

from __future__ import annotations

DEFECTS: dict[str, str] = {
    "counter-not-decremented": "a failed PIN or key check does not decrement the try counter",
    "missing-access-check": "reads and writes ignore the access conditions",
    "challenge-reuse": "a challenge can be used more than once",
    "write-not-persisted": "UPDATE RECORD/BINARY answer 9000 but the write is lost at power-off",
}


def check_defects(image, names) -> None:
    for i, name in enumerate(image.get("defects") or ()):
        if name not in DEFECTS:
            raise image.error(("defects", str(i)), f"unknown defect {name!r} (known: {', '.join(sorted(DEFECTS))})")
