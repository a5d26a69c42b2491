"""The HTML report a person scans: a real run on a card with a seeded defect, read back with the
stdlib HTML parser — the failure index links to every failing case's anchor, the filter controls
are there, the provenance summary is at the top, N/A reasons are in plain words, outside text is
escaped."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from conformance.card_under_test import CardUnderTest
from conformance.reports import html
from conformance.runner import Runner
from conformance.transport import EmulatedTransport
from conformance.vectors import DEFAULT_VECTORS, load_suite
from conformance.verdict import CaseResult, SuiteResult, Verdict
from simulator import Card
from simulator.samples import sample_image

FILES = [DEFAULT_VECTORS / name for name in ("select.yaml", "transport.yaml", "pki.yaml", "pin.yaml")]


class Page(HTMLParser):
    """Every element's attributes, the links, the ids, and the text of each id'd element's start."""

    def __init__(self, text: str):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.links: list[str] = []
        self.ids: dict[str, dict] = {}
        self.index_links: list[str] = []
        self._in_index = 0
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs))
        if "id" in attrs:
            assert attrs["id"] not in self.ids, f"duplicate id {attrs['id']}"
            self.ids[attrs["id"]] = {"tag": tag, **attrs}
        if tag == "ol" and "index" in attrs.get("class", ""):
            self._in_index += 1
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
            if self._in_index:
                self.index_links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "ol" and self._in_index:
            self._in_index -= 1

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def run():
    """gen1 with a seeded defect: FAILs, PASSes, and N/A for the generation-3 and PKI cases."""
    suite = load_suite(FILES)
    card = Card.from_dict({**sample_image("gen1"), "defects": ["fci-without-dir"]})
    transport = EmulatedTransport(card)
    return Runner(suite, transport, CardUnderTest(card.image, label="gen1-defect"), image_path=None).run()


@pytest.fixture(scope="module")
def page(run):
    return html.render(run)


def test_the_failure_index_links_to_every_failing_case(run, page):
    parsed = Page(page)
    failing = [c for c in run.cases if c.verdict in (Verdict.FAIL, Verdict.ERROR, Verdict.INCONCLUSIVE)]
    assert any(c.verdict is Verdict.FAIL for c in failing), "the seeded defect makes cases FAIL"
    assert len(parsed.index_links) == len(failing)
    targets = [parsed.ids[link.removeprefix("#")] for link in parsed.index_links]  # each anchor exists
    assert all(t["tag"] == "details" for t in targets)
    assert sorted(t["data-verdict"] for t in targets) == sorted(c.verdict.value for c in failing)
    # The index comes before the cases, and each failing case is open.
    assert page.index("id='failures'") < page.index("<details class='case'")
    assert all("open" in t for t in targets)
    passing = [attrs for tag, attrs in parsed.elements if attrs.get("data-verdict") == "PASS"]
    assert passing and not any("open" in a for a in passing)


def test_every_case_is_an_anchor_with_its_verdict_and_area(run, page):
    cases = [attrs for tag, attrs in Page(page).elements if tag == "details" and attrs.get("class") == "case"]
    assert [(a["data-verdict"], a["data-area"]) for a in cases] == [(c.verdict.value, c.area) for c in run.cases]


def test_the_filter_controls_cover_verdicts_and_areas(run, page):
    parsed = Page(page)
    form = parsed.ids["filter"]
    assert form["tag"] == "form"
    names = {attrs.get("name"): tag for tag, attrs in parsed.elements if attrs.get("name")}
    assert names == {"verdict": "select", "area": "select", "text": "input"}
    options = [attrs["value"] for tag, attrs in parsed.elements if tag == "option"]
    assert {v.value for v in Verdict} <= set(options)
    assert {c.area for c in run.cases} <= set(options)
    # One inline script, nothing loaded from elsewhere.
    assert page.count("<script>") == 1 and not re.search(r"<script[^>]*src|<link|(src|href)\s*=\s*['\"]?(https?:)?//", page)


def test_the_provenance_summary_is_at_the_top(run, page):
    prov = run.provenance
    top = page[:page.index("id='failures'")]
    for value in (prov["card"]["label"], prov["card"]["atr"], prov["tool"]["version"], prov["suite"]["sha256"],
                  prov["started"], prov["ended"]):
        assert value and value in top, value
    assert len(prov["suite"]["sha256"]) == 64


def test_not_applicable_reasons_are_in_plain_words(run, page):
    na = [c for c in run.cases if c.verdict is Verdict.NOT_APPLICABLE]
    assert na
    assert "needs generation 3; this card is generation 1" in {c.reason for c in na}
    assert "needs the PKI application; this card does not have it" in {c.reason for c in na}
    assert not any(c.reason.startswith("not applicable") or "==" in c.reason for c in na)
    assert "needs generation 3; this card is generation 1" in page


def test_outside_text_is_escaped():
    hostile = "<img src=x onerror=alert(1)>\x1b[2J"
    result = SuiteResult(hostile, [CaseResult("SSC.X'Y.001", hostile, [hostile], ["C"], Verdict.FAIL, hostile)],
                         {"card": {"label": hostile, "atr": hostile}, "started": hostile})
    page = html.render(result)
    assert "<img" not in page and "\x1b" not in page and "\\x1b" in page
    parsed = Page(page)
    assert parsed.index_links == ["#" + next(iter(k for k in parsed.ids if k.endswith("Y.001")))]


def test_two_cards_with_the_same_cases_get_distinct_anchors(run):
    again = SuiteResult(run.card, run.cases, run.provenance)
    parsed = Page(html.render([run, again]))  # Page asserts every id is unique
    assert len(parsed.index_links) == 2 * len([c for c in run.cases if c.verdict.is_bad or c.verdict is Verdict.INCONCLUSIVE])
    assert all(link.removeprefix("#") in parsed.ids for link in parsed.index_links)
