"""Strict YAML for files from outside (card images, vector files): every value as the user wrote it,
every node's line remembered, all work bounded.

- Scalars by YAML 1.2 core rules, stricter where 1.2 would still lose what was written: quoted text
  is text; a plain scalar is null (`~`, `null`, empty), a boolean (`true`/`false` only: never
  `yes`/`no`/`on`/`off`), a whole number only when it reads back the same (`42`, `-7`; never octal
  or sexagesimal: `0510630` and `012345` stay text), a decimal like `1.5`, else text (`6E00`,
  `0x1F`, `1_000` are text). Explicit tags (`!!int`, `!!binary`, `!python/...`) are refused.
- Bounded: the document's size, its nesting depth, and the values aliases may expand to (a
  338-byte alias bomb is refused at once; an alias inside itself too).
- Lines: `Located.lines` maps each path (a tuple of keys and list indexes) to its 1-based line;
  a key's path points at the key.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field

import yaml

from .quote import clip

MAX_BYTES = 16 * 1024 * 1024  # a card image with every file full is well under 1 MB
MAX_DEPTH = 64  # card images nest 5 deep, vector files 8
EXPANSION_ALLOWANCE = 100_000  # values aliases may add beyond what the text itself holds

_PARSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where it is there: same marks, faster
_STR, _SEQ, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
_NULL = {"", "~", "null", "Null", "NULL"}
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"0|-?[1-9][0-9]*")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+")


class _Plain(_PARSER):
    """The parser without YAML 1.1 implicit typing: an untagged node keeps the default tag, so a
    tag other than str/seq/map can only have been written in the file (and is refused)."""

    yaml_implicit_resolvers: dict = {}


class YamlError(ValueError):
    """The document cannot be read: `line` (1-based; None: the file as a whole) and `what` is wrong."""

    def __init__(self, line: int | None, what: str):
        super().__init__(f"{line}: {what}" if line else what)
        self.line, self.what = line, what


def read_bounded(path, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most `max_bytes`; YamlError (no line) for anything else:
    a FIFO is not waited on, /dev/zero not read for ever."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise YamlError(None, f"cannot read {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise YamlError(None, f"{path} is not a regular file")
        try:
            data = f.read(max_bytes + 1)
        except OSError as exc:
            raise YamlError(None, f"cannot read {path}: {exc.strerror}") from None
    if len(data) > max_bytes:
        raise YamlError(None, f"{path} is more than {max_bytes:,} bytes")
    return data


@dataclass
class Located:
    """A loaded document plus the line (1-based) of each path in it."""

    data: object
    lines: dict[tuple, int] = field(default_factory=dict)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, message): keys, duplicates

    def line_of(self, path) -> int:
        """Line of the deepest existing prefix of `path` (an error inside a value points at it)."""
        path = tuple(path)
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)


def load(text: str, raw_keys: frozenset = frozenset(), max_bytes: int = MAX_BYTES,
         max_depth: int = MAX_DEPTH) -> Located:
    """Parse one YAML document. Under a key in `raw_keys` (hex and status words in vectors) a plain
    scalar other than null/true/false stays text. Raises YamlError."""
    size = len(text.encode("utf-8", "surrogatepass")) if len(text) * 4 > max_bytes else len(text)
    if size > max_bytes:
        raise YamlError(1, f"the document is {size:,} bytes, more than the {max_bytes:,} allowed")
    try:
        node = yaml.compose(text, Loader=_Plain)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        if "nesting depth" in str(problem):
            raise YamlError(mark.line + 1 if mark else 1, "YAML nested too deep") from None
        raise YamlError(mark.line + 1 if mark else 1, f"YAML syntax: {problem}") from None
    except RecursionError:  # the pure-Python composer, without libyaml
        raise YamlError(1, "YAML nested too deep") from None
    located = Located(None)
    if node is not None:
        builder = _Builder(located, raw_keys, max_depth, len(text) + EXPANSION_ALLOWANCE)
        located.data = builder.build(node, (), False)
    return located


class _Builder:
    def __init__(self, out: Located, raw_keys: frozenset, max_depth: int, budget: int):
        self.out, self.raw_keys, self.max_depth, self.budget = out, raw_keys, max_depth, budget
        self.open: set[int] = set()  # collections being built: an alias to one of them is a loop

    def build(self, node, path: tuple, raw: bool):
        line = self.out.lines.setdefault(path, node.start_mark.line + 1)  # a key's line if it has one
        self.budget -= 1
        if self.budget < 0:
            raise YamlError(line, "aliases expand to too many values (an alias bomb?)")
        if len(path) > self.max_depth:
            raise YamlError(line, f"YAML nested too deep (more than {self.max_depth} levels)")
        if isinstance(node, yaml.ScalarNode):
            if node.tag != _STR:
                raise YamlError(line, f"YAML tags are not allowed here ({_tag_name(node.tag)}): write the value plainly")
            return _scalar(node, raw)
        if node.tag not in (_SEQ, _MAP):
            raise YamlError(line, f"YAML tags are not allowed here ({_tag_name(node.tag)})")
        if id(node) in self.open:
            raise YamlError(line, "an alias refers to the collection it is inside (a loop)")
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, path + (i,), raw) for i, item in enumerate(node.value)]
            return self._mapping(node, path, raw)
        finally:
            self.open.discard(id(node))

    def _mapping(self, node, path: tuple, raw: bool) -> dict:
        result: dict = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            key = _key(key_node)
            if key is None:
                self.out.problems.append((key_line, "mapping keys must be plain text"))
                continue
            if key in result:
                self.out.problems.append((key_line, f"duplicate key {clip(key)}"))
            child = path + (key,)
            self.out.lines[child] = key_line  # errors about a key point at the key
            result[key] = self.build(value_node, child, raw or key in self.raw_keys)
        return result


def _key(node) -> str | None:
    """A mapping key as text: a scalar that is not null or a boolean (`01:` stays "01")."""
    if not isinstance(node, yaml.ScalarNode) or node.tag != _STR:
        return None
    if not node.style and (node.value in _NULL or node.value in _BOOL):
        return None
    return node.value


def _scalar(node: yaml.ScalarNode, raw: bool):
    text = node.value
    if node.style:  # quoted or block scalar: always text (plain is None, or "" from libyaml)
        return text
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if raw:
        return text
    if _INT.fullmatch(text) and len(text) <= 4000:  # longer: Python's int() refuses it; it is text
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def _tag_name(tag: str) -> str:
    name = tag.replace("tag:yaml.org,2002:", "!!")
    return name if len(name) <= 60 else name[:59] + "…"
