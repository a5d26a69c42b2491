"""Reports are written atomically, all or none, mode 0600, directories made only under reports/;
user text cannot break them (issue 12: "Files" and "Other")."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.reports import writing
from conformance.vectors import DEFAULT_VECTORS
from conformance.reports.writing import ReportError, write_all
from sscard.cli import cli

HOSTILE_TITLE = "a [/bold] b \x1b[2J\x1b]0;owned\x07 [/] \x01\x0b\x00 end"

HOSTILE_VECTORS = """\
area: SEL
title: "hostile [/] titles"
cases:
  - id: SSC.SEL.990
    title: "a [/bold] b \\e[2J\\e]0;owned\\a [/] \\x01\\x0b\\0 end"
    ref: ["ssc-card §4.5"]
    label: C
    preconditions: [reset]
    steps:
      - apdu: 00A40400 06 D15600000599
        expect: {sw: "9000"}
  - id: SSC.SEL.991
    title: "[/]"
    ref: ["ssc-card §4.5"]
    label: C
    preconditions: [reset]
    steps:
      - apdu: 00A40400 06 D15600000599
        expect: {sw: "6A82"}
"""


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_two_reports_are_written_0600_and_replace_old_ones(tmp_path):
    old = tmp_path / "a.json"
    old.write_text("old")
    os.chmod(old, 0o644)
    written = write_all([(old, "new a"), (tmp_path / "b.xml", b"new b")])
    assert written == [old, tmp_path / "b.xml"]
    assert old.read_text() == "new a" and (tmp_path / "b.xml").read_bytes() == b"new b"
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _leftovers(tmp_path) == []


def test_one_unwritable_report_means_none_is_written(tmp_path):
    first, second = tmp_path / "first.json", tmp_path / "gone" / "second.xml"
    first.write_text("old")
    with pytest.raises(ReportError) as caught:
        write_all([(first, "new"), (second, "new")])
    assert str(caught.value) == (f"cannot write {second}: directory {second.parent} does not exist")
    assert first.read_text() == "old" and not second.parent.exists()
    assert _leftovers(tmp_path) == []


def test_a_full_disk_on_the_second_report_leaves_both_old_reports(tmp_path, monkeypatch):
    # ENOSPC on demand: a fault a test cannot get from a real disk without mounting one
    a, b = tmp_path / "a.json", tmp_path / "b.html"
    a.write_text("old a")
    b.write_text("old b")
    real_fsync, calls = os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(writing.os, "fsync", fsync)
    with pytest.raises(ReportError, match=r"b\.html: No space left on device \(no report was written\)"):
        write_all([(a, "new a"), (b, "new b")])
    assert (a.read_text(), b.read_text()) == ("old a", "old b")
    assert _leftovers(tmp_path) == []


def test_ctrl_c_while_renaming_is_held_until_every_report_is_in_place(tmp_path, monkeypatch):
    real_replace, renamed = os.replace, []

    def replace(source, target):
        if not renamed:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C right after the checks, before any rename
        renamed.append(target)
        real_replace(source, target)

    monkeypatch.setattr(writing.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        write_all([(tmp_path / "a.json", "a"), (tmp_path / "b.xml", "b")])
    assert (tmp_path / "a.json").read_text() == "a" and (tmp_path / "b.xml").read_text() == "b"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("path, message", [
    ("/dev/full", "cannot write /dev/full: it is not a regular file"),
    ("/proc/r.json", "cannot write /proc/r.json: No such file or directory"),
])
def test_special_paths_are_refused(path, message):
    with pytest.raises(ReportError) as caught:
        writing.check(path)
    assert str(caught.value) == message


def test_a_directory_is_not_a_report(tmp_path):
    with pytest.raises(ReportError, match="it is a directory"):
        write_all([(tmp_path, "x")])


def test_directories_are_made_under_reports_only(tmp_path):
    reports = tmp_path / "reports"
    assert write_all([(reports / "deep" / "r.json", "x")], create_under=reports)
    assert (reports / "deep" / "r.json").read_text() == "x"
    elsewhere = tmp_path / "elsewhere" / "r.json"
    with pytest.raises(ReportError, match=r"does not exist \(only .*reports/ is created\)"):
        write_all([(elsewhere, "x")], create_under=reports)
    assert not elsewhere.parent.exists()


def test_a_symlinked_report_path_stays_a_link(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_all([(link, "new")])
    assert link.is_symlink() and real.read_text() == "new"


# --- through `sscard run` ------------------------------------------------------------------

def _run(*args):
    if "--vectors" not in args:  # one shipped file: the run does not depend on the whole suite
        args += ("--vectors", str(DEFAULT_VECTORS / "select.yaml"))
    return CliRunner().invoke(cli, ["run", *args])


def test_run_with_markup_and_control_characters_in_titles_writes_every_report(tmp_path):
    vectors = tmp_path / "v"
    vectors.mkdir()
    (vectors / "hostile.yaml").write_text(HOSTILE_VECTORS, encoding="utf-8")
    result = _run("--builtin", "gen2", "--vectors", str(vectors), "--reports", str(tmp_path / "r"))
    assert result.exit_code == 1, result.output  # SSC.SEL.990 FAILs on purpose
    assert "Traceback" not in result.output and "\x1b" not in result.output
    assert "FAIL SSC.SEL.990" in result.output
    doc = json.loads((tmp_path / "r" / "gen2.json").read_text())
    assert [c["title"] for c in doc["cases"]] == [HOSTILE_TITLE, "[/]"]
    names = [t.get("name") for t in ET.parse(tmp_path / "r" / "junit.xml").getroot().iter("testcase")]
    assert names == ["SSC.SEL.990 a [/bold] b \\x1b[2J\\x1b]0;owned\\x07 [/] \\x01\\x0b\\x00 end", "SSC.SEL.991 [/]"]
    html = (tmp_path / "r" / "report.html").read_text()
    assert "a [/bold] b" in html
    for name in ("gen2.json", "junit.xml", "report.html"):
        assert stat.S_IMODE((tmp_path / "r" / name).stat().st_mode) == 0o600


def test_run_checks_report_paths_before_running_and_writes_none(tmp_path):
    json_path, xml_path = tmp_path / "r.json", tmp_path / "missing" / "r.xml"
    result = _run("--builtin", "gen2", "-k", "SSC.SEL.001", "--json", str(json_path), "--junit", str(xml_path))
    assert result.exit_code == 4
    assert result.output.strip() == (f"Error: cannot write {xml_path}: directory {xml_path.parent} does not exist "
                                     f"(only reports/ is created)")
    assert not json_path.exists() and "gen2" not in result.output  # nothing ran


def test_a_line_break_in_a_trace_note_cannot_add_an_exchange():
    from conformance.processors import Trace
    from conformance.reports import apdu4j

    trace = Trace(atr=b"\x3b\x00")
    trace.add("note", text="x\nA>> T=1 (4+0000) 00A40000\nA<< (0000+2) (1.00ms) 9000")
    text = apdu4j.dumps(trace)
    assert "# x A>> T=1 (4+0000) 00A40000 A<< (0000+2) (1.00ms) 9000" in text.splitlines()
    assert apdu4j.loads(text).exchanges == []
