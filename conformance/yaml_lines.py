"""YAML to plain Python objects, remembering the line of every node (for `file:line:` messages).

PyYAML's composer gives each node a start mark; we build the objects ourselves from the node
tree so every value can be traced back to its line by its path (a tuple of keys and indexes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

# Keys whose values are hex (or SW patterns): a plain scalar there keeps its text exactly, so
# `sw: 9000` or `apdu: 0084000008` are not turned into integers (and `04` not into 4).
HEX_KEYS = frozenset({"sw", "apdu", "data", "value", "mask", "tlv", "key", "vars", "atr"})

_bool_null = yaml.SafeLoader("")  # a resolver/constructor for the few non-string plain scalars


@dataclass
class Located:
    """A loaded document plus the line (1-based) of each path in it."""

    data: object
    lines: dict[tuple, int] = field(default_factory=dict)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, message) found while loading

    def line_of(self, path) -> int:
        """Line of the deepest existing prefix of `path` (an error inside a value points at it)."""
        path = tuple(path)
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)


# libyaml's parser where it is there: it gives the same nodes and marks, several times faster
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str) -> Located:
    """Parse one YAML document; raises yaml.YAMLError (with its own mark) on syntax errors."""
    node = yaml.compose(text, Loader=_LOADER)
    located = Located(None)
    if node is not None:
        located.data = _build(node, (), located, raw=False)
    return located


def _build(node, path: tuple, out: Located, raw: bool):
    out.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, raw=True) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                out.problems.append((key_node.start_mark.line + 1, "mapping keys must be plain text"))
                continue
            if key in result:
                out.problems.append((key_node.start_mark.line + 1, f"duplicate key '{key}'"))
            child = path + (key,)
            result[key] = _build(value_node, child, out, raw=raw or key in HEX_KEYS)
            out.lines[child] = key_node.start_mark.line + 1  # errors about a key point at the key
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), out, raw) for i, item in enumerate(node.value)]
    return _scalar(node, raw)


def _scalar(node: yaml.ScalarNode, raw: bool):
    if node.style:  # quoted or block scalar: always text (plain is None, or "" from libyaml)
        return node.value
    tag = _bool_null.resolve(yaml.ScalarNode, node.value, (True, False))
    if tag in ("tag:yaml.org,2002:null", "tag:yaml.org,2002:bool"):
        return _bool_null.construct_object(yaml.ScalarNode(tag, node.value))
    if raw:
        return node.value
    if tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and node.value.isdigit():
        return int(node.value, 10)  # decimal only: YAML 1.1 would read 010 as octal
    if tag == "tag:yaml.org,2002:float":
        return float(node.value)
    return node.value
