"""Fixtures of the TUI tests (helpers live in tuikit.py), and `async def` tests run with asyncio
(App.run_test is a coroutine; no async pytest plugin is needed for that).
"""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import pytest

from conformance.vectors import load_suite
from tuikit import VECTORS


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        asyncio.run(pyfuncitem.obj(**arguments))
        return True
    return None


@pytest.fixture
def reports(tmp_path) -> Path:
    return tmp_path / "reports"


@pytest.fixture
def fixture_suite():
    return load_suite(VECTORS)
