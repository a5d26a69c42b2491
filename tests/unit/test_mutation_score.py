"""Mutation score of the conformance suite: every named card defect must make some vector FAIL.

For each defect of simulator/defects.py the whole vector suite (vectors/*.yaml) runs against the
built-in gen2 and gen3 sample cards with that one defect. The defect is caught when a case that
PASSes on the clean card FAILs on the defective one. The score (caught / defects) is printed in
the terminal summary of the pytest run (`make test`; tests/conftest.py), with the cases that caught
each defect.
"""

from __future__ import annotations

import pytest

from conformance.card_under_test import CardUnderTest
from conformance.runner import Runner
from conformance.transport import EmulatedTransport
from conformance.vectors import load_suite
from conformance.verdict import Verdict
from simulator import Card
from simulator.defects import DEFECTS
from simulator.samples import sample_image

PROFILES = ("gen2", "gen3")


def _run(suite, profile: str, defect: str | None) -> dict[str, Verdict]:
    image = sample_image(profile)
    if defect:
        image["defects"] = [defect]
    card = Card.from_dict(image, source=f"<{profile} {defect or 'clean'}>")
    transport = EmulatedTransport(card, f"emulated:{profile}")
    result = Runner(suite, transport, CardUnderTest(card.image, label=profile)).run()
    return {case.case_id: case.verdict for case in result.cases}


@pytest.fixture(scope="module")
def score(pytestconfig):
    """The session's score keeper (tests/conftest.py): prints the score at the end, xdist or not."""
    return pytestconfig.pluginmanager.get_plugin("sscard-mutation-score")


@pytest.fixture(scope="module")
def suite():
    return load_suite()


@pytest.fixture(scope="module")
def clean(suite):
    return {profile: _run(suite, profile, None) for profile in PROFILES}


@pytest.mark.parametrize("profile", PROFILES)
def test_clean_sample_card_passes_the_suite(clean, profile):
    bad = {case: v.value for case, v in clean[profile].items() if v.is_bad or v is Verdict.INCONCLUSIVE}
    assert not bad, f"the defect-free {profile} card does not pass: {bad}"


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_defect_is_caught(suite, clean, score, defect):
    caught: list[str] = []
    for profile in PROFILES:
        verdicts = _run(suite, profile, defect)
        caught += [f"{case}@{profile}" for case, verdict in verdicts.items()
                   if verdict is Verdict.FAIL and clean[profile].get(case) is Verdict.PASS]
    score.caught[defect] = caught
    assert caught, f"no vector FAILs on a card with the defect {defect!r} ({DEFECTS[defect]})"


_DESTRUCTIVE = """\
area: LCY
defaults: {ref: ["ssc-card §4.17"], label: I, preconditions: [reset, {select: SSSE}]}
cases:
  - id: SSC.LCY.901
    title: CARD BLOCK
    applies: "'irreversible' in features"
    steps:
      - apdu: "0084000008"
        expect: {sw: "9000"}
        capture: {c: data}
      - apdu: 8416000004 ${mac("08", "8416000004", c)}
        expect: {sw: "9000"}
  - id: SSC.LCY.902
    title: the next case sees a usable card
    steps:
      - apdu: 00B2012C00
        expect: {sw: "9000"}
"""


class _Physical(EmulatedTransport):
    """An emulated card the run cannot restore, as a card in a reader."""

    restore = None


@pytest.mark.parametrize("transport_class", [EmulatedTransport, _Physical])
def test_destructive_cases_run_only_where_the_card_is_restored_after(tmp_path, transport_class):
    path = tmp_path / "lifecycle.yaml"
    path.write_text(_DESTRUCTIVE, encoding="utf-8")
    card = Card.from_dict(sample_image("gen2"))
    result = Runner(load_suite(path), transport_class(card), CardUnderTest(card.image, label="gen2")).run()
    verdicts = {case.case_id: case.verdict for case in result.cases}
    expected = Verdict.PASS if transport_class is EmulatedTransport else Verdict.NOT_APPLICABLE
    assert verdicts == {"SSC.LCY.901": expected, "SSC.LCY.902": Verdict.PASS}
