"""Card images (design.md format): load with line numbers, validate, save atomically."""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from . import strict_yaml
from .storage import atomic_write
from .quote import clip

try:  # the C loader and dumper are much faster where libyaml is there
    from yaml import CSafeDumper as _Dumper
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _Dumper

PROFILES = {"gen1": 1, "gen2": 2, "gen3": 3}
MAX_IMAGE_BYTES = 4 * 1024 * 1024  # a gen3 image with every file full is about 40 KB


class ImageError(ValueError):
    """A card image that cannot be used; says file and line of the offending entry."""

    def __init__(self, source: str, line: int | None, what: str):
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {what}")
        self.source, self.line, self.what = source, line, what


class ImageInUse(ImageError):
    """The image is held by another process, or by another slot of this one."""

    def __init__(self, source: str, message: str):
        ValueError.__init__(self, message)  # the message names the image already
        self.source, self.line, self.what = source, None, message


class Image(dict):
    """The image as plain data, plus where each entry stands in its file (for error messages)."""

    source: str = "<memory>"
    path: Path | None = None
    lines: dict[tuple, int]

    def line(self, *keys) -> int | None:
        while keys:
            if keys in self.lines:
                return self.lines[keys]
            keys = keys[:-1]
        return None

    def error(self, keys: tuple, what: str) -> ImageError:
        return ImageError(self.source, self.line(*keys), what)


def parse_image(text: str, source: str = "<memory>", path: Path | None = None,
                validate=None, kind: str = "card image") -> Image:
    """Parse strictly (simulator/strict_yaml.py) with line numbers; `validate(image)` (default: the
    card image schema) and `kind` let other images (the PSAM's) reuse the same reader and messages."""
    try:
        located = strict_yaml.load(text, max_bytes=MAX_IMAGE_BYTES)
    except strict_yaml.YamlError as exc:
        raise ImageError(source, exc.line, exc.what) from None
    if located.problems:
        line, what = min(located.problems)
        raise ImageError(source, line, what)
    if not isinstance(located.data, dict):
        raise ImageError(source, 1, f"a {kind} is a YAML mapping (profile:, data:, keys:, ...)")
    image = Image(located.data)
    image.source, image.path = source, path
    image.lines = {tuple(str(k) for k in keys): line for keys, line in located.lines.items()}
    (validate or validate_top)(image)
    return image


def load_image(path, validate=None, kind: str = "card image") -> Image:
    """Read a regular file of at most MAX_IMAGE_BYTES (never a FIFO or a device) and parse it."""
    path = Path(path)
    try:
        text = strict_yaml.read_bounded(path, MAX_IMAGE_BYTES).decode("utf-8")
    except strict_yaml.YamlError as exc:
        raise ImageError(str(path), None, f"cannot read {kind}: {exc.what}") from None
    except UnicodeDecodeError as exc:
        raise ImageError(str(path), None, f"{kind} is not UTF-8 text: {exc}") from None
    return parse_image(text, str(path), path, validate, kind)


def from_dict(data: dict, source: str = "<memory>") -> Image:
    image = Image(data)
    image.source, image.path, image.lines = source, None, {}
    validate_top(image)
    return image


@functools.cache
def _validator():
    schema = json.loads(resources.files(__package__).joinpath("image_schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def validate_top(image: Image) -> None:
    """The card image schema: shape, types, known keys at every level. The first problem in the
    file (by line) is raised as `file:line: what is wrong`."""
    errors = list(_validator().iter_errors(dict(image)))
    if errors:
        found = [(image.line(*map(str, keys)) or 1, what) for error in errors for keys, what in _explain(error)]
        line, what = min(found)
        raise ImageError(image.source, line if image.lines else None, what)


def _explain(error) -> list[tuple[tuple, str]]:
    """(path of the entry, message) for one schema error, in the words of a card image."""
    path = tuple(error.absolute_path)
    where = " ".join(_named(p) for p in path) or "the image"
    schema, value = error.schema, error.instance
    what = schema.get("x-what") if isinstance(schema, dict) else None
    if error.validator == "additionalProperties":
        known = sorted((schema.get("properties") or {}))
        extra = [k for k in value if k not in (schema.get("properties") or {})]
        hint = f" (known: {', '.join(known)})" if known else ""

        def named(key) -> str:  # x-key: "profile switch", "top-level key"
            return f"{schema['x-key']} {clip(key)}" if "x-key" in schema else f"key {clip(key)} in {where}"
        return [(path + (k,), f"unknown {named(k)}{hint}") for k in extra]
    if "propertyNames" in error.schema_path:  # a key of the wrong form: the error is about the key
        return [(path + (str(value),), f"{where}: key {clip(value)} is not {what or 'a known name'}")]
    if error.validator == "required":
        return [(path, f"{where} needs {error.message.split(' ')[0]}")]
    if error.validator in ("anyOf", "oneOf"):  # a mapping that went wrong inside: say where inside
        deepest = max(error.context, key=lambda e: len(e.absolute_path), default=None)
        if deepest is not None and len(deepest.absolute_path) > len(path):
            return _explain(deepest)
    if what is None:
        what = {"type": f"{_types(schema)}", "minimum": f"at least {schema.get('minimum')}",
                "maximum": f"at most {schema.get('maximum')}", "minLength": "not empty"}.get(error.validator,
                                                                                           "something else")
    return [(path, f"{where} must be {what}, got {_shown(value)}")]


def _named(key) -> str:
    """A key on the path to an entry, as a message names it: as written, or cut when it is long."""
    text = str(key)
    return text if len(text) <= 60 else clip(text)


def _types(schema: dict) -> str:
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds or []
    words = {"object": "a mapping", "array": "a list", "string": "text", "integer": "a whole number",
             "boolean": "true or false", "null": "empty", "number": "a number"}
    return " or ".join(words.get(k, k) for k in kinds) or "something else"


def _shown(value) -> str:
    if isinstance(value, str):
        return f"text {clip(value)}"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return clip(value)


def dump_image(data: dict) -> str:
    return yaml.dump(dict(data), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120)


def save_image(path, data: dict) -> None:
    """Write the image atomically with mode 0600 (it holds keys and PINs): see storage.atomic_write."""
    atomic_write(path, dump_image(data).encode("utf-8"))
