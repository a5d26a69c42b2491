"""`-k` selection, as in pytest: words matched as case-insensitive substrings of a case's id and
title, combined with `and`, `or`, `not` and parentheses. `-k "SEL and not t1"`.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")


class SelectionError(ValueError):
    pass


MAX_NESTING = 50  # parentheses and `not`s inside each other; deeper is refused, not recursed into


class Selection:
    """A compiled -k expression; `matches(text)` tells whether a case is selected."""

    def __init__(self, expression: str | None):
        self.expression = (expression or "").strip()
        self._tokens = _TOKEN.findall(self.expression)
        self._pos = 0
        self._depth = 0
        self._tree = self._parse_or() if self._tokens else ("true",)
        if self._pos != len(self._tokens):
            token = self._tokens[self._pos]
            hint = "" if token in ("(", ")", "and", "or", "not") else " (join words with and, or)"
            raise self._error(f"unexpected '{token[:40]}'{hint}")

    def matches(self, *texts: str) -> bool:
        haystack = " ".join(texts).lower()
        return _eval(self._tree, haystack)

    def _error(self, what: str) -> SelectionError:
        shown = self.expression if len(self.expression) <= 80 else self.expression[:77] + "..."
        return SelectionError(f"-k {shown!r}: {what}")

    # Grammar: or := and ("or" and)* ; and := not ("and" not)* ; not := "not" not | atom
    # and/or nodes hold all their operands in one list: a long chain is not a deep tree.
    def _peek(self):
        return self._tokens[self._pos] if self._pos < len(self._tokens) else None

    def _take(self):
        token = self._peek()
        if token is None:
            raise self._error("ends too early (a word, 'not' or '(' is missing at the end)")
        self._pos += 1
        return token

    def _parse_or(self):
        nodes = [self._parse_and()]
        while self._peek() == "or":
            self._take()
            nodes.append(self._parse_and())
        return nodes[0] if len(nodes) == 1 else ("or", nodes)

    def _parse_and(self):
        nodes = [self._parse_not()]
        while self._peek() == "and":
            self._take()
            nodes.append(self._parse_not())
        return nodes[0] if len(nodes) == 1 else ("and", nodes)

    def _parse_not(self):
        self._depth += 1
        if self._depth > MAX_NESTING:
            raise self._error(f"nested more than {MAX_NESTING} deep")
        try:
            if self._peek() == "not":
                self._take()
                return ("not", self._parse_not())
            token = self._take()
            if token == "(":
                node = self._parse_or()
                if self._peek() != ")":
                    raise self._error("missing ')'")
                self._take()
                return node
            if token in (")", "and", "or"):
                raise self._error(f"unexpected '{token}'")  # an operator where a word belongs
            return ("word", token.lower())
        finally:
            self._depth -= 1


def _eval(node, haystack: str) -> bool:
    kind = node[0]
    if kind == "true":
        return True
    if kind == "word":
        return node[1] in haystack
    if kind == "not":
        return not _eval(node[1], haystack)
    if kind == "and":
        return all(_eval(n, haystack) for n in node[1])
    return any(_eval(n, haystack) for n in node[1])
