"""Why a case does not apply, in plain words: "needs generation 3; this card is generation 1"
rather than the raw `generation == 3`.

The applicability expression's failing clauses are found by evaluating its parts against the
card's context; each clause is said as what the case needs and what the card has. Every variable
and feature the vectors use has its own words; anything else falls back to the clause itself and
the card's value, so a reason always names what did not hold.
"""

from __future__ import annotations

import ast
from typing import Callable

# What a feature gives the card, said after "needs" / "not for a card with".
FEATURES = {
    "pki": "the PKI application",
    "ef0d": "the EF0D file",
    "g3_read_key": "the generation-3 read key",
    "select_mf_reject": "SELECT MF refused (switch select_mf = reject)",
    "pki_write_admin": "PKI writes under the admin PIN (revision-1 rule)",
    "name_extension": "the name extension",
    "destructive": "writes that its cleanup restores",
    "irreversible": "a change no command undoes",
    "psam_des": "the PSAM's DES application",
    "psam_sm4": "the PSAM's SM4 application",
    "psam_rk": "the PSAM's RKSSSE key",
    "layout": "a declared file layout",
}
# The sscard run flag that allows a changing case on a card in a reader (conformance/runner.py CHANGING).
_ALLOWED_BY = {"destructive": "run it with --destructive",
               "irreversible": "only with --irreversible, on a card you can sacrifice"}
_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
# generation needs, by operator: "needs generation 2 or later"
_GENERATION = {"==": "generation {v}", "!=": "a generation other than {v}", "<": "a generation before {v}",
               "<=": "generation {v} or earlier", ">": "a generation after {v}", ">=": "generation {v} or later"}

_LAYOUT_WORDS = {"sfi": "SFI", "read": "read access", "write": "write access", "shape": "records (count x length)"}

_LACKS, _HAS = "\0lacks ", "\0has "  # a feature's fact, said once for all of them (_features_said)

Evaluate = Callable[[ast.AST, dict], object]


def why_not(tree: ast.AST, context: dict, evaluate: Evaluate) -> str:
    """The reason the expression `tree` is false for `context`, in plain words."""
    pairs = _failing(tree, context, evaluate, negated=False)
    if not pairs:  # cannot single out a clause: still name the whole expression
        return f"needs {ast.unparse(tree)}"
    needs = list(dict.fromkeys(n for n, _ in pairs))
    wanted = _grouped([n.removeprefix("needs ") for n in needs if n.startswith("needs ")])
    listed = "; ".join(wanted) if any(" and " in w for w in wanted) else _listed(wanted) if wanted else ""
    said = ([f"needs {listed}"] if wanted else []) + [n for n in needs if not n.startswith("needs ")]
    facts = list(dict.fromkeys(f for _, f in pairs if f))
    if any(f.startswith("the target is") for f in facts):  # the wrong kind of target says it all
        facts = [f for f in facts if f.startswith("the target is")]
    return "; ".join(said + _features_said(facts, len(wanted), _subject(context)))


def _features_said(facts: list[str], wanted: int, subject: str) -> list[str]:
    """The facts, with the features the card lacks or has (named in the needs already) said once:
    "this card does not have it", "... has neither", "... lacks the EF0D file"."""
    lacking = [f.removeprefix(_LACKS) for f in facts if f.startswith(_LACKS)]
    having = [f for f in facts if f.startswith(_HAS)]
    said = [f for f in facts if not f.startswith((_LACKS, _HAS))]
    if lacking and len(lacking) == wanted:
        said.append(f"{subject} " + ("does not have it", "has neither", "has none of them")[min(len(lacking), 3) - 1])
    elif lacking:
        said.append(f"{subject} lacks {_listed(lacking)}")
    if having:
        said.append(f"{subject} has {'it' if len(having) == 1 else 'them'}")
    return said


