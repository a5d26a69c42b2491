"""Random YAML documents, and random mutations of a valid card image and of a vector file, through
the card image reader and the vector loader: each ends in a clean error (ImageError, VectorError)
or a usable object; never another exception, never a hang (issue 12)."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from conformance.vectors import DEFAULT_VECTORS, Suite, VectorError, load_suite
from simulator import Card
from simulator.image import ImageError, dump_image, parse_image
from simulator.newcard import new_image

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
IMAGES = {gen: new_image(gen, seed=3) for gen in ("gen1", "gen2", "gen3")}
VECTOR_TEXT = (DEFAULT_VECTORS / "pin.yaml").read_text(encoding="utf-8")

# Scalars the way YAML writers get them wrong: octal-looking, sexagesimal, 1.1 booleans, tags, hex.
TRICKY = ["0510630", "012345", "190:20:30", "yes", "no", "on", "off", "~", "", "null", "true", "false",
          "0x1F", "6E00", "1.5", "-0", "!!int 7", "!!binary AAAA", "&a x", "*a", "*nope", "[", "{", "'",
          '"', "- x", "? x", ": x", "|\n  text", ">", "%YAML 1.1", "---", "...", "\t", "#", "ZZ", "9" * 5000,
          "A" * 300, "张三", "\U0001F600", "\x00", "\x1b[31m"]
WORDS = ["profile", "switches", "data", "records", "files", "keys", "pins", "state", "defects", "person",
         "layout", "value", "versions", "tries", "sizes", "fci_extra", "ac", "card_blocked", "application",
         "SSSE", "SSSE/EF05", "SSSE/EF08", "PKI", "PKI/DF", "01", "04", "0A", "EF08", "gen2", "area", "cases",
         "id", "steps", "apdu", "expect", "sw", "data", "title", "applies", "requires", "vars"]

scalars = st.one_of(st.sampled_from(TRICKY), st.integers(-2**70, 2**70), st.booleans(), st.none(),
                    st.text(max_size=30), st.floats(allow_nan=True))
keys = st.one_of(st.sampled_from(WORDS), st.text(max_size=12))
documents = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                          st.dictionaries(keys, inner, max_size=5)), max_leaves=40)


def text_edits(text: str, draw) -> str:
    """Cut, doubled or foreign pieces of text at random places."""
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.integers(0, 2))
        if kind == 0:
            text = text[:at] + text[at + draw(st.integers(0, 40)):]
        elif kind == 1:
            text = text[:at] + draw(st.sampled_from(TRICKY + WORDS)) + text[at:]
        else:
            text = text[:at] + text[max(0, at - 30):at] + text[at:]
    return text


def mutate_doc(doc, draw):
    """Replace, drop or add one entry somewhere in a document tree."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 4))):
        node, path = doc, []
        while isinstance(node, (dict, list)) and node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node, key=str) if isinstance(node, dict) else range(len(node))))
            path.append((node, key))
            node = node[key]
        if not path:
            if isinstance(doc, dict):
                doc[draw(keys)] = draw(documents)
            continue
        parent, key = path[-1]
        action = draw(st.integers(0, 2))
        if action == 0:
            parent[key] = draw(documents)
        elif action == 1:
            del parent[key]
        elif isinstance(parent, dict):
            parent[draw(keys)] = draw(documents)
    return doc


def image_outcome(text: str) -> None:
    try:
        card = Card(parse_image(text, "random.yaml"))
    except ImageError as exc:
        assert str(exc).startswith("random.yaml"), exc
        assert len(str(exc)) < 2000, "values are cut in messages"
        return
    assert card.transmit(bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF"))[-2:]  # a usable card


def vectors_outcome(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "random.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            suite = load_suite(path)
        except VectorError as exc:
            assert exc.problems and all(p.file == str(path) and p.line >= 1 for p in exc.problems)
            return
        assert isinstance(suite, Suite) and suite.cases


def dumped(doc) -> str:
    try:
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:  # a key PyYAML cannot write: plain repr text instead
        return repr(doc)


@SETTINGS
@given(documents)
def test_random_documents(doc):
    text = dumped(doc)
    image_outcome(text)
    vectors_outcome(text)


@SETTINGS
@given(st.data())
def test_random_text(data):
    text = text_edits(data.draw(st.sampled_from([dumped(data.draw(documents)), "profile: gen2\n",
                                                 "area: XMP\ncases: []\n"])), data.draw)
    image_outcome(text)
    vectors_outcome(text)


@SETTINGS
@given(st.sampled_from(sorted(IMAGES)), st.data())
def test_mutations_of_a_valid_image(gen, data):
    image_outcome(dump_image(mutate_doc(IMAGES[gen], data.draw)))
    image_outcome(text_edits(dump_image(IMAGES[gen]), data.draw))


@settings(SETTINGS, max_examples=30)  # each example loads and schema-checks a whole vector file
@given(st.data())
def test_mutations_of_a_valid_vector_file(data):
    vectors_outcome(dumped(mutate_doc(yaml.safe_load(VECTOR_TEXT), data.draw)))
    vectors_outcome(text_edits(VECTOR_TEXT, data.draw))
