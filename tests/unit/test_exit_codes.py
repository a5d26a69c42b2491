"""The documented exit codes (sscard/exitcodes.py): what each error maps to, that the README and
`sscard --help` list them, a verdict's 0 and 1, and Ctrl-C's 130 with no report (issue 12)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from conformance.reports.writing import ReportError
from conformance.selection import SelectionError
from conformance.transport import TransportError
from conformance.vectors import DEFAULT_VECTORS, Problem, VectorError
from simulator.image import ImageError
from simulator.samples import sample_image
from sscard import cli as cli_module
from sscard import exitcodes
from sscard.cli import cli

ROOT = Path(__file__).resolve().parents[2]
SSCARD = Path(sys.executable).with_name("sscard")
SELECT = str(DEFAULT_VECTORS / "select.yaml")

RAISED: list[BaseException] = []


@click.command("boom")
def boom():
    raise RAISED[0]


@pytest.fixture
def raising(monkeypatch):
    """`sscard boom` raises what the test puts in RAISED, through the real sscard group."""
    monkeypatch.setitem(cli_module.COMMANDS, "boom", f"{__name__}:boom")
    monkeypatch.setitem(sys.modules, __name__, sys.modules[__name__])
    yield RAISED
    RAISED.clear()


@pytest.mark.parametrize("error, code, line", [
    (ImageError("card.yaml", 7, "pins: tries must be 1-15"), 2, "Error: card.yaml:7: pins: tries must be 1-15"),
    (VectorError([Problem("v.yaml", 3, "bad id")]), 2, "v.yaml:3: bad id"),
    (SelectionError("-k 'x and': ends too early"), 2, "Error: -k 'x and': ends too early"),
    (click.ClickException("a.json: not a session"), 2, "Error: a.json: not a session"),
    (TransportError("no reader matching 'X'"), 3, "Error: no reader matching 'X'"),
    (ReportError("cannot write /dev/full: it is not a regular file"), 4, "Error: cannot write /dev/full"),
    (KeyboardInterrupt(), 130, "sscard: interrupted"),
    (click.Abort(), 130, "sscard: interrupted"),
    (RuntimeError("a bug"), 5, "sscard: internal error (RuntimeError); this is a bug in sscard"),
])
def test_each_error_has_its_code(raising, error, code, line):
    raising.append(error)
    result = CliRunner().invoke(cli, ["boom"])
    assert result.exit_code == code and line in result.output
    assert ("Traceback" in result.output) == (code == exitcodes.INTERNAL)  # only a bug shows one


def test_control_characters_in_an_error_are_shown_escaped(raising):
    raising.append(ImageError("card.yaml", 1, "name \x1b]0;owned\x07 is bad"))
    result = CliRunner().invoke(cli, ["boom"])
    assert result.exit_code == 2 and "name \\x1b]0;owned\\x07 is bad" in result.output
    assert "\x1b" not in result.output


def test_help_and_readme_list_every_code():
    shown = CliRunner().invoke(cli, ["--help"]).output
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code, meaning in exitcodes.MEANINGS.items():
        assert f"{code:<4} {meaning}" in shown
        assert f"| {code} |" in readme, code
    assert set(exitcodes.MEANINGS) == {0, 1, 2, 3, 4, 5, 130}


def test_a_passing_run_exits_0_and_a_failing_one_1(tmp_path):
    passing = CliRunner().invoke(cli, ["run", "--builtin", "gen2", "-k", "SSC.SEL.001", "--vectors", SELECT,
                                       "--json", str(tmp_path / "ok.json")])
    assert passing.exit_code == 0, passing.output
    image = tmp_path / "card.yaml"
    image.write_text(yaml.safe_dump({**sample_image("gen2"), "defects": ["fci-without-dir"]}, allow_unicode=True))
    failing = CliRunner().invoke(cli, ["run", "--image", str(image), "-k", "SSC.SEL.001", "--vectors", SELECT,
                                       "--json", str(tmp_path / "fail.json")])
    assert failing.exit_code == 1 and "FAIL SSC.SEL.001" in failing.output


def test_ctrl_c_during_a_run_exits_130_and_writes_no_report(tmp_path):
    # A slowed run (every exchange delayed 50 ms) with a live progress bar, so the test can see it run.
    env = {**os.environ, "FORCE_COLOR": "1", "COLUMNS": "120"}
    command = [str(SSCARD), "run", "--builtin", "gen2", "--vectors", SELECT,
               "--chaos", "seed=1,delay=1,delay_s=0.05:0.05"]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = b""
    deadline = time.monotonic() + 60
    while b"SSC.SEL." not in seen:  # the progress bar names the running case
        assert process.poll() is None and time.monotonic() < deadline, seen[-500:]
        seen += os.read(process.stdout.fileno(), 4096)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert b"sscard: interrupted" in err and b"Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # no reports/ directory, no report, no temp file


def test_a_closed_output_is_not_a_fail_verdict(tmp_path):
    # `sscard card show | head -1`: rich would end it with SystemExit(1), the code of a FAIL.
    image = tmp_path / "card.yaml"
    assert CliRunner().invoke(cli, ["card", "new", "--profile", "gen2", "--out", str(image)]).exit_code == 0
    read_end, write_end = os.pipe()
    process = subprocess.Popen([str(SSCARD), "card", "show", str(image)], stdout=write_end, stderr=subprocess.PIPE)
    os.close(write_end)
    os.close(read_end)  # nobody reads: the first line printed meets a closed pipe
    err = process.communicate(timeout=60)[1]
    assert process.returncode == exitcodes.INTERRUPTED and b"Traceback" not in err


def test_every_rich_console_of_the_cli_is_the_one_that_keeps_the_codes():
    # rich's own Console ends a closed output with SystemExit(1): the FAIL code
    found = [str(path.relative_to(ROOT)) for package in ("sscard", "conformance", "terminal")
             for path in (ROOT / package).rglob("*.py")
             if "rich.console import Console" in path.read_text(encoding="utf-8")]
    assert found == ["conformance/textsafe.py"]
