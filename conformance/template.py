"""Hex templates: `0082000410 ${ext_auth("04", challenge)}`, `00B2${rec}2C00`.

A template is literal hex (spaces allowed) with `${...}` placeholders. A placeholder holds a
variable (`challenge`), a string or number constant, a call of a named function of
`conformance.compute` whose arguments are again such expressions, or a slice of a variable or
a call (`challenge[0:4]`, `ext_auth("0A", challenge)[0:8]`). The
grammar is checked with `ast` against a whitelist when the vector file loads; nothing is `eval`ed.

Results are bounded (conformance.limits): a template, and every value inside it, gives at most
MAX_VALUE bytes. A size the text tells (literal hex, `pad(x, 1500000000)`) is refused when the file
loads; any other is refused when the case runs, before the bytes are built where it can be.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
from dataclasses import dataclass

from .limits import MAX_VALUE, clip, shorten

_PLACEHOLDER = re.compile(r"\$\{([^{}]*)\}")
_HEXCHARS = re.compile(r"[0-9A-Fa-f\s]*")
_MAX_DEPTH = 12  # nesting of calls and slices in one placeholder; the vectors use 4
_OVER = f"over the limit of {MAX_VALUE} bytes (the longest extended APDU)"


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
                except TemplateError as exc:
                    raise TemplateError(f"{_shown(part)}: {exc}") from None
                except (TypeError, KeyError, IndexError, OverflowError, ValueError) as exc:
                    # The vector's expression does not fit its values (a slice of a number, an
                    # unknown DF in fci()...): the vector is wrong, the tool did not crash.
                    raise TemplateError(f"{_shown(part)}: {type(exc).__name__}: {shorten(exc)}") from None
                out += to_bytes(value, ast.unparse(part))
            if len(out) > MAX_VALUE:
                raise TemplateError(f"the template gives {len(out)} bytes at {_shown(part)}, {_OVER}")
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
    template = Template(text, tuple(p for p in parts if p != ""))
    _check_size(template)
    return template


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
                problems.append(f"unknown computed function {clip(name)} (known: {known})")
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
            raise TemplateError(f"{clip(what)} = {clip(value)} is not hex") from None
    raise TemplateError(f"{clip(what)} = {clip(value)} cannot be put into an APDU")


def _literal(chunk: str) -> str:
    if not _HEXCHARS.fullmatch(chunk):
        bad = next(c for c in chunk if not (c.isspace() or c in "0123456789abcdefABCDEF"))
        raise TemplateError(f"bad hex: {bad!r} in {clip(chunk.strip())}")
    digits = "".join(chunk.split()).upper()
    if len(digits) % 2:
        raise TemplateError(f"bad hex: odd number of digits in {clip(chunk.strip())}")
    return digits


@functools.lru_cache(maxsize=8192)
def _expression(source: str):
    # cached: the suite repeats the same placeholders hundreds of times, and the tree is only read
    bad = f"bad placeholder {shorten('${' + source + '}', 80)}"
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:  # also "too many nested parentheses" and numbers of > 4300 digits
        raise TemplateError(f"{bad}: {shorten(exc.msg, 100)}") from None
    except (RecursionError, MemoryError):  # thousands of unary minus signs
        raise TemplateError(f"{bad}: nested too deep") from None
    for node in ast.walk(tree):
        allowed = (ast.Name, ast.Constant, ast.Call, ast.Subscript, ast.Slice, ast.Load, ast.keyword,
                   ast.UnaryOp, ast.USub)
        if not isinstance(node, allowed):
            raise TemplateError(f"{bad}: {clip(ast.unparse(node))} is not allowed")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise TemplateError(f"{bad}: name {clip(node.id)} is not allowed")
        if isinstance(node, ast.Call) and not isinstance(node.func, ast.Name):
            raise TemplateError(f"{bad}: call a function by its name")
        if isinstance(node, ast.Subscript) and not isinstance(node.value, (ast.Name, ast.Call)):
            raise TemplateError(f"{bad}: only a variable or a call can be sliced")
        if isinstance(node, ast.Constant) and not isinstance(node.value, (str, int)) or \
                isinstance(node, ast.Constant) and isinstance(node.value, bool):
            raise TemplateError(f"{bad}: constant {clip(node.value)} not allowed")
    if _depth(tree) > _MAX_DEPTH:
        raise TemplateError(f"{bad}: nested deeper than {_MAX_DEPTH} levels")
    return tree


def _depth(node) -> int:
    children = [c for c in ast.iter_child_nodes(node) if not isinstance(c, (ast.Load, ast.USub))]
    return 1 + max((_depth(c) for c in children), default=0)


def _check_size(template: Template) -> None:
    """Refuse, at load time, a template whose size the text tells and is over the limit."""
    total = 0
    for part in template.parts:
        size = len(part) // 2 if isinstance(part, str) else _size_bound(part)
        if size is not None and size > MAX_VALUE:
            what = "its literal hex" if isinstance(part, str) else _shown(part)
            raise TemplateError(f"{what} gives {size} bytes, {_OVER}")
        total += size or 0
        if total > MAX_VALUE:
            raise TemplateError(f"the template gives at least {total} bytes, {_OVER}")


def _size_bound(node) -> int | None:
    """Bytes an expression gives, when its text tells (constants, pad, join, lc); else None."""
    if isinstance(node, ast.Constant):
        return len("".join(node.value.split())) // 2 if isinstance(node.value, str) else 1
    if not isinstance(node, ast.Call):
        return None
    args = {**dict(enumerate(node.args)), **{k.arg: k.value for k in node.keywords}}
    if node.func.id == "pad":
        length = args.get(1, args.get("length"))
        if isinstance(length, ast.Constant) and isinstance(length.value, int):
            value = _size_bound(args[0]) if 0 in args else None
            return max(length.value, value or 0)
    if node.func.id in ("join", "lc"):
        sizes = [_size_bound(a) for a in node.args]
        if sizes and None not in sizes:
            return sum(sizes) + (node.func.id == "lc")
    return None


def _shown(part) -> str:
    return shorten("${" + ast.unparse(part) + "}", 80)


def _is_callee(tree, name_node) -> bool:
    return any(isinstance(n, ast.Call) and n.func is name_node for n in ast.walk(tree))


def _evaluate(node, variables: dict, functions: dict):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp):
        return -_evaluate(node.operand, variables, functions)
    if isinstance(node, ast.Name):
        if node.id not in variables:
            raise TemplateError(f"variable {clip(node.id)} has no value (not captured yet?)")
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
    value = functions[node.func.id](*args, **kwargs)
    if isinstance(value, (bytes, bytearray)) and len(value) > MAX_VALUE:
        raise TemplateError(f"{node.func.id}() gave {len(value)} bytes, {_OVER}")
    return value
