"""`-k` selection, as in pytest: words matched as case-insensitive substrings of a case's id and
title, combined with `and`, `or`, `not` and parentheses. `-k "SEL and not t1"`.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")


class SelectionError(ValueError):
    pass


class Selection:
    """A compiled -k expression; `matches(text)` tells whether a case is selected."""

    def __init__(self, expression: str | None):
        self.expression = (expression or "").strip()
        self._tokens = _TOKEN.findall(self.expression)
        self._pos = 0
        self._tree = self._parse_or() if self._tokens else ("true",)
        if self._pos != len(self._tokens):
            raise SelectionError(f"-k: unexpected '{self._tokens[self._pos]}' in {self.expression!r}")

    def matches(self, *texts: str) -> bool:
        haystack = " ".join(texts).lower()
        return _eval(self._tree, haystack)

    # Grammar: or := and ("or" and)* ; and := not ("and" not)* ; not := "not" not | atom
    def _peek(self):
        return self._tokens[self._pos] if self._pos < len(self._tokens) else None

    def _take(self):
        token = self._peek()
        if token is None:
            raise SelectionError(f"-k: expression ends too early: {self.expression!r}")
        self._pos += 1
        return token

    def _parse_or(self):
        node = self._parse_and()
        while self._peek() == "or":
            self._take()
            node = ("or", node, self._parse_and())
        return node

    def _parse_and(self):
        node = self._parse_not()
        while self._peek() == "and":
            self._take()
            node = ("and", node, self._parse_not())
        return node

    def _parse_not(self):
        if self._peek() == "not":
            self._take()
            return ("not", self._parse_not())
        token = self._take()
        if token == "(":
            node = self._parse_or()
            if self._take() != ")":
                raise SelectionError(f"-k: missing ')' in {self.expression!r}")
            return node
        if token in (")", "and", "or"):
            raise SelectionError(f"-k: unexpected '{token}' in {self.expression!r}")
        return ("word", token.lower())


def _eval(node, haystack: str) -> bool:
    kind = node[0]
    if kind == "true":
        return True
    if kind == "word":
        return node[1] in haystack
    if kind == "not":
        return not _eval(node[1], haystack)
    if kind == "and":
        return _eval(node[1], haystack) and _eval(node[2], haystack)
    return _eval(node[1], haystack) or _eval(node[2], haystack)
