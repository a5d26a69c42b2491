"""The project's vector suite as a whole: it loads without problems, its ids are unique, it is big
enough, its writes leave a card as they found it, and every case passes (or does not apply) on
the built-in emulated gen1, gen2 and gen3 cards, in t0 and in t1 mode."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from conformance.card_under_test import CardUnderTest
from conformance.runner import Runner
from conformance.transport import EmulatedTransport
from conformance.vectors import DEFAULT_VECTORS, load_suite
from conformance.verdict import Verdict
from simulator import Card
from simulator.image import from_dict
from simulator.samples import sample_image

# The file and transport areas, and the fewest cases each must keep (spec §4.1-§4.10, §4.18).
FILE_AREAS = {"SEL": 60, "REC": 65, "BIN": 30, "UPD": 25, "TRN": 35}
FILE_AREA_FILES = {"SEL": "select.yaml", "REC": "records.yaml", "BIN": "binary.yaml", "UPD": "update.yaml",
                   "TRN": "transport.yaml"}
GOOD = {Verdict.PASS, Verdict.NOT_APPLICABLE}


@pytest.fixture(scope="module")
def suite():
    return load_suite()  # raises VectorError listing every file:line problem


def test_the_whole_suite_is_big_enough(suite):
    assert len(suite.cases) >= 200, f"only {len(suite.cases)} cases in {DEFAULT_VECTORS}"


def test_case_ids_are_unique(suite):
    counts = Counter(case.id for case in suite.cases)
    assert [cid for cid, n in counts.items() if n > 1] == []


def test_file_and_transport_areas(suite):
    per_area = Counter(case.area for case in suite.cases)
    for area, least in FILE_AREAS.items():
        assert per_area[area] >= least, f"{area}: {per_area[area]} cases, expected at least {least}"
    assert sum(per_area[a] for a in FILE_AREAS) >= 130
    for area, name in FILE_AREA_FILES.items():
        files = {case.file.rsplit("/", 1)[-1] for case in suite.cases if case.area == area}
        assert files == {name}


def test_file_area_ids_are_numbered_without_gaps(suite):
    for area in FILE_AREAS:
        numbers = sorted(int(case.id.rsplit(".", 1)[1]) for case in suite.cases if case.area == area)
        assert numbers == list(range(1, len(numbers) + 1)), area


def test_file_area_cases_cite_the_reference_card(suite):
    for case in (c for c in suite.cases if c.area in FILE_AREAS):
        assert any(r.startswith("ssc-card §") for r in case.ref), case.id
        assert case.title and case.labels, case.id


_WRITE = re.compile(r"^00(DC|D6)")
_WRITE_BACK = re.compile(r"^00(DC|D6)[0-9A-F]{4}(?:[0-9A-F]{2}|\$\{[^{}]*\})\$\{(\w+)\}$")


def test_writes_put_the_card_back(suite):
    """A write the card is expected to accept either writes back bytes read earlier in the case,
    or the case restores them in its cleanup, or it applies only to cards the run can rebuild."""
    offenders = []
    for case in (c for c in suite.cases if c.area in FILE_AREAS):
        captured: set[str] = set()
        for step in case.steps:
            text = "".join(step.apdu.text.split()).upper() if step.apdu else ""
            accepted = step.expect is not None and "9000" in step.expect.sw
            if _WRITE.match(text) and accepted:
                back = _WRITE_BACK.match("".join(step.apdu.text.split()))
                harmless = back is not None and back.group(2) in captured
                if not (harmless or case.cleanup or case.applies.mentions("irreversible")):
                    offenders.append(f"{case.id}: {step.apdu.text}")
            captured |= set(step.capture)
    assert offenders == []


def _image(profile: str, transport: str) -> dict:
    image = sample_image(profile)
    if transport == "t1":
        image["switches"] = {**(image.get("switches") or {}), "transport": "t1"}
    return image


@pytest.mark.parametrize("transport", ["t0", "t1"])
@pytest.mark.parametrize("profile", ["gen1", "gen2", "gen3"])
def test_every_case_passes_on_the_builtin_cards(suite, profile, transport):
    card = Card(from_dict(_image(profile, transport), source=f"<{profile} {transport}>"))
    described = CardUnderTest(card.image, label=f"{profile}-{transport}")
    result = Runner(suite, EmulatedTransport(card, f"emulated:{profile}"), described).run()
    bad = [f"{c.case_id} {c.verdict.value}: {c.reason}" for c in result.cases if c.verdict not in GOOD]
    assert bad == []
    assert sum(c.verdict is Verdict.PASS for c in result.cases) > len(result.cases) // 2


def test_the_builtin_card_of_sscard_run(suite):
    """Card.builtin is what `sscard run` puts behind the suite."""
    card = Card.builtin("gen2")
    result = Runner(suite, EmulatedTransport(card), CardUnderTest(card.image, label="gen2")).run()
    assert [c.case_id for c in result.cases if c.verdict not in GOOD] == []
