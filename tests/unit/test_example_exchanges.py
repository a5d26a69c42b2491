"""The example exchanges of spec §4.20, parsed from docs/spec/ssc-card.md and replayed byte for byte.

Transcript syntax (§0.2, §4.20): `>` a C-APDU, `<` its R-APDU; several may share a line, separated
by `;` or simply following each other; a space may separate header and data, or data and SW;
anything after the hex is a comment. Two shorthands of the transcript are resolved from the spec:
`FCI` is the SSSE FCI of the §4.5 table, and a data field that ends in `…` was elided by the
author: it is completed with 00 bytes up to its Lc (the answer it must draw, 6982, depends only
on Lc and the access condition). A GET CHALLENGE answer in the transcript is the value the test
forces through the card's `random` ("forced in tests").
"""

from __future__ import annotations

import re

import pytest

from cardkit import SPEC_TEXT, Challenges, default_fci, make, rsp

HEX = re.compile(r"^[0-9A-Fa-f]+…?$")


def exchanges() -> list[tuple[str, int, list[tuple[str, str]]]]:
    """[(title, generation, [(C-APDU hex, R-APDU hex)])] of §4.20."""
    start = SPEC_TEXT.index("### 4.20 Example exchanges")
    section = SPEC_TEXT[start: SPEC_TEXT.index("\n## ", start)]
    out = []
    for m in re.finditer(r"([^\n]*\n)\n?```\n(.*?)```", section, re.S):
        intro, block = m.groups()
        gen = re.search(r"gen([123]) sample card", intro)
        assert gen, f"§4.20: no 'genN sample card' in the line before a transcript: {intro!r}"
        out.append((intro.strip(), int(gen.group(1)), _pairs(block)))
    return out


def _pairs(block: str) -> list[tuple[str, str]]:
    steps: list[tuple[str, str]] = []
    for line in block.splitlines():
        for direction, text in re.findall(r"([<>])([^<>;]*)", line):
            tokens = []
            for token in text.split():
                if token == "FCI" and direction == "<":
                    token = default_fci()["SSSE"]
                if not HEX.match(token):
                    break  # the comment starts here
                tokens.append(token)
            assert tokens, f"§4.20: no hex after {direction!r} in {line!r}"
            steps.append((direction, "".join(tokens).upper()))
    pairs = []
    for (d1, c), (d2, r) in zip(steps[::2], steps[1::2]):
        assert (d1, d2) == (">", "<"), f"§4.20: '>' and '<' do not alternate near {c}"
        pairs.append((_complete(c), r))
    assert len(steps) % 2 == 0, "§4.20: a command without an answer"
    return pairs


def _complete(apdu: str) -> str:
    if not apdu.endswith("…"):
        return apdu
    apdu = apdu[:-1]
    lc = int(apdu[8:10], 16)
    return apdu + "00" * (lc - (len(apdu) - 10) // 2)


EXCHANGES = exchanges()


def test_both_exchanges_found():
    assert [g for _, g, _ in EXCHANGES] == [2, 3]
    assert [len(p) for _, _, p in EXCHANGES] == [8, 11]  # command/answer pairs of the two transcripts


@pytest.mark.parametrize("title, gen, pairs", EXCHANGES, ids=[f"gen{g}" for _, g, _ in EXCHANGES])
def test_example_exchange(title, gen, pairs):
    forced = [r[:-4] for c, r in pairs if c.startswith("00840000")]
    card = make(gen, *forced)
    for i, (command, expected) in enumerate(pairs, 1):
        assert rsp(card, command) == expected, f"{title} step {i}: > {command}"
    assert isinstance(card.random, Challenges) and not card.random.forced  # every forced value used
