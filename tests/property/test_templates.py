"""Properties of the template evaluator under random expressions (hypothesis): a template gives
bytes no longer than the limit, or a clean error (TemplateError/ValueError: the step is ERROR;
MissingSecret: INCONCLUSIVE), never another exception, and never builds a huge value first."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings, strategies as st

from conformance import compute
from conformance.card_under_test import CardUnderTest, MissingSecret
from conformance.limits import MAX_VALUE
from conformance.template import TemplateError, check_functions, parse
from simulator.samples import sample_image

CLEAN = (TemplateError, ValueError, MissingSecret)
CARD = CardUnderTest(copy.deepcopy(sample_image("gen3")), label="gen3")
VARIABLES = {**compute.builtin_variables(CARD), "challenge": bytes(range(8)), "r16": bytes(range(16)),
             "n": "40000", "big": "1500000000", "text": "not hex", "atr": bytes.fromhex("3B6D0000")}
FUNCTIONS = sorted(compute.FUNCTIONS) + ["nosuch", "eval", "__import__"]

names = st.sampled_from(sorted(VARIABLES) + ["unknown", "_private"])
numbers = st.one_of(st.integers(-300, 70_000), st.integers(-2**40, 2**40), st.sampled_from([0, 1, 65544, 65545]))
strings = st.one_of(st.sampled_from(["00", "FF", "SSSE/EF05", "SSSE/EF08", "DF01/EF06", "04", "user", "admin", "SSSE",
                                     "PKI", "ADF1", "09", "123456", "张三", ""]),
                    st.text(alphabet="0123456789ABCDEF ", max_size=40), st.text(max_size=12))


def _call(children):
    name = st.sampled_from(FUNCTIONS)
    args = st.lists(children, max_size=4)
    keywords = st.lists(st.tuples(st.sampled_from(["length", "fill", "d", "version", "pin", "offset", "x"]), children),
                        max_size=2)
    return st.builds(lambda f, a, k: f"{f}({', '.join(a + [f'{n}={v}' for n, v in k])})", name, args, keywords)


def _slice(children):
    bound = st.one_of(st.just(""), numbers.map(str))
    return st.one_of(
        st.builds(lambda v, a, b: f"{v}[{a}:{b}]", st.one_of(names, _call(children)), bound, bound),
        st.builds(lambda v, i: f"{v}[{i}]", st.one_of(names, _call(children)), numbers.map(str)))


expressions = st.recursive(
    st.one_of(names, numbers.map(str), strings.map(repr), names.map(lambda n: f"-{n}")),
    lambda children: st.one_of(_call(children), _call(children), _slice(children)),
    max_leaves=12)

literal_hex = st.binary(max_size=8).map(lambda b: b.hex().upper() + " ")
templates = st.lists(st.one_of(literal_hex, st.text(alphabet="0123456789ABCDEF ", max_size=6),
                               expressions.map(lambda e: "${" + e + "}")), min_size=1, max_size=4).map("".join)


def _evaluate(text: str):
    """The template's bytes, or the clean error it ends in; any other exception fails the test."""
    try:
        template = parse(text)
        check_functions(template, compute.bind(None))
        return template.render(dict(VARIABLES), compute.bind(compute.Context(CARD, current_df="SSSE")))
    except CLEAN as exc:
        return exc


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(templates)
def test_random_templates_give_bounded_bytes_or_a_clean_error(text):
    outcome = _evaluate(text)
    if isinstance(outcome, bytes):
        assert len(outcome) <= MAX_VALUE


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_in_a_placeholder_is_a_template_or_a_clean_error(inside):
    _evaluate("00A4 ${" + inside + "}")


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2_000_000_000), st.integers(1, 6), st.sampled_from(["00", "0102", "", "ZZ"]))
def test_padding_and_joining_never_build_more_than_the_limit(length, copies, fill):
    outcome = _evaluate("${join(" + ", ".join([f"pad('01', {length}, '{fill}')"] * copies) + ")}")
    size = max(length, 1)  # pad never shortens its value
    refused = fill == "ZZ" or (fill == "" and length > 1) or size * copies > MAX_VALUE
    if refused:
        assert isinstance(outcome, Exception)
    else:
        assert outcome == (b"\x01" + (bytes.fromhex(fill) * size)[:size - 1]) * copies
