"""Card images (design.md format): load with line numbers, validate, save atomically."""

from __future__ import annotations

from pathlib import Path

import yaml

from .storage import atomic_write

try:  # the C loader and dumper are much faster where libyaml is there
    from yaml import CSafeDumper as _Dumper, CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _Dumper, SafeLoader as _Loader

TOP_KEYS = {"profile", "switches", "data", "records", "files", "keys", "pins", "defects", "state",
            "person", "layout"}  # layout: EFs of DF01-DF07 declared by the image, checked in layout.py
PROFILES = {"gen1": 1, "gen2": 2, "gen3": 3}


class ImageError(ValueError):
    """A card image that cannot be used; says file and line of the offending entry."""

    def __init__(self, source: str, line: int | None, what: str):
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {what}")
        self.source, self.line, self.what = source, line, what


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


def _construct(loader, node, keys: tuple, lines: dict):
    lines[keys] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for knode, vnode in node.value:
            key = knode.value
            lines[keys + (str(key),)] = knode.start_mark.line + 1
            out[str(key)] = _construct(loader, vnode, keys + (str(key),), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, v, keys + (str(i),), lines) for i, v in enumerate(node.value)]
    return loader.construct_object(node, deep=True)



def parse_image(text: str, source: str = "<memory>", path: Path | None = None,
                validate=None, kind: str = "card image") -> Image:
    """Parse with line numbers; `validate(image)` (default: the card image's top level) and `kind`
    let other images (the PSAM's) reuse the same machinery and error messages."""
    loader = _Loader(text)
    lines: dict[tuple, int] = {}
    try:
        node = loader.get_single_node()
        data = _construct(loader, node, (), lines) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ImageError(source, mark.line + 1 if mark else None, f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ImageError(source, 1, f"a {kind} is a YAML mapping (profile:, data:, keys:, ...)")
    image = Image(data)
    image.source, image.path, image.lines = source, path, lines
    (validate or validate_top)(image)
    return image


def load_image(path, validate=None, kind: str = "card image") -> Image:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ImageError(str(path), None, f"cannot read {kind}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ImageError(str(path), None, f"{kind} is not UTF-8 text: {exc}") from None
    return parse_image(text, str(path), path, validate, kind)


def from_dict(data: dict, source: str = "<memory>") -> Image:
    image = Image(data)
    image.source, image.path, image.lines = source, None, {}
    validate_top(image)
    return image


def validate_top(image: Image) -> None:
    for key in image:
        if key not in TOP_KEYS:
            raise image.error((key,), f"unknown top-level key {key!r} (known: {', '.join(sorted(TOP_KEYS))})")
    profile = image.get("profile")
    if profile not in PROFILES:
        raise image.error(("profile",), f"profile must be one of gen1, gen2, gen3, got {profile!r}")
    for key in ("switches", "data", "records", "files", "keys", "pins", "state", "person"):
        if key in image and not isinstance(image[key], dict):
            raise image.error((key,), f"{key} must be a mapping")
    if "defects" in image and not isinstance(image["defects"], list):
        raise image.error(("defects",), "defects must be a list of defect names")


def dump_image(data: dict) -> str:
    return yaml.dump(dict(data), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120)


def save_image(path, data: dict) -> None:
    """Write the image atomically with mode 0600 (it holds keys and PINs): see storage.atomic_write."""
    atomic_write(path, dump_image(data).encode("utf-8"))
