"""Vector files: load YAML with line numbers, validate against vectors/schema.json, check what a
schema cannot (hex, placeholders, computed functions, variables, duplicate ids), and build the
cases the runner executes. Every problem of every file is reported as `file:line: what`; a suite
with any problem does not run (VectorError carries them all).
"""

from __future__ import annotations

import functools

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema

from simulator.strict_yaml import read_bounded

from . import compute, yaml_lines
from .applicability import Applicability, ApplicabilityError
from .expect import Expectation, ExpectationError
from .limits import clip, shorten
from .template import Template, TemplateError, check_functions, parse as parse_template

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "vectors" / "schema.json"
DEFAULT_VECTORS = SCHEMA_PATH.parent
CAPTURE = re.compile(r"^(data|sw|atr)(\[(-?\d*):(-?\d*)\]|\[(-?\d+)\])?$")
PD_REF = re.compile(r"\bPD-(\d{2})\b")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class VectorError(Exception):
    """The suite is broken; `problems` lists every problem found, in file and line order."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class Step:
    line: int
    apdu: Template | None = None  # None for a reset step
    expect: Expectation | None = None
    capture: dict[str, str] = field(default_factory=dict)
    raw: bool = False
    title: str = ""

    @property
    def is_reset(self) -> bool:
        return self.apdu is None


@dataclass
class Precondition:
    kind: str  # reset | select | authenticate | verify_pin
    arg: object = None
    line: int = 0

    def __str__(self) -> str:
        if isinstance(self.arg, dict):  # authenticate: {key, version}
            version = self.arg.get("version", 1)
            return f"{self.kind} key {self.arg['key']}" + (f" version {version:02X}" if version != 1 else "")
        return self.kind if self.arg is None else f"{self.kind} {self.arg}"


@dataclass
class Case:
    id: str
    title: str
    ref: list[str]
    labels: list[str]
    applies: Applicability
    preconditions: list[Precondition]
    steps: list[Step]
    cleanup: list[Step]
    vars: dict[str, str]
    file: str
    line: int
    timeout: float | None = None

    @property
    def area(self) -> str:
        return self.id.split(".")[1]


@dataclass
class VectorFile:
    path: str
    area: str
    title: str
    cases: list[Case]
    sha256: str
    ids: list[tuple[str, str, int]] = field(default_factory=list)  # (file, id, line), broken cases too


@dataclass
class Suite:
    files: list[VectorFile]

    @property
    def cases(self) -> list[Case]:
        return [case for f in self.files for case in f.cases]

    @property
    def version(self) -> str:
        """A content hash of all files: two runs with the same version ran the same vectors."""
        digest = hashlib.sha256("".join(f"{f.path}:{f.sha256}\n" for f in self.files).encode())
        return digest.hexdigest()[:16]

    def hashes(self) -> dict[str, str]:
        return {f.path: f.sha256 for f in self.files}


def load_suite(source=None, schema_path: Path = SCHEMA_PATH) -> Suite:
    """Load a directory of *.yaml vector files (or a list of files). Raises VectorError."""
    source = DEFAULT_VECTORS if source is None else source
    if isinstance(source, (str, Path)) and Path(source).is_dir():
        paths = sorted(p for p in Path(source).glob("*.y*ml") if p.is_file())
    elif isinstance(source, (str, Path)):
        paths = [Path(source)]
    else:
        paths = [Path(p) for p in source]
    schema = json.loads(Path(schema_path).read_text(encoding="utf-8"))
    problems: list[Problem] = []
    files = [f for f in (_load_file(p, schema, problems) for p in paths) if f is not None]
    seen: dict[str, tuple[str, int]] = {}
    for file_name, case_id, line in (i for f in files for i in f.ids):
        if case_id in seen:
            first = seen[case_id]
            problems.append(Problem(file_name, line, f"duplicate id {shorten(case_id, 60)} (first at {first[0]}:{first[1]})"))
        seen.setdefault(case_id, (file_name, line))
    if not paths:
        problems.append(Problem(str(source), 1, "no vector files (*.yaml) found"))
    if problems:
        raise VectorError(problems)
    return Suite(files)


def _load_file(path: Path, schema: dict, problems: list[Problem]) -> VectorFile | None:
    name = str(path)
    try:
        raw = read_bounded(path)
        located = yaml_lines.load(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        problems.append(Problem(name, 1, f"not UTF-8: {exc}"))
        return None
    except yaml_lines.YamlError as exc:  # syntax, tags, nesting, alias expansion, size
        problems.append(Problem(name, exc.line or 1, exc.what))
        return None
    found_before = len(problems)
    problems += [Problem(name, line, msg) for line, msg in located.problems]
    doc = located.data
    if not isinstance(doc, dict):
        problems.append(Problem(name, 1, "a vector file is a mapping with area and cases"))
        return None
    bad_paths = set()
    schema_text = json.dumps(schema, sort_keys=True)
    seen_valid = _ValidCache(schema_text, raw)
    before = len(problems)
    if not seen_valid.hit():
        for error in _validator(schema_text).iter_errors(doc):
            for path, message in _explain(error):
                bad_paths.add(path)
                problems.append(Problem(name, located.line_of(path), message))
    try:
        cases, ids = _build_cases(doc, located, name, bad_paths, problems)
    except (KeyError, TypeError, AttributeError, ValueError):
        # Building assumes the shape the schema checks; the file's problems already say what is
        # wrong with it. A file without problems must build: then it is a loader bug.
        if len(problems) == found_before:
            raise
        return None
    if len(problems) == before:
        seen_valid.remember()
    return VectorFile(name, str(doc.get("area", "")), str(doc.get("title", "")), cases,
                      hashlib.sha256(raw).hexdigest(), ids)


def _build_cases(doc: dict, located, name: str, bad_paths: set, problems: list[Problem]):
    cases = []
    defaults = doc.get("defaults") if isinstance(doc.get("defaults"), dict) else {}
    for index, spec in enumerate(doc.get("cases") or []):
        if isinstance(spec, dict):
            case = _build_case(spec, defaults, doc.get("area"), ("cases", index), located, name, bad_paths, problems)
            if case is not None:
                cases.append(case)
    ids = [(name, str(spec["id"]), located.line_of(("cases", i, "id")))
           for i, spec in enumerate(doc.get("cases") or []) if isinstance(spec, dict) and "id" in spec]
    return cases, ids


def _explain(error: jsonschema.ValidationError):
    """(path, message) pairs in the words of a vector author, not of JSON Schema."""
    path = tuple(error.absolute_path)
    kind = error.validator
    if kind in ("additionalProperties", "unevaluatedProperties"):
        allowed = sorted(_allowed_keys(error.schema))
        extras = [k for k in error.instance if k not in allowed] if isinstance(error.instance, dict) else []
        for key in extras:
            hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
            yield path + (key,), f"unknown field {clip(key)}{hint}"
        return
    if kind == "required":
        missing = re.search(r"'([^']+)' is a required property", error.message)
        field_name = missing.group(1) if missing else "?"
        yield path, f"missing field '{field_name}'"
        return
    if kind in ("oneOf", "anyOf") and error.context:
        if path and path[-2:-1] == ("steps",) or "cleanup" in path[-2:-1]:
            if isinstance(error.instance, dict) and not {"apdu", "reset"} & set(error.instance):
                yield path, "step needs 'apdu' (or 'reset: true')"
                return
        # Prefer the branch whose type fits the value: `sw: 90000` is a bad pattern, not "not an array".
        fitting = [e for e in error.context if e.validator != "type" and not e.relative_path]
        best = jsonschema.exceptions.best_match(fitting or error.context)
        best_path = path + tuple(best.relative_path)
        yield from ((best_path if p == tuple(best.absolute_path) else p, m) for p, m in _explain(best))
        return
    note = error.schema.get("x-error") if isinstance(error.schema, dict) else None
    if note and kind in ("pattern", "type"):
        yield path, f"{note}: {clip(error.instance)}"
        return
    where = ".".join(str(p) for p in path) or "file"
    yield path, f"{where}: {_message(error)}"


def _message(error: jsonschema.ValidationError) -> str:
    """jsonschema's message with the value in it cut: it quotes the whole value, 10 MB or not."""
    if isinstance(error.instance, (dict, list, str, bytes)) and len(error.instance) > 60:
        whole = repr(error.instance)
        if whole in error.message:
            return shorten(error.message.replace(whole, clip(error.instance)), 300)
    return shorten(error.message, 300)