def _grouped(needs: list[str]) -> list[str]:
    """`layout DF03/EF19: SFI 19` and `layout DF03/EF19: read access free` said as one need."""
    details: dict[str, list[str]] = {}
    for need in needs:
        head, colon, detail = need.partition(": ")
        found = details.setdefault(head if colon else need, [])
        if colon:
            found.append(detail)
    return [f"{head} with {_listed(found)}" if found else head for head, found in details.items()]


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _failing(node, context, evaluate, negated: bool) -> list[tuple[str, str]]:
    """(need, fact) for each clause that made `node` (or `not node` when negated) false."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return _failing(node.operand, context, evaluate, not negated)
    if isinstance(node, ast.BoolOp):
        all_must_hold = isinstance(node.op, ast.And) != negated  # De Morgan under a `not`
        failed = [p for value in node.values if bool(evaluate(value, context)) == negated
                  for p in _failing(value, context, evaluate, negated)]
        if all_must_hold or not failed:
            return failed
        # Any one alternative would do, and none holds: one need with the choices.
        facts = list(dict.fromkeys(f for _, f in failed if f))
        return [(" or ".join(dict.fromkeys(n for n, _ in failed)).replace(" or needs ", " or "),
                 "; ".join(_features_said(facts, len(failed), _subject(context))))]
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        said = _compare(node, context, negated)
        if said:
            return [said]
    clause = ast.unparse(node)
    return [(f"needs not ({clause})" if negated else f"needs {clause}", _values(node, context))]


def _compare(node: ast.Compare, context: dict, negated: bool) -> tuple[str, str] | None:
    op, left, right = type(node.ops[0]), node.left, node.comparators[0]
    if op in (ast.In, ast.NotIn) and isinstance(left, ast.Constant) and _name(right) == "features":
        wanted = (op is ast.In) != negated
        return _feature(str(left.value), wanted, context)
    if isinstance(right, ast.Name) and isinstance(left, ast.Constant) and op in _OPS:
        left, right = right, left  # `3 == generation` said as `generation == 3`
        op = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE}.get(op, op)
    if not (isinstance(left, ast.Name) and isinstance(right, ast.Constant) and op in _OPS):
        return None
    symbol = _OPS[op]
    if negated:
        symbol = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}[symbol]
    value, name = right.value, left.id
    if name == "generation":
        return f"needs {_GENERATION[symbol].format(v=value)}", f"{_subject(context)} is generation {context.get(name, '?')}"
    if name == "transport" and symbol in ("==", "!="):
        return (f"needs {_transport(value)}" if symbol == "==" else f"not for {_transport(value)}",
                f"{_subject(context)} answers in {_transport(context.get(name, '?'))}")
    if name == "target" and symbol in ("==", "!="):
        have = context.get("target", "card")
        return (f"needs {target_words(value)} under test" if symbol == "==" else f"not for {target_words(value)}",
                f"the target is {target_words(have)}")
    return None


def _feature(feature: str, wanted: bool, context: dict) -> tuple[str, str]:
    if feature.startswith("layout:"):
        return _layout(feature[len("layout:"):], wanted, context)
    what = FEATURES.get(feature, f"the feature '{feature}'")
    subject = _subject(context)
    if wanted:
        if feature in _ALLOWED_BY:  # a card in a reader: the user's flag allows it, never the card
            return f"needs {what}", f"{subject} is not rebuilt after the case; {_ALLOWED_BY[feature]}"
        return f"needs {what}", _LACKS + what
    return f"not for {target_words(context.get('target', 'card'))} with {what}", _HAS + what


def _subject(context: dict) -> str:
    return "this PSAM" if str(context.get("target", "card")).lower() == "psam" else "this card"


def _layout(spec: str, wanted: bool, context: dict) -> tuple[str, str]:
    """`DF03/EF19`, `DF03/EF19=tlv`, `DF03/EF19:sfi=19`, `DF03/EF19/79=b39` (simulator/layout.py)."""
    path, _, rest = spec.partition(":")
    path, _, structure = path.partition("=")
    parts = path.split("/")
    ef, record = "/".join(parts[:2]), "/".join(parts[2:])
    if record:
        detail = f": record {record} as {structure}" if structure else f": record {record}"
    elif structure:
        detail = f": {structure} structure"
    elif rest:
        attribute, _, value = rest.partition("=")
        detail = f": {_LAYOUT_WORDS.get(attribute, attribute)} {value}"
    else:
        detail = ""
    need = f"needs layout {ef}{detail}" if wanted else f"not for a layout with {ef}{detail}"
    features = context.get("features", ())
    if not wanted:
        fact = "this card's layout does"
    elif "layout" not in features:
        fact = "this card declares no layout"
    elif f"layout:{ef}" not in features:
        fact = f"this card's layout does not declare {ef}"
    else:
        fact = f"this card's layout declares {ef} otherwise"
    return need, fact


def _transport(value) -> str:
    text = str(value).lower()
    return f"T={text[1:]}" if text in ("t0", "t1") else f"transport {value}"


def target_words(value) -> str:
    return "a PSAM" if str(value).lower() == "psam" else f"a {value}"


def _name(node) -> str | None:
    return node.id if isinstance(node, ast.Name) else None


def _values(node, context: dict) -> str:
    """The card's values of the variables a clause names (the generic fallback's fact)."""
    names = dict.fromkeys(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in context)
    shown = []
    for name in names:
        value = context[name]
        shown.append(f"{name} is {', '.join(sorted(map(str, value))) or 'none'}" if isinstance(value, (set, frozenset))
                     else f"{name} is {value}")
    return f"this card's {'; '.join(shown)}" if shown else ""
