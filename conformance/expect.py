"""Expectations of a step: status word (exact, nibble mask, or a set) and data (exact, under a
mask, regex, length, TLV objects). Checking one gives every mismatch, not only the first, and
the expected bytes in a form a report can put beside the actual ones.

A regex runs on the `regex` engine with a time limit (conformance.limits): one that backtracks
without end raises RegexTimeout, which makes the step ERROR rather than hang the run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from simulator import tlv as tlvlib
from simulator.sw import sw_matches

from .limits import REGEX_TIMEOUT, RegexTimeout, clip, clip_hex, compile_regex, regex_search
from .template import Template, TemplateError, parse as parse_template, to_bytes

SW_PATTERN = re.compile(r"^[0-9A-Fa-fxX]{4}$")


class ExpectationError(ValueError):
    """An expectation that cannot be built (bad hex, bad regex...). Carries the field name."""

    def __init__(self, where: str, message: str):
        super().__init__(message)
        self.where = where


@dataclass
class Outcome:
    """The result of checking one response against an expectation."""

    mismatches: list[str] = field(default_factory=list)
    expected: dict = field(default_factory=dict)  # rendered expectation (hex text), for reports
    differing: list[int] = field(default_factory=list)  # indexes of actual data bytes that differ

    @property
    def ok(self) -> bool:
        return not self.mismatches


@dataclass
class Expectation:
    sw: tuple[str, ...] = ()
    data: Template | None = None
    mask_value: Template | None = None
    mask: bytes | None = None
    regex: object = None  # a compiled pattern of the `regex` engine
    length: tuple[int, int] | None = None
    tlv: dict[str, Template | None] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, spec: dict) -> "Expectation":
        """Build from the `expect:` mapping of a vector (already schema-valid)."""
        exp = cls()
        sw = spec.get("sw")
        if sw is not None:
            patterns = [sw] if isinstance(sw, str) else list(sw)
            for p in patterns:
                if not SW_PATTERN.match(str(p)):
                    raise ExpectationError("sw", f"bad status word pattern {clip(p)} (4 hex digits, x = any nibble)")
            exp.sw = tuple(str(p).upper().replace("X", "x") for p in patterns)
        if "data" in spec:
            exp.data = _template("data", spec["data"] or "")
        if "mask" in spec:
            exp.mask_value = _template("mask.value", spec["mask"]["value"])
            try:
                exp.mask = bytes.fromhex("".join(str(spec["mask"]["mask"]).split()))
            except ValueError:
                raise ExpectationError("mask.mask", f"bad hex in mask {clip(spec['mask']['mask'])}") from None
            if exp.mask_value.is_constant and len(exp.mask_value.render({}, {})) != len(exp.mask):
                raise ExpectationError("mask", "mask.value and mask.mask must have the same length")
        if "regex" in spec:
            try:
                exp.regex = compile_regex(str(spec["regex"]))
            except ValueError as exc:
                raise ExpectationError("regex", str(exc)) from None
        if "length" in spec:
            length = spec["length"]
            exp.length = (length, length) if isinstance(length, int) else (length.get("min", 0), length.get("max", 65536))
        for path, value in (spec.get("tlv") or {}).items():
            if not re.fullmatch(r"[0-9A-Fa-f]{2,6}(/[0-9A-Fa-f]{2,6})*", path):
                raise ExpectationError("tlv", f"bad TLV path {clip(path)} (tags in hex, nested with '/')")
            exp.tlv[path.upper()] = None if value is None else _template(f"tlv.{path}", value)
        return exp

    def templates(self):
        """Every template inside (the loader checks their variables and functions)."""
        found = [t for t in (self.data, self.mask_value) if t is not None]
        return found + [t for t in self.tlv.values() if t is not None]

    def check(self, sw: int | None, data: bytes, variables: dict, functions: dict,
              regex_seconds: float = REGEX_TIMEOUT) -> Outcome:
        """Raises RegexTimeout when the regex takes longer than `regex_seconds`."""
        out = Outcome()
        if self.sw:
            out.expected["sw"] = list(self.sw)
            if sw is None or not any(sw_matches(p, sw) for p in self.sw):
                got = "no status word" if sw is None else f"{sw:04X}"
                out.mismatches.append(f"SW {got}, expected {' or '.join(self.sw)}")
        if self.data is not None:
            want = self.data.render(variables, functions)
            out.expected["data"] = want.hex().upper()
            if data != want:
                out.mismatches.append(f"data differs from expected ({len(data)} bytes, expected {len(want)})")
                out.differing = diff_positions(want, data)
        if self.mask_value is not None:
            want = self.mask_value.render(variables, functions)
            out.expected["mask"] = {"value": want.hex().upper(), "mask": self.mask.hex().upper()}
            diff = diff_positions(want, data, self.mask)
            if len(data) != len(want):
                out.mismatches.append(f"data has {len(data)} bytes, the masked value {len(want)}")
            elif diff:
                out.mismatches.append(f"data differs under the mask at byte(s) {_ranges(diff)}")
            out.differing = sorted(set(out.differing) | set(diff))
        if self.regex is not None:
            out.expected["regex"] = self.regex.pattern
            if not regex_search(self.regex, data.hex().upper(), regex_seconds):
                out.mismatches.append(f"data does not match regex {clip(self.regex.pattern)}")
        if self.length is not None:
            low, high = self.length
            out.expected["length"] = low if low == high else {"min": low, "max": high}
            if not low <= len(data) <= high:
                want_text = str(low) if low == high else f"{low}..{high}"
                out.mismatches.append(f"data length {len(data)}, expected {want_text}")
        if self.tlv:
            out.expected["tlv"] = {}
            self._check_tlv(data, variables, functions, out)
        return out

    def _check_tlv(self, data, variables, functions, out: Outcome) -> None:
        try:
            items = tlvlib.parse(data)
        except (tlvlib.TLVError, IndexError) as exc:
            items = []
            out.mismatches.append(f"data is not BER-TLV: {exc}")
        except RecursionError:  # a card's answer of constructed objects inside each other, 1000 deep
            items = []
            out.mismatches.append("data is not BER-TLV: constructed objects nested too deep")
        for path, template in self.tlv.items():
            want = None if template is None else template.render(variables, functions)
            out.expected["tlv"][path] = None if want is None else want.hex().upper()
            try:
                found = tlvlib.find(items, path)
            except RecursionError:
                found = None
            if found is None:
                out.mismatches.append(f"TLV {path} missing")
            elif want is not None and found.value != want:
                out.mismatches.append(f"TLV {path} = {clip_hex(found.value)}, expected {clip_hex(want)}")


def diff_positions(expected: bytes, actual: bytes, mask: bytes | None = None) -> list[int]:
    """Indexes of actual bytes that differ (under the mask); extra or missing bytes count too."""
    positions = []
    for i in range(max(len(expected), len(actual))):
        if i >= len(expected) or i >= len(actual):
            if i < len(actual) or mask is None or mask[i]:
                positions.append(i)
            continue
        m = 0xFF if mask is None else mask[i]
        if (expected[i] ^ actual[i]) & m:
            positions.append(i)
    return positions


def _template(where: str, value) -> Template:
    try:
        return parse_template(str(value))
    except TemplateError as exc:
        raise ExpectationError(where, str(exc)) from None


def _ranges(positions: list[int]) -> str:
    shown = ", ".join(str(p) for p in positions[:8])
    return shown + (", ..." if len(positions) > 8 else "")


__all__ = ["Expectation", "ExpectationError", "Outcome", "RegexTimeout", "diff_positions", "to_bytes"]