def _allowed_keys(schema: dict) -> set[str]:
    keys = set(schema.get("properties", {}))
    if "$ref" in schema or any("$ref" in sub for sub in schema.get("allOf", [])):
        keys |= _CASE_FIELDS  # defaults and cases take the shared case fields by reference
    return keys


_CASE_FIELDS = {"ref", "label", "applies", "preconditions", "vars", "transport", "timeout"}


def _build_case(spec, defaults, area, path, located, name, bad_paths, problems) -> Case | None:
    merged = {**defaults, **spec}
    line = located.line_of(path)
    local: list[Problem] = []

    def problem(sub: tuple, message: str, absolute: bool = False):
        where = sub if absolute else path + sub
        if where not in bad_paths:
            local.append(Problem(name, located.line_of(where), message))

    case_id = str(spec.get("id", ""))
    if area and re.fullmatch(r"SSC\.[A-Z0-9]+\.\d{3}", case_id) and case_id.split(".")[1] != area:
        problem(("id",), f"id {case_id} is not in this file's area {area} (expected SSC.{area}.NNN)")
    for needed in ("ref", "label"):
        if needed not in merged:
            problem((), f"missing field '{needed}' (in the case or in the file's defaults)")
    labels = merged.get("label", [])
    labels = [labels] if isinstance(labels, str) else list(labels or [])
    cited = set(PD_REF.findall(" ".join(map(str, merged.get("ref") or []))))
    if cited and not any(str(lab).startswith("PD") for lab in labels):
        problem(("label",) if "label" in spec else ("ref",),
                f"ref cites PD-{', PD-'.join(sorted(cited))}: label the case PD (spec §0.1)")
    try:
        applies = Applicability(str(merged.get("applies", "True")))
    except ApplicabilityError as exc:
        problem(("applies",) if "applies" in spec else (), f"applies: {shorten(exc)}")
        applies = Applicability("True")
    variables = {str(k): str(v) for k, v in (merged.get("vars") or {}).items()}
    known = set(compute.BUILTIN_VARIABLES) | set(variables)
    functions = compute.bind(None)
    preconditions = []
    for i, pre in enumerate(merged.get("preconditions") or []):
        try:
            preconditions.append(_precondition(pre, located.line_of(path + ("preconditions", i))))
        except ValueError as exc:
            problem(("preconditions", i), f"preconditions: {exc}")
    raw = merged.get("transport") == "raw"
    steps = [_step(s, path + ("steps", i), located, problem, known, functions, raw)
             for i, s in enumerate(spec.get("steps") or []) if isinstance(s, dict)]
    cleanup = [_step(s, path + ("cleanup", i), located, problem, known, functions, raw)
               for i, s in enumerate(spec.get("cleanup") or []) if isinstance(s, dict)]
    problems += local
    if local or any(p[:len(path)] == path for p in bad_paths):
        return None
    return Case(case_id, str(spec.get("title", "")), [str(r) for r in merged.get("ref") or []], labels,
                applies, preconditions, steps, cleanup, variables, name, line,
                float(merged["timeout"]) if "timeout" in merged else None)


