"""Applicability expressions: `generation >= 2 and transport == 't0'`, `'pki' in features`.

Parsed with `ast` and checked against a whitelist of node types and variable names, then
evaluated by walking the tree ourselves: no `eval`, so a vector file cannot run code.
"""

from __future__ import annotations

import ast
import functools
import operator

from . import reasons

VARIABLES = {
    "generation": "card generation, 1, 2 or 3",
    "transport": "response mode of the card, 't0' or 't1'",
    "features": "set of feature names of the card under test, e.g. 'pki'; 'destructive' (writes the case's "
                "cleanup restores) and 'irreversible' (changes no command undoes) when the run allows "
                "them: emulated cards, rebuilt after the case; a reader's card with --destructive / --irreversible",
    "target": "what is under test, 'card' or 'psam' (ssc-terminal.md §2); an expression that does not "
              "name it is about a card, so card cases never run against a PSAM",
}
CARD_TARGET = "card"

_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


class ApplicabilityError(ValueError):
    """The expression is not in the small language (names the offending part)."""


class Applicability:
    """A parsed expression; `evaluate(context)` answers whether a case applies."""

    def __init__(self, text: str):
        self.text = text.strip() or "True"
        self._tree = _parsed(self.text)
        self._names_target = any(isinstance(n, ast.Name) and n.id == "target" for n in ast.walk(self._tree))

    def evaluate(self, context: dict) -> bool:
        if not self._names_target and context.get("target", CARD_TARGET) != CARD_TARGET:
            return False  # a card case: not for a PSAM
        return bool(_eval(self._tree, context))

    def why_not(self, context: dict) -> str:
        """Why the case does not apply, in plain words (the verdict's reason, conformance/reasons.py)."""
        if not self._names_target and context.get("target", CARD_TARGET) != CARD_TARGET:
            return f"a card case; the target is {reasons.target_words(context['target'])}"
        return reasons.why_not(self._tree, context, _eval)

    def mentions(self, name: str) -> bool:
        """Whether the expression names the constant `name` (the runner rebuilds an emulated card after a
        case that mentions 'destructive' or 'irreversible')."""
        return any(isinstance(node, ast.Constant) and node.value == name for node in ast.walk(self._tree))

    def __repr__(self) -> str:
        return f"Applicability({self.text!r})"


@functools.lru_cache(maxsize=1024)
def _parsed(text: str):
    """The checked expression tree (cached: many cases share one expression; trees are only read)."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ApplicabilityError(f"not an expression: {exc.msg}") from None
    _check(tree.body)
    return tree.body


def _check(node) -> None:
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _check(value)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _check(node.operand)
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _COMPARE:
                raise ApplicabilityError(f"operator {type(op).__name__} is not allowed")
        for part in (node.left, *node.comparators):
            _check(part)
    elif isinstance(node, ast.Name):
        if node.id not in VARIABLES and node.id not in ("True", "False"):
            known = ", ".join(VARIABLES)
            raise ApplicabilityError(f"unknown variable '{node.id}' (known: {known})")
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, (int, str, bool)):
            raise ApplicabilityError(f"constant {node.value!r} is not allowed")
    elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        for element in node.elts:
            if not isinstance(element, ast.Constant):
                raise ApplicabilityError("collections may hold constants only")
            _check(element)
    else:
        raise ApplicabilityError(f"'{ast.unparse(node)}' is not allowed here")


def _eval(node, context: dict):
    if isinstance(node, ast.BoolOp):
        values = (_eval(v, context) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp):
        return not _eval(node.operand, context)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, context)
        for op, right_node in zip(node.ops, node.comparators):
            right = _eval(right_node, context)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.Name):
        if node.id in ("True", "False"):
            return node.id == "True"
        return context.get(node.id, CARD_TARGET) if node.id == "target" else context[node.id]
    if isinstance(node, ast.Constant):
        return node.value
    return frozenset(_eval(e, context) for e in node.elts)
