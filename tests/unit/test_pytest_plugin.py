"""The pytest plugin (conformance/pytest_plugin.py, entry point pytest11), run through pytester:
collection per case and card, -k and markers, verdicts as outcomes, reports, inertness."""

from __future__ import annotations

import json
import re
import textwrap

import pytest

from conformance.reports.json_report import load_json_report
from conformance.vectors import load_suite

pytest_plugins = ["pytester"]

SELECT_SSSE = "00A40400 0F 7378312E73682EC9E7BBE1B1A3D5CF"
# Four cases of a tiny suite: one that passes everywhere, one that FAILs on every card (its title
# carries rich markup and an ESC sequence), one for generation 3 only, one whose cleanup misses
# (INCONCLUSIVE).
VECTORS = textwrap.dedent(f"""\
    area: TRY
    title: the plugin's own cases
    defaults:
      ref: ["ssc-card §4.5"]
      label: C
      preconditions: [reset]
    cases:
      - id: SSC.TRY.001
        title: SELECT SSSE answers 9000
        steps:
          - apdu: {SELECT_SSSE}
            expect: {{sw: "9000"}}
      - id: SSC.TRY.002
        title: "SELECT SSSE [bold]refused[/bold] \\x1b[31m with 6A82"
        label: [C, I]
        steps:
          - apdu: {SELECT_SSSE}
            expect: {{sw: "6A82"}}
      - id: SSC.TRY.003
        title: a case for the third generation
        applies: "generation == 3"
        steps:
          - apdu: {SELECT_SSSE}
            expect: {{sw: "9000"}}
      - id: SSC.TRY.004
        title: a cleanup that misses leaves the verdict open
        steps:
          - apdu: {SELECT_SSSE}
            expect: {{sw: "9000"}}
        cleanup:
          - apdu: {SELECT_SSSE}
            expect: {{sw: "6A82"}}
    """)


@pytest.fixture
def vectors(pytester):
    folder = pytester.mkdir("myvectors")
    (folder / "try.yaml").write_text(VECTORS, encoding="utf-8")
    return folder


# In-process runs; textual-snapshot keeps one temp dir per process and removes it at the first
# inner session's end, so the inner sessions go without it.
QUIET = ("-p", "no:cacheprovider", "-p", "no:textual-snapshot")


def run(pytester, vectors, *args):
    return pytester.runpytest(*QUIET, "--sscard-vectors", str(vectors), *args)


def test_inert_without_a_card_option(pytester, vectors):
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest(*QUIET, str(vectors), "test_plain.py")
    result.assert_outcomes(passed=1)
    assert "SSC.TRY" not in result.stdout.str()


def test_one_item_per_case_and_card(pytester, vectors):
    result = run(pytester, vectors, "--sscard-builtin", "gen2", "--sscard-builtin", "gen3", "--collect-only", "-q")
    ids = [line for line in result.stdout.lines if "::SSC.TRY." in line]
    assert ids == [f"myvectors/try.yaml::SSC.TRY.00{n}[{card}]" for n in range(1, 5) for card in ("gen2", "gen3")]


def test_verdicts_become_outcomes(pytester, vectors):
    result = run(pytester, vectors, "--sscard-builtin", "gen2", "-rsx")
    result.assert_outcomes(passed=1, failed=1, skipped=1, xfailed=1)
    out = result.stdout.str()
    # FAIL: the reason, expected and actual side by side, the trace; vector text escaped
    assert "FAIL: step 1: SW 9000, expected 6A82" in out
    assert "expected  sw 6A82" in out and "actual    sw 9000" in out
    assert f">> {SELECT_SSSE.replace(' ', '')}" in out and "reset -> ATR 3B" in out
    assert "\\x1b[31m" in out and "\x1b[31m with" not in out
    assert "myvectors/try.yaml:" in out
    # N/A: skipped with the reason, at the case's line; INCONCLUSIVE: xfailed with the reason
    assert "try.yaml:19: needs generation 3; this card is generation 2" in out
    assert "XFAIL myvectors/try.yaml::SSC.TRY.004[gen2] - cleanup failed" in out


def test_the_same_case_passes_on_the_card_it_applies_to(pytester, vectors):
    result = run(pytester, vectors, "--sscard-builtin", "gen3", "-k", "third")
    result.assert_outcomes(passed=1, deselected=3)


def test_unreachable_reader_makes_every_case_an_error(pytester, vectors):
    result = run(pytester, vectors, "--sscard-reader", "no such reader 4711")
    result.assert_outcomes(errors=4)
    assert "cannot reach the card" in result.stdout.str()


def test_k_matches_ids_titles_and_cards(pytester, vectors):
    both = ("--sscard-builtin", "gen2", "--sscard-builtin", "gen3", "--collect-only", "-q")
    assert "4/8 tests collected" in run(pytester, vectors, *both, "-k", "gen3").stdout.str()
    assert "2/8 tests collected" in run(pytester, vectors, *both, "-k", "cleanup").stdout.str()
    assert "2/8 tests collected" in run(pytester, vectors, *both, "-k", "TRY and 001").stdout.str()


def test_markers_by_area_and_label_are_registered(pytester, vectors):
    card = ("--sscard-builtin", "gen2", "--strict-markers", "--collect-only", "-q")
    assert "4 tests collected" in run(pytester, vectors, *card, "-m", "area_TRY").stdout.str()
    assert "1/4 tests collected" in run(pytester, vectors, *card, "-m", "label_I").stdout.str()
    assert "3/4 tests collected" in run(pytester, vectors, *card, "-m", "sscard and not label_I").stdout.str()
    listed = run(pytester, vectors, "--sscard-builtin", "gen2", "--markers").stdout.str()
    assert "@pytest.mark.area_TRY:" in listed and "@pytest.mark.label_I:" in listed


