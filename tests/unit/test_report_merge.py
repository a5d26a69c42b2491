"""`sscard report merge` and `sscard report diff` on real JSON reports written by `sscard run`:
a card run clean, the same card run again with a seeded defect (simulator/defects.py), and the
built-in gen3 card."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
import yaml
from click.testing import CliRunner

from conformance.reports.json_report import load_json_reports
from simulator.samples import sample_image
from sscard.cli import cli

# Two cases the defect `wrong-sw-record-not-found` turns into FAILs, one it leaves alone.
SELECTION = "REC.045 or REC.046 or REC.001"


def sscard(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reports")
    card = folder / "card.yaml"
    image = dict(sample_image("gen2"))
    card.write_text(yaml.safe_dump(image, allow_unicode=True), encoding="utf-8")
    assert sscard("run", "--image", card, "-k", SELECTION, "--json", folder / "old.json").exit_code == 0
    card.write_text(yaml.safe_dump({**image, "defects": ["wrong-sw-record-not-found"]}, allow_unicode=True),
                    encoding="utf-8")
    assert sscard("run", "--image", card, "-k", SELECTION, "--json", folder / "new.json").exit_code == 1
    assert sscard("run", "--builtin", "gen3", "-k", SELECTION, "--json", folder / "gen3.json").exit_code == 0
    return folder


class Tables(HTMLParser):
    """The rows of every table of a page (cell texts), under the <h2> they follow."""

    def __init__(self, page: str):
        super().__init__()
        self.sections: dict[str, list[list[str]]] = {}
        self._heading, self._in_h2, self._row, self._cell = "", False, None, None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "h2":
            self._in_h2, self._heading = True, ""
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.sections.setdefault(self._heading, []).append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in_h2:
            self._heading += data
        elif self._cell is not None:
            self._cell += data


def test_diff_lists_the_cases_that_changed_verdict(reports):
    result = sscard("report", "diff", reports / "old.json", reports / "new.json")
    assert result.exit_code == 1, result.output
    assert "2 case(s) changed verdict" in result.output
    lines = [line for line in result.output.splitlines() if "SSC.REC." in line]
    assert [line.split("│")[1].strip() for line in lines] == ["SSC.REC.045", "SSC.REC.046"]
    assert all("PASS" in line and "FAIL" in line for line in lines)
    assert "6A83" in result.output  # the new run's reason


def test_diff_of_two_equal_runs_exits_0(reports):
    result = sscard("report", "diff", reports / "old.json", reports / "old.json")
    assert result.exit_code == 0
    assert "no case changed verdict (3 cases)" in result.output


def test_diff_refuses_reports_of_different_cards_unless_forced(reports):
    result = sscard("report", "diff", reports / "old.json", reports / "gen3.json")
    assert result.exit_code == 2
    assert "different cards" in result.output and "card (ATR" in result.output and "gen3 (ATR" in result.output
    forced = sscard("report", "diff", reports / "old.json", reports / "gen3.json", "--force")
    assert forced.exit_code in (0, 1) and "card → gen3" in forced.output


def test_diff_counts_cases_in_one_report_only_without_failing(reports, tmp_path):
    doc = json.loads((reports / "old.json").read_text(encoding="utf-8"))
    doc["cases"] = doc["cases"][:2]
    (tmp_path / "fewer.json").write_text(json.dumps(doc), encoding="utf-8")
    result = sscard("report", "diff", tmp_path / "fewer.json", reports / "old.json")
    assert result.exit_code == 0
    assert "1 case(s) in one report only" in result.output


def test_merge_gives_one_batch_view(reports, tmp_path):
    page, merged = tmp_path / "batch.html", tmp_path / "merged.json"
    result = sscard("report", "merge", reports / "old.json", reports / "new.json", reports / "gen3.json",
                    "--html", page, "--json", merged)
    assert result.exit_code == 1  # the defective card FAILs
    tables = Tables(page.read_text(encoding="utf-8")).sections
    cards = [row[0] for row in tables["Cards"][1:]]
    assert cards == ["card (old.json)", "card (new.json)", "gen3"]
    assert tables["Cards"][2][2] == "FAIL"
    areas = tables["Cards × areas"]
    assert areas[0] == ["card", "REC"] and [row[0] for row in areas[1:]] == cards
    attention = tables["Cases not PASS or N/A"]
    assert [(row[0], row[1], row[2]) for row in attention[1:]] == [
        ("card (new.json)", "FAIL", "SSC.REC.045"), ("card (new.json)", "FAIL", "SSC.REC.046")]
    every = tables["Every case"]
    assert len(every) == 1 + 3 and every[0][1:] == cards
    runs = load_json_reports(merged)
    assert [run.card for run in runs] == cards
    assert [run.counts()["FAIL"] for run in runs] == [0, 2, 0]


def test_merge_of_passing_reports_exits_0_and_counts_per_area(reports, tmp_path):
    page = tmp_path / "batch.html"
    assert sscard("report", "merge", reports / "old.json", reports / "gen3.json", "--html", page).exit_code == 0
    tables = Tables(page.read_text(encoding="utf-8")).sections
    old = load_json_reports(reports / "old.json")[0]
    passed = sum(1 for case in old.cases if case.verdict.value == "PASS")
    assert tables["Cards × areas"][1][1] == str(passed)  # one pill: every REC case of the card passed
    assert "Cases not PASS or N/A" not in tables
    assert "none: every case of every card is PASS or N/A" in page.read_text(encoding="utf-8")


def test_merge_refuses_a_file_that_is_not_a_report(reports, tmp_path):
    bogus = tmp_path / "notes.json"
    bogus.write_text('{"hello": 1}', encoding="utf-8")
    page = tmp_path / "batch.html"
    result = sscard("report", "merge", reports / "old.json", bogus, "--html", page)
    assert result.exit_code == 2 and "notes.json" in result.output and "not an sscard JSON report" in result.output
    assert not page.exists()


def test_unwritable_output_writes_nothing(reports, tmp_path):
    result = sscard("report", "merge", reports / "old.json", "--json", tmp_path / "m.json", "--html", "/dev/full")
    assert result.exit_code == 4 and "/dev/full" in result.output
    assert not (tmp_path / "m.json").exists()


def test_vector_text_is_escaped_in_the_page_and_the_terminal(reports, tmp_path):
    doc = json.loads((reports / "new.json").read_text(encoding="utf-8"))
    failed = next(c for c in doc["cases"] if c["verdict"] == "FAIL")
    failed["title"] = "<script>alert(1)</script> [red]not red[/red] \x1b[2J"
    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps(doc), encoding="utf-8")
    page = tmp_path / "batch.html"
    sscard("report", "merge", hostile, "--html", page)
    text = page.read_text(encoding="utf-8")
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    result = sscard("report", "diff", reports / "old.json", hostile)
    assert "[red]not red[/red]" in result.output and "\x1b" not in result.output
