"""YAML of vector files to plain Python objects with the line of every node (for `file:line:`
messages): the strict reader the card images use too (simulator/strict_yaml.py), plus the keys
whose plain values stay text in vector files.
"""

from __future__ import annotations

from simulator.strict_yaml import Located, YamlError, load as _load

# Keys whose values are hex (or SW patterns): a plain scalar there keeps its text exactly, so
# `sw: 9000` or `apdu: 0084000008` are not turned into integers (and `04` not into 4).
HEX_KEYS = frozenset({"sw", "apdu", "data", "value", "mask", "tlv", "key", "vars", "atr"})

__all__ = ["HEX_KEYS", "Located", "YamlError", "load"]


def load(text: str) -> Located:
    """Parse one vector file's YAML; raises YamlError (line, what) when it cannot be read."""
    return _load(text, raw_keys=HEX_KEYS)