def test_reports_are_written_with_every_card(pytester, vectors):
    json_path, html_path = pytester.path / "r.json", pytester.path / "r.html"
    result = run(pytester, vectors, "--sscard-builtin", "gen2", "--sscard-builtin", "gen3", "-k", "not 004",
                 "--sscard-json", str(json_path), "--sscard-html", str(html_path))
    result.assert_outcomes(passed=3, failed=2, skipped=1, deselected=2)
    doc = json.loads(json_path.read_text(encoding="utf-8"))
    verdicts = {(c["card"], c["id"]): c["verdict"] for c in doc["cases"]}
    assert verdicts == {("gen2", "SSC.TRY.001"): "PASS", ("gen2", "SSC.TRY.002"): "FAIL",
                        ("gen2", "SSC.TRY.003"): "NOT_APPLICABLE", ("gen3", "SSC.TRY.001"): "PASS",
                        ("gen3", "SSC.TRY.002"): "FAIL", ("gen3", "SSC.TRY.003"): "PASS"}
    assert doc["provenance"]["cards"][0]["selection"] == "-k not 004"
    assert doc["provenance"]["cards"][0]["deselected"] == 1
    failed = next(c for c in doc["cases"] if c["verdict"] == "FAIL")
    assert failed["steps"][-1]["actual"]["sw"] == "9000"
    page = html_path.read_text(encoding="utf-8")
    assert "SSC.TRY.002" in page and "[bold]refused[/bold]" in page and "\x1b" not in page.split("<style>")[0]
    assert "reports: " in result.stdout.str()


def test_one_card_report_reads_back(pytester, vectors):
    path = pytester.path / "one.json"
    run(pytester, vectors, "--sscard-builtin", "gen3", "--sscard-json", str(path))
    report = load_json_report(path)
    assert report.card == "gen3"
    assert [c.case_id for c in report.cases] == ["SSC.TRY.001", "SSC.TRY.002", "SSC.TRY.003", "SSC.TRY.004"]
    assert [c.verdict.value for c in report.cases] == ["PASS", "FAIL", "PASS", "INCONCLUSIVE"]


def test_no_path_collects_exactly_the_project_vectors(pytester):
    """The acceptance command: `pytest --sscard-builtin gen2` collects every case once and passes."""
    pytester.makepyfile(test_elsewhere="def test_not_collected():\n    assert False\n")
    result = pytester.runpytest(*QUIET, "--sscard-builtin", "gen2", "-q")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("skipped", 0) == len(load_suite().cases)
    assert not {"failed", "errors", "error", "xfailed"} & set(outcomes)
    assert result.ret == 0


@pytest.mark.parametrize("args, message", [
    (("--sscard-json", "r.json"), "--sscard-json, --sscard-vectors: no card to run against"),
    (("--sscard-builtin", "gen9"), "'gen9' is not one of gen1, gen2, gen3"),
    (("--sscard-image", "missing.yaml"), "--sscard-image"),
    (("--sscard-reader", "A", "--sscard-reader", "B", "--sscard-image", "x.yaml", "--sscard-image", "y.yaml",
      "--sscard-image", "z.yaml"), None),
])
def test_bad_options_are_usage_errors(pytester, vectors, args, message):
    for name in ("x.yaml", "y.yaml", "z.yaml"):
        (pytester.path / name).write_text("profile: gen2\n", encoding="utf-8")
    result = run(pytester, vectors, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (message or "3 --sscard-image for 2 --sscard-reader") in result.stderr.str()


def test_a_broken_vector_file_is_named_with_its_line(pytester, vectors):
    (vectors / "broken.yaml").write_text("area: BAD\ntitle: x\ncases:\n  - id: SSC.BAD.001\n    title: 5\n",
                                         encoding="utf-8")
    result = run(pytester, vectors, "--sscard-builtin", "gen2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "broken.yaml:" in result.stderr.str()


def test_under_xdist_each_reader_runs_on_its_own_worker(pytester, vectors):
    """Readers nobody serves: every case is an ERROR, but the -v lines show where each ran."""
    report = pytester.path / "r.json"
    result = pytester.runpytest_subprocess(*QUIET, "--sscard-vectors", str(vectors), "-n", "2", "-v",
                                           "--sscard-reader", "no reader A", "--sscard-reader", "no reader B",
                                           "--sscard-json", str(report))
    result.assert_outcomes(errors=8)
    cases = json.loads(report.read_text(encoding="utf-8"))["cases"]  # gathered from both workers
    assert sorted((c["card"], c["id"], c["verdict"]) for c in cases) == sorted(
        (card, f"SSC.TRY.00{n}", "ERROR") for card in ("no reader A", "no reader B") for n in range(1, 5))
    out = result.stdout.str()
    ran = re.findall(r"\[(gw\d)\][^\n]*?::SSC\.TRY\.00\d\[(no_reader_[AB])\]", out)
    assert len(ran) == 8
    assert {label: {gw for gw, seen in ran if seen == label} for label in ("no_reader_A", "no_reader_B")} \
        == {"no_reader_A": {"gw0"}, "no_reader_B": {"gw1"}}


def test_dist_each_is_refused_with_readers(pytester, vectors):
    result = run(pytester, vectors, "-n", "2", "--dist", "each", "--sscard-reader", "no reader A")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--dist each" in result.stderr.str()
