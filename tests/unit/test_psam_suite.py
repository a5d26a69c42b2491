"""The conformance suite against a PSAM target (vectors/psam.yaml, PsamUnderTest, sscard run --psam)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conformance.card_under_test import CardUnderTest, PsamUnderTest
from conformance.cli_run import _PsamTransport
from conformance.runner import Runner
from conformance.transport import EmulatedTransport
from conformance.vectors import DEFAULT_VECTORS, load_suite
from conformance.verdict import Verdict
from simulator import Card
from simulator.psam import Psam
from sscard.cli import cli

PSAM_VECTORS = DEFAULT_VECTORS / "psam.yaml"


@pytest.fixture(scope="module")
def suite():
    return load_suite(None)


def run_psam(suite, psam: Psam, description: PsamUnderTest | None = None):
    target = description or PsamUnderTest(psam.export_image(), label="psam")
    return Runner(suite, _PsamTransport(psam, "emulated:psam"), target).run()


def by_id(result) -> dict:
    return {c.case_id: c for c in result.cases}


def psam_ids(suite) -> set[str]:
    return {c.id for c in suite.cases if c.id.startswith("SSC.PSAM.")}


@pytest.mark.parametrize("profile, transport", [("default", "t0"), ("default", "t1"), ("no-rk", "t0"),
                                                ("des-only", "t0"), ("sm4-only", "t1")])
def test_builtin_psams_pass_every_applicable_psam_case_and_no_card_case_runs(suite, profile, transport):
    result = run_psam(suite, Psam.builtin(profile, transport))
    cases = by_id(result)
    assert all(c.verdict in (Verdict.PASS, Verdict.NOT_APPLICABLE) for c in cases.values()), \
        [(c.case_id, c.verdict, c.reason) for c in cases.values() if c.verdict not in (Verdict.PASS, Verdict.NOT_APPLICABLE)]
    passed = {i for i, c in cases.items() if c.verdict is Verdict.PASS}
    assert passed <= psam_ids(suite) and len(passed) >= 20
    card_case = cases["SSC.SEL.001"]
    assert card_case.verdict is Verdict.NOT_APPLICABLE
    assert "a card case; the target is a PSAM" in card_case.reason


def test_default_psam_runs_all_but_the_t1_and_no_rk_cases(suite):
    cases = by_id(run_psam(suite, Psam.builtin()))
    skipped = {i for i in psam_ids(suite) if cases[i].verdict is Verdict.NOT_APPLICABLE}
    assert skipped == {"SSC.PSAM.002", "SSC.PSAM.011", "SSC.PSAM.029", "SSC.PSAM.038"}


def test_a_card_runs_no_psam_case(suite):
    card = Card.builtin("gen2")
    result = Runner(suite, EmulatedTransport(card, "emulated:gen2"), CardUnderTest(card.image, label="gen2")).run()
    cases = by_id(result)
    assert all(cases[i].verdict is Verdict.NOT_APPLICABLE for i in psam_ids(suite))
    assert cases["SSC.SEL.001"].verdict is Verdict.PASS


class WrongP1Psam(Psam):
    """A PSAM that takes any BF DE P1 (a defect the emulator cannot be told to have)."""

    def _bfde(self, apdu, buffered):
        apdu.p1 = 0x48
        return super()._bfde(apdu, buffered)


class ZeroIcvPsam(Psam):
    """A PSAM that ignores the ICV of 80 FA 05 (computes the MAC with a zero ICV)."""

    def _80fa(self, apdu, buffered):
        if apdu.p1 == 0x05:
            size = 16 if self.working[0] == "sm4" else 8
            apdu.data = bytes(size) + apdu.data[size:]
        return super()._80fa(apdu, buffered)


@pytest.mark.parametrize("defective, failing", [
    (WrongP1Psam, {"SSC.PSAM.032", "SSC.PSAM.045"}),
    (ZeroIcvPsam, {"SSC.PSAM.025", "SSC.PSAM.027"}),
])
def test_a_defective_psam_fails_the_cases_that_check_it(suite, defective, failing):
    psam = defective()
    cases = by_id(run_psam(suite, psam, PsamUnderTest(Psam.builtin().export_image(), label="psam")))
    failed = {i for i, c in cases.items() if c.verdict is Verdict.FAIL}
    assert failed == failing


def test_roots_that_differ_from_the_description_fail_the_crypto_cases(suite):
    psam = Psam(roots={0x12: bytes(16)})
    cases = by_id(run_psam(suite, psam, PsamUnderTest(Psam.builtin().export_image(), label="psam")))
    failed = {i for i, c in cases.items() if c.verdict is Verdict.FAIL}
    assert failed == {"SSC.PSAM.021", "SSC.PSAM.022", "SSC.PSAM.024", "SSC.PSAM.028"}


def test_undescribed_psam_makes_crypto_cases_inconclusive(suite):
    description = PsamUnderTest(Psam.builtin().export_image(), label="psam")
    description.described = False
    cases = by_id(run_psam(suite, Psam.builtin(), description))
    assert cases["SSC.PSAM.021"].verdict is Verdict.INCONCLUSIVE
    assert "give --psam FILE" in cases["SSC.PSAM.021"].reason
    assert cases["SSC.PSAM.033"].verdict is Verdict.PASS                  # status words still run


def test_restore_gives_a_fresh_psam_of_the_same_image():
    transport = _PsamTransport(Psam.builtin("no-rk", "t1"), "emulated:psam")
    old = transport.card
    assert transport.restore() == old.atr
    assert transport.card is not old and transport.card.export_image() == old.export_image()


def test_sscard_run_psam_cli(tmp_path):
    image = tmp_path / "psam-city.yaml"
    image.write_text('profile: sm4-only\nterminal_number: "110100000042"\n', encoding="utf-8")
    report = tmp_path / "r.json"
    result = CliRunner().invoke(cli, ["run", "--psam", str(image), "--vectors", str(PSAM_VECTORS),
                                      "--json", str(report)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    verdicts = {c["verdict"] for c in data["cases"]}
    assert verdicts == {"PASS", "NOT_APPLICABLE"}
    assert "psam-city" in result.output


def test_sscard_run_bad_psam_image_exits_2(tmp_path):
    image = tmp_path / "psam.yaml"
    image.write_text("profile: default\nkeys: {\"11\": ABCD}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", "--psam", str(image), "--vectors", str(PSAM_VECTORS),
                                      "--reports", str(tmp_path / "rep")])
    assert result.exit_code == 2, result.output
    assert f"{image}:2" in result.output
