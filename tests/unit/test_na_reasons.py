"""N/A reasons in plain words (conformance/reasons.py): every applicability expression the
shipped vectors use, on cards it does not apply to, is said without the expression's syntax and
names what the case needs and what the card has."""

from __future__ import annotations

import itertools
import re

import pytest

from conformance.applicability import Applicability
from conformance.vectors import load_suite

GENERATIONS, TRANSPORTS, TARGETS = (1, 2, 3), ("t0", "t1"), ("card", "psam")
FEATURE_SETS = (frozenset(), frozenset({"pki", "ef0d", "g3_read_key", "layout", "layout:DF03/EF19", "select_mf_reject",
                                         "pki_write_admin", "destructive", "irreversible", "psam_des", "psam_sm4", "psam_rk"}))
SYNTAX = re.compile(r"==|!=|<=|>=|\bin features|'[\w:/=(),]+'|\bnot \(")


def _contexts():
    for generation, transport, target, features in itertools.product(GENERATIONS, TRANSPORTS, TARGETS, FEATURE_SETS):
        yield {"generation": generation, "transport": transport, "target": target, "features": features}


def _shipped_expressions() -> list[str]:
    return sorted({case.applies.text for case in load_suite().cases})


def test_the_shipped_vectors_use_conditions():
    assert len(_shipped_expressions()) > 20


@pytest.mark.parametrize("text", _shipped_expressions())
def test_every_shipped_condition_is_said_in_plain_words(text):
    applies = Applicability(text)
    said = 0
    for context in _contexts():
        if applies.evaluate(context):
            continue
        reason = applies.why_not(context)
        said += 1
        assert reason.startswith(("needs ", "not for ", "a card case")), reason
        assert not SYNTAX.search(reason), reason
        assert reason.isprintable(), reason
        assert "; " in reason, f"the card's side is missing: {reason}"
    assert said, "the condition holds everywhere: nothing to say"


@pytest.mark.parametrize("text, context, expected", [
    ("generation == 3", {"generation": 1}, "needs generation 3; this card is generation 1"),
    ("generation <= 2", {"generation": 3}, "needs generation 2 or earlier; this card is generation 3"),
    ("generation >= 2", {"generation": 1}, "needs generation 2 or later; this card is generation 1"),
    ("transport == 't1'", {"transport": "t0"}, "needs T=1; this card answers in T=0"),
    ("'pki' in features", {"features": frozenset()}, "needs the PKI application; this card does not have it"),
    ("'ef0d' in features and 'g3_read_key' in features", {"features": frozenset()},
     "needs the EF0D file and the generation-3 read key; this card has neither"),
    ("'g3_read_key' not in features", {"features": frozenset({"g3_read_key"})},
     "not for a card with the generation-3 read key; this card has it"),
    ("'pki' in features and not ('pki_write_admin' in features)", {"features": frozenset({"pki", "pki_write_admin"})},
     "not for a card with PKI writes under the admin PIN (revision-1 rule); this card has it"),
    ("'destructive' in features", {"features": frozenset()},
     "needs writes that its cleanup restores; this card is not rebuilt after the case; run it with --destructive"),
    ("'irreversible' in features", {"features": frozenset()},
     "needs a change no command undoes; this card is not rebuilt after the case; "
     "only with --irreversible, on a card you can sacrifice"),
    ("target == 'psam' and 'psam_des' in features", {"target": "card"},
     "needs a PSAM under test and the PSAM's DES application; the target is a card"),
    ("target == 'psam' and 'psam_sm4' in features", {"target": "psam", "features": frozenset({"psam_des"})},
     "needs the PSAM's SM4 application; this PSAM does not have it"),
    ("'pki' in features", {"target": "psam"}, "a card case; the target is a PSAM"),
    ("'layout:DF03/EF19/79=b39' in features and 'layout:DF03/EF19:sfi=19' in features", {"features": frozenset()},
     "needs layout DF03/EF19 with record 79 as b39 and SFI 19; this card declares no layout"),
    ("'layout:DF05/EF06=cyclic' in features", {"features": frozenset({"layout", "layout:DF03/EF19"})},
     "needs layout DF05/EF06 with cyclic structure; this card's layout does not declare DF05/EF06"),
    ("'layout:DF03/EF19:read=free' in features", {"features": frozenset({"layout", "layout:DF03/EF19"})},
     "needs layout DF03/EF19 with read access free; this card's layout declares DF03/EF19 otherwise"),
    ("'pki' in features and transport == 't0'", {"features": frozenset(), "transport": "t1"},
     "needs the PKI application and T=0; this card answers in T=1; this card lacks the PKI application"),
    ("'pki' in features or generation == 3", {"generation": 1},
     "needs the PKI application or generation 3; this card is generation 1; this card lacks the PKI application"),
    ("'pki' in features or 'ef0d' in features", {}, "needs the PKI application or the EF0D file; this card has neither"),
    # Outside the shipped words: the clause itself, and the card's value, still named.
    ("1 <= generation <= 2", {"generation": 3}, "needs 1 <= generation <= 2; this card's generation is 3"),
    ("'nfc' in features", {"features": frozenset()}, "needs the feature 'nfc'; this card does not have it"),
])
def test_reasons_read_as_sentences(text, context, expected):
    full = {"generation": 2, "transport": "t0", "target": "card", "features": frozenset(), **context}
    applies = Applicability(text)
    assert not applies.evaluate(full)
    assert applies.why_not(full) == expected
    assert expected.isprintable()
