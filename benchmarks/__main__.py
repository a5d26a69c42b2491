"""`make bench`: every benchmark that exists, in order; each prints its own figures."""

import importlib
import sys

MODULES = ["card_apdus", "pki_sm2", "pcsc_roundtrip", "suite_run", "vpcd_slot", "from_session"]

failed = False
for name in MODULES:
    try:
        module = importlib.import_module(f"benchmarks.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"benchmarks.{name}":
            continue  # that benchmark has not been written yet
        raise
    print()
    try:
        module.run(print)
    except Exception as exc:  # one broken benchmark must not hide the others
        failed = True
        print(f"{name}: FAILED: {exc!r}")
sys.exit(1 if failed else 0)
