"""Integration tests run against the real pcscd with the vpcd driver (make test starts it).

They fail, never skip, when pcscd or vpcd is missing: in CI both are always there, and a
silently skipped transport test is how a broken reader ships.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pcsckit import pcscd_problem


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.integration)
            # one pcscd and two fixed vpcd ports: under pytest-xdist they all run in one worker
            item.add_marker(pytest.mark.xdist_group("pcscd"))


@pytest.fixture(autouse=True)
def _require_pcscd():
    problem = pcscd_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
