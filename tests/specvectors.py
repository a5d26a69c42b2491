"""The test vectors written in the spec: every fenced ```vector block of a Markdown file.

Block format (spec §0.2): the first line is `vector : NAME`, each further line `FIELD = value`.
Values stay text; `SpecVector.hex(field)` turns one into bytes with an error naming the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SPEC_RELATIVE = Path("docs") / "spec" / "ssc-card.md"

_NAME_LINE = re.compile(r"^vector\s*:\s*(\S+)\s*$")
_FIELD_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


class SpecVectorError(ValueError):
    """A malformed vector block; the message starts with `file:line:`."""

    def __init__(self, source: str, line: int, message: str):
        super().__init__(f"{source}:{line}: {message}")
        self.source, self.line = source, line


@dataclass(frozen=True)
class SpecVector:
    name: str
    type: str
    fields: dict[str, str]
    source: str = "<string>"
    line: int = 0                                    # line of `vector : NAME` (1-based)
    field_lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"

    def hex(self, name: str) -> bytes:
        """The field as bytes; SpecVectorError (naming the field's line) if it is not hex."""
        value = self.fields[name]
        try:
            return bytes.fromhex(value)
        except ValueError:
            raise SpecVectorError(self.source, self.field_lines.get(name, self.line),
                                  f"{self.name}: field {name} is not hex: {value!r}") from None


def parse_vectors(text: str, source: str = "<string>") -> list[SpecVector]:
    """Every ```vector block of the Markdown text, in order."""
    vectors: list[SpecVector] = []
    seen: dict[str, int] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```vector":
            i += 1
            continue
        fence = i + 1
        body: list[tuple[int, str]] = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append((i + 1, lines[i]))
            i += 1
        if i == len(lines):
            raise SpecVectorError(source, fence, "vector block is not closed with ```")
        i += 1
        vector = _parse_block(body, source, fence)
        if vector.name in seen:
            raise SpecVectorError(source, vector.line, f"vector {vector.name} already defined "
                                                       f"at line {seen[vector.name]}")
        seen[vector.name] = vector.line
        vectors.append(vector)
    return vectors


def _parse_block(body: list[tuple[int, str]], source: str, fence: int) -> SpecVector:
    body = [(n, text) for n, text in body if text.strip()]
    if not body:
        raise SpecVectorError(source, fence, "empty vector block")
    first_line, first = body[0]
    match = _NAME_LINE.match(first.strip())
    if not match:
        raise SpecVectorError(source, first_line,
                              f"expected 'vector : NAME', got {first.strip()!r}")
    name = match.group(1)
    fields: dict[str, str] = {}
    field_lines: dict[str, int] = {}
    for number, text in body[1:]:
        match = _FIELD_LINE.match(text.strip())
        if not match:
            raise SpecVectorError(source, number,
                                  f"{name}: expected 'FIELD = value', got {text.strip()!r}")
        key, value = match.groups()
        if key in fields or key == "vector":
            raise SpecVectorError(source, number, f"{name}: field {key} given twice")
        if not value:
            raise SpecVectorError(source, number, f"{name}: field {key} has no value")
        fields[key], field_lines[key] = value, number
    if "type" not in fields:
        raise SpecVectorError(source, first_line, f"{name}: no 'type = ...' line")
    vtype = fields.pop("type")
    field_lines.pop("type")
    return SpecVector(name, vtype, fields, source, first_line, field_lines)


def find_spec(start: Path | None = None) -> Path:
    """docs/spec/ssc-card.md in the first folder above this module (or `start`) that has it."""
    here = (start or Path(__file__)).resolve()
    for folder in [here, *here.parents]:
        candidate = folder / SPEC_RELATIVE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{SPEC_RELATIVE} not found in any folder above {here}; "
                            f"pass the spec path explicitly")


def load_spec_vectors(path: str | Path | None = None) -> list[SpecVector]:
    """The vectors of the reference spec (default: the repository's docs/spec/ssc-card.md)."""
    spec = Path(path) if path is not None else find_spec()
    return parse_vectors(spec.read_text(encoding="utf-8"), str(spec))
