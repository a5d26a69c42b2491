"""Session-wide pieces of the test run.

The conformance mutation score (tests/unit/test_mutation_score.py) is printed in the terminal
summary. Under pytest-xdist the defect tests run in worker processes: each worker hands what it
found to the controller through xdist's `workeroutput`, and the controller prints the whole score.
"""

from __future__ import annotations

import json

from simulator.defects import DEFECTS


class MutationScore:
    def __init__(self, config):
        self.config = config
        self.caught: dict[str, list[str]] = {}

    def pytest_sessionfinish(self, session):
        if hasattr(self.config, "workeroutput") and self.caught:  # an xdist worker
            self.config.workeroutput["sscard_mutation_score"] = json.dumps(self.caught)

    def pytest_testnodedown(self, node, error):  # the xdist controller, once per worker
        self.caught.update(json.loads(getattr(node, "workeroutput", {}).get("sscard_mutation_score", "{}")))

    def pytest_terminal_summary(self, terminalreporter):
        if not self.caught or hasattr(self.config, "workeroutput"):
            return
        done = len(self.caught)
        hits = sum(1 for cases in self.caught.values() if cases)
        terminalreporter.section("conformance mutation score")
        for name in sorted(self.caught):
            cases = self.caught[name]
            shown = ", ".join(cases[:4]) + (f" (+{len(cases) - 4})" if len(cases) > 4 else "")
            terminalreporter.write_line(f"  {name:32} {shown or 'NOT CAUGHT'}")
        partial = "" if done == len(DEFECTS) else f" ({done} of {len(DEFECTS)} defects run)"
        terminalreporter.write_line(
            f"mutation score: {hits}/{done} defects caught ({100 * hits / done:.0f}%){partial}", bold=True)


def pytest_configure(config):
    config.pluginmanager.register(MutationScore(config), "sscard-mutation-score")