def _precondition(spec, line: int) -> Precondition:
    if isinstance(spec, str):
        return Precondition(spec, None, line)
    kind, arg = next(iter(spec.items())) if isinstance(spec, dict) and spec else ("?", None)
    if kind == "authenticate" and isinstance(arg, dict):
        version = str(arg.get("version", 1))
        if not re.fullmatch(r"[0-9A-Fa-f]{1,2}", version):  # one byte, sent after the cryptogram
            raise ValueError(f"authenticate version {clip(version)} is not a key version (hex 00-FF)")
        arg = {"key": str(arg.get("key", "")).upper(), "version": int(version, 16)}
    return Precondition(kind, arg, line)


def _step(spec, path, located, report, known: set, functions, case_raw: bool) -> Step:
    def problem(sub: tuple, message: str):
        report(path + sub, message, absolute=True)

    step = Step(located.line_of(path), title=str(spec.get("title", "")), raw=spec.get("transport", "raw" if case_raw else "processed") == "raw")
    templates: list[tuple[tuple, Template]] = []
    if "apdu" in spec:
        try:
            step.apdu = parse_template(str(spec["apdu"]))
            templates.append((("apdu",), step.apdu))
        except TemplateError as exc:
            problem(("apdu",), f"apdu: {exc}")
            step.apdu = parse_template("")
        expect = spec.get("expect")
        if not isinstance(expect, dict) or "sw" not in expect:
            problem(("expect",) if isinstance(expect, dict) else (),
                    "missing expectation: a step with an apdu needs expect: {sw: ...}")
    if isinstance(spec.get("expect"), dict):
        try:
            step.expect = Expectation.from_dict(spec["expect"])
            templates += [(("expect",), t) for t in step.expect.templates()]
        except ExpectationError as exc:
            problem(("expect", exc.where.split(".")[0]), f"expect.{exc.where}: {exc}")
    for sub, template in templates:
        for message in check_functions(template, functions):
            problem(sub, message)
        for var in sorted(template.names() - known):
            problem(sub, f"unknown variable {clip(var)} (not captured by an earlier step, "
                                     f"not in vars, not built in: {', '.join(compute.BUILTIN_VARIABLES)})")
    for var, source in (spec.get("capture") or {}).items():
        if not CAPTURE.match(str(source)):
            problem(("capture", var), f"capture {shorten(var, 60)}: {clip(source)} is not data, data[a:b], data[i], sw or atr")
        step.capture[str(var)] = str(source)
        known.add(str(var))
    return step


@functools.lru_cache(maxsize=4)
def _validator(schema_text: str) -> jsonschema.Draft202012Validator:
    """One compiled validator per schema (building it again for every file is wasted work)."""
    return jsonschema.Draft202012Validator(json.loads(schema_text))


class _ValidCache:
    """Files that passed the schema before, by content: validating them again gives the same answer.

    The key covers the file's bytes, the schema and the jsonschema version, so any change to one of
    them validates again. A missing or unwritable cache folder only costs the time.
    """

    def __init__(self, schema_text: str, raw: bytes):
        key = hashlib.sha256(f"{jsonschema_version()}\0{schema_text}\0".encode() + raw).hexdigest()
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        self.marker = base / "sscard" / "valid-vectors" / key

    def hit(self) -> bool:
        return self.marker.exists()

    def remember(self) -> None:
        try:
            self.marker.parent.mkdir(parents=True, exist_ok=True)
            self.marker.touch()
        except OSError:
            pass


@functools.cache
def jsonschema_version() -> str:
    from importlib.metadata import version
    return version("jsonschema")
