"""Hex templates: `0082000410 ${ext_auth("04", challenge)}`, `00B2${rec}2C00`.

A template is literal hex (spaces allowed) with `${...}` placeholders. A placeholder holds a
variable (`challenge`), a string or number constant, a call of a named function of
`conformance.compute` whose arguments are again such expressions, or a slice of a variable or
a call (`challenge[0:4]`, `ext_auth("0A", challenge)[0:8]`). The
grammar is checked with `ast` against a whitelist when the vector file loads; nothing is `eval`ed.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
from dataclasses import dataclass

_PLACEHOLDER = re.compile(r"\$\{([^{}]*)\}")
_HEXCHARS = re.compile(r"[0-9A-Fa-f\s]*")


class TemplateError(ValueError):
    """A template that cannot be used; the message says what is wrong."""


@dataclass(frozen=True)
class Template:
    text: str
    parts: tuple  # str (literal hex, no spaces) or ast.expr

    @property
    def is_constant(self) -> bool:
        return all(isinstance(p, str) for p in self.parts)

    def names(self) -> set[str]:
        """Variables the template reads (function names excluded)."""
        found: set[str] = set()
        for part in self.parts:
            if not isinstance(part, str):
                for node in ast.walk(part):
                    if isinstance(node, ast.Name) and not _is_callee(part, node):
                        found.add(node.id)
        return found

    def functions(self) -> set[str]:
        return {node.func.id for p in self.parts if not isinstance(p, str)
                for node in ast.walk(p) if isinstance(node, ast.Call)}

    def render(self, variables: dict, functions: dict) -> bytes:
        out = bytearray()
        for part in self.parts:
            if isinstance(part, str):
                out += bytes.fromhex(part)
            else:
                try:
                    value = _evaluate(part, variables, functions)
                except (TypeError, KeyError, IndexError, OverflowError) as exc:
                    # The vector's expression does not fit its values (a slice of a number, an
                    # unknown DF in fci()...): the vector is wrong, the tool did not crash.
                    raise TemplateError(f"${{{ast.unparse(part)}}}: {type(exc).__name__}: {exc}") from None
                out += to_bytes(value, ast.unparse(part))
        return bytes(out)


def parse(text: str) -> Template:
    """Split and check a template; raises TemplateError for bad hex or a bad placeholder."""
    parts: list = []
    pos = 0
    for match in _PLACEHOLDER.finditer(text):
        parts.append(_literal(text[pos:match.start()]))
        parts.append(_expression(match.group(1)))
        pos = match.end()
    parts.append(_literal(text[pos:]))
    return Template(text, tuple(p for p in parts if p != ""))


def check_functions(template: Template, functions: dict) -> list[str]:
    """Problems with calls: unknown function names, arguments that do not fit the signature."""
    problems = []
    for part in template.parts:
        if isinstance(part, str):
            continue
        for node in ast.walk(part):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id
            if name not in functions:
                known = ", ".join(sorted(functions))
                problems.append(f"unknown computed function '{name}' (known: {known})")
                continue
            try:
                inspect.signature(functions[name]).bind(*node.args, **{k.arg: k.value for k in node.keywords})
            except TypeError as exc:
                problems.append(f"{name}(): {exc}")
    return problems


def to_bytes(value, what: str = "value") -> bytes:
    """A placeholder's value as bytes: bytes as is, text as hex, int as one byte."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, int) and 0 <= value <= 255:
        return bytes([value])
    if isinstance(value, str):
        cleaned = "".join(value.split())
        try:
            return bytes.fromhex(cleaned)
        except ValueError:
            raise TemplateError(f"{what} = {value!r} is not hex") from None
    raise TemplateError(f"{what} = {value!r} cannot be put into an APDU")


def _literal(chunk: str) -> str:
    if not _HEXCHARS.fullmatch(chunk):
        bad = next(c for c in chunk if not (c.isspace() or c in "0123456789abcdefABCDEF"))
        raise TemplateError(f"bad hex: {bad!r} in {chunk.strip()!r}")
    digits = "".join(chunk.split()).upper()
    if len(digits) % 2:
        raise TemplateError(f"bad hex: odd number of digits in {chunk.strip()!r}")
    return digits


@functools.lru_cache(maxsize=8192)
def _expression(source: str):
    # cached: the suite repeats the same placeholders hundreds of times, and the tree is only read
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:
        raise TemplateError(f"bad placeholder ${{{source}}}: {exc.msg}") from None
    for node in ast.walk(tree):
        allowed = (ast.Name, ast.Constant, ast.Call, ast.Subscript, ast.Slice, ast.Load, ast.keyword,
                   ast.UnaryOp, ast.USub)
        if not isinstance(node, allowed):
            raise TemplateError(f"bad placeholder ${{{source}}}: '{ast.unparse(node)}' is not allowed")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise TemplateError(f"bad placeholder ${{{source}}}: name '{node.id}' is not allowed")
        if isinstance(node, ast.Call) and not isinstance(node.func, ast.Name):
            raise TemplateError(f"bad placeholder ${{{source}}}: call a function by its name")
        if isinstance(node, ast.Subscript) and not isinstance(node.value, (ast.Name, ast.Call)):
            raise TemplateError(f"bad placeholder ${{{source}}}: only a variable or a call can be sliced")
        if isinstance(node, ast.Constant) and not isinstance(node.value, (str, int)) or \
                isinstance(node, ast.Constant) and isinstance(node.value, bool):
            raise TemplateError(f"bad placeholder ${{{source}}}: constant {node.value!r} not allowed")
    return tree


def _is_callee(tree, name_node) -> bool:
    return any(isinstance(n, ast.Call) and n.func is name_node for n in ast.walk(tree))


def _evaluate(node, variables: dict, functions: dict):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp):
        return -_evaluate(node.operand, variables, functions)
    if isinstance(node, ast.Name):
        if node.id not in variables:
            raise TemplateError(f"variable '{node.id}' has no value (not captured yet?)")
        return variables[node.id]
    if isinstance(node, ast.Subscript):
        value = _evaluate(node.value, variables, functions)
        value = to_bytes(value, ast.unparse(node.value)) if isinstance(value, str) else value
        index = node.slice
        if isinstance(index, ast.Slice):
            lower = _evaluate(index.lower, variables, functions) if index.lower else None
            upper = _evaluate(index.upper, variables, functions) if index.upper else None
            return value[lower:upper]
        return bytes([value[_evaluate(index, variables, functions)]])
    args = [_evaluate(a, variables, functions) for a in node.args]
    kwargs = {k.arg: _evaluate(k.value, variables, functions) for k in node.keywords}
    return functions[node.func.id](*args, **kwargs)
