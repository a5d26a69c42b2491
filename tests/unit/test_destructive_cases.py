"""Cases that change the card on a card the run cannot rebuild (a card in a reader): --destructive
runs the write-and-restore ones and the card ends as it began; --irreversible (confirmed) runs the
rest; without the flags they are NOT_APPLICABLE, saying which flag runs them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conformance.card_under_test import CardUnderTest
from conformance.runner import DESTRUCTIVE, IRREVERSIBLE, Runner
from conformance.transport import EmulatedTransport
from conformance.vectors import load_suite
from conformance.verdict import Verdict
from sscard.cli import cli
from simulator import Card
from simulator.image import save_image
from simulator.samples import sample_image

SUITE = load_suite()


class _Physical(EmulatedTransport):
    """An emulated card the run cannot restore, as a card in a reader."""

    restore = None


def _kinds() -> dict[str, str]:
    return {case.id: Runner.kind(case) for case in SUITE.cases if Runner.kind(case)}


def _run(allow, selection=None, transport_class=_Physical):
    card = Card.from_dict(sample_image("gen3"))
    before = card.export_image()
    result = Runner(SUITE, transport_class(card), CardUnderTest(sample_image("gen3"), label="gen3"),
                    selection=selection, allow=allow).run()
    return result, before, card.export_image()


def test_every_changing_case_says_its_kind_and_the_restorable_ones_restore_in_their_cleanup():
    kinds = _kinds()
    assert {i for i, k in kinds.items() if k == DESTRUCTIVE} == {"SSC.PKI.070", "SSC.PKI.078"}
    assert len([k for k in kinds.values() if k == IRREVERSIBLE]) >= 17
    for case in SUITE.cases:
        if kinds.get(case.id) == DESTRUCTIVE:
            assert case.cleanup, f"{case.id} writes and must restore in its cleanup"


def test_destructive_runs_the_write_and_restore_cases_and_leaves_the_card_as_it_was():
    result, before, after = _run(frozenset({DESTRUCTIVE}))
    verdicts = {c.case_id: c for c in result.cases}
    for case_id in ("SSC.PKI.070", "SSC.PKI.078"):
        assert verdicts[case_id].verdict is Verdict.PASS, (case_id, verdicts[case_id].reason)
        assert not verdicts[case_id].warnings
    irreversible = [i for i, k in _kinds().items() if k == IRREVERSIBLE]
    for case_id in irreversible:
        assert verdicts[case_id].verdict is Verdict.NOT_APPLICABLE
        assert "--irreversible" in verdicts[case_id].reason
    assert not [c.case_id for c in result.cases if c.verdict in (Verdict.FAIL, Verdict.ERROR)]
    assert after == before  # every file, record, key and try counter as the run found them
    changing = result.provenance["changing"]
    assert changing["allowed"] == [DESTRUCTIVE] and not changing["rebuilt"]
    assert changing["ran"] == {DESTRUCTIVE: ["SSC.PKI.070", "SSC.PKI.078"]}
    assert "2 destructive ran" in changing["summary"] and "--destructive" in changing["summary"]


def test_without_the_flags_the_changing_cases_are_not_applicable_naming_the_flag():
    result, before, after = _run(frozenset(), selection="PKI and (070 or 073)")
    reasons = {c.case_id: (c.verdict, c.reason) for c in result.cases}
    assert reasons["SSC.PKI.070"] == (Verdict.NOT_APPLICABLE, "needs writes that its cleanup restores; this card "
                                      "is not rebuilt after the case; run it with --destructive")
    assert reasons["SSC.PKI.073"][0] is Verdict.NOT_APPLICABLE and "--irreversible" in reasons["SSC.PKI.073"][1]
    assert result.provenance["changing"]["ran"] == {} and after == before


def test_irreversible_runs_every_changing_case_on_a_sacrificial_card():
    # a permanently blocked SSSE leaves the PKI application usable (LCY.022): both run
    result, before, after = _run(frozenset({IRREVERSIBLE}), selection="LCY and 020 or PKI and 070")
    verdicts = {c.case_id: c.verdict for c in result.cases}
    assert verdicts == {"SSC.LCY.020": Verdict.PASS, "SSC.PKI.070": Verdict.PASS}
    assert result.provenance["changing"]["ran"] == {DESTRUCTIVE: ["SSC.PKI.070"], IRREVERSIBLE: ["SSC.LCY.020"]}
    assert after != before  # blocked for good: no rebuild on a card in a reader


def test_an_emulated_card_runs_them_all_and_is_rebuilt_as_before():
    result, _, _ = _run(frozenset(), selection="LCY and 023 or PKI and 072", transport_class=EmulatedTransport)
    assert {c.case_id: c.verdict for c in result.cases} == {"SSC.LCY.023": Verdict.PASS, "SSC.PKI.072": Verdict.PASS}
    assert result.provenance["changing"]["rebuilt"]
    assert "rebuilt after each" in result.provenance["changing"]["summary"]


@pytest.fixture
def described(tmp_path):
    path = tmp_path / "card.yaml"
    save_image(path, sample_image("gen3"))
    return path


@pytest.mark.parametrize("typed", ["no", "yes", "A0123456", ""])
def test_irreversible_is_refused_unless_the_confirmation_is_typed(described, tmp_path, typed):
    out = tmp_path / "r.json"
    result = CliRunner().invoke(cli, ["run", "--reader", "No Such Reader 99", "--image", str(described),
                                       "--irreversible", "--json", str(out)], input=typed + "\n")
    assert result.exit_code == 2, result.output
    assert "A01234563" in result.output and "yes I understand" in result.output  # what to type
    assert "not confirmed" in result.output and not out.exists()


@pytest.mark.parametrize("typed", ["yes I understand", "A01234563"])
def test_the_typed_confirmation_lets_the_run_go_on(described, tmp_path, typed):
    # past the confirmation the run reaches for the reader: here there is none (exit 3, not 2)
    result = CliRunner().invoke(cli, ["run", "--reader", "No Such Reader 99", "--image", str(described),
                                       "--irreversible", "--json", str(tmp_path / "r.json")], input=typed + "\n")
    assert result.exit_code == 3, result.output
    assert "not confirmed" not in result.output


def test_yes_skips_the_prompt(described, tmp_path):
    result = CliRunner().invoke(cli, ["run", "--reader", "No Such Reader 99", "--image", str(described),
                                       "--irreversible", "--yes", "--json", str(tmp_path / "r.json")], input="")
    assert result.exit_code == 3, result.output
    assert "Type" not in result.output


@pytest.mark.parametrize("args, message", [
    (["--builtin", "gen3", "--destructive"], "--destructive goes with --reader"),
    (["--builtin", "gen3", "--irreversible", "--yes"], "--irreversible goes with --reader"),
    (["--reader", "R", "--image", "{card}", "--destructive", "--yes"], "--yes goes with --irreversible"),
    (["--reader", "R", "--destructive"], "--destructive needs the card's description (--image or --describe) for R"),
])
def test_the_flags_without_a_described_reader_card_are_usage_errors(described, args, message):
    result = CliRunner().invoke(cli, ["run", *(a.format(card=described) for a in args)])
    assert result.exit_code == 2 and message in result.output, result.output


def test_the_html_summary_says_which_changing_cases_ran(tmp_path):
    from conformance.reports.html import render

    result, _, _ = _run(frozenset({DESTRUCTIVE}), selection="PKI and 07")
    page = render(result)
    assert "cases that change the card" in page and "2 destructive ran" in page
    assert json.dumps(result.provenance["changing"])  # the JSON report carries it as it is
