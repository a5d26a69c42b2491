"""Card-image `layout:` (spec §9.1, R2-5, PD-36): every fault of a layout entry is refused with
`file:line: what is wrong`, the line being the one of the offending entry or key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from simulator import Card
from simulator.image import ImageError, from_dict, parse_image
from simulator.layout import card_tree, declared
from simulator.profile import profile_data

TLV = """\
  DF03/EF19:
    structure: tlv
    records:
      - {tag: "79", fmt: b39}
    read: either(PIN,key(82))
    write: key(85)
"""


def _refused(layout: str) -> str:
    """The message building a card from `profile: gen2` + layout gives; the line marked `#<` is
    where the message must point."""
    text = "profile: gen2\nlayout:\n" + layout
    marked = [n for n, line in enumerate(text.splitlines(), 1) if "#<" in line]
    assert len(marked) == 1, "mark exactly one line with #<"
    with pytest.raises(ImageError) as caught:
        Card(parse_image(text, "card.yaml"))
    message = str(caught.value)
    prefix = f"card.yaml:{marked[0]}: "
    assert message.startswith(prefix), message
    return message[len(prefix):]


FAULTS = [
    # the layout and its names
    ("  DF08/EF05: {structure: transparent, size: 8, read: free, write: never}  #<\n",
     "layout entry 'DF08/EF05': DF08 is not one of DF01–DF07; a layout declares EFs of DF01–DF07 only (spec §9.1)"),
    ("  SSSE/EF19: {structure: transparent, size: 8, read: free, write: never}  #<\n",
     "layout entry 'SSSE/EF19': SSSE is not one of DF01–DF07; a layout declares EFs of DF01–DF07 only (spec §9.1)"),
    ("  PKI/0018: {structure: transparent, size: 8, read: free, write: never}  #<\n",
     "layout entry 'PKI/0018': PKI is not one of DF01–DF07; a layout declares EFs of DF01–DF07 only (spec §9.1)"),
    ("  DF03/0019: {structure: transparent, size: 8, read: free, write: never}  #<\n",
     "layout entry 'DF03/0019': the EF is named by its FID EFxx (xx hex), got '0019'"),
    ("  DF03: {structure: transparent, size: 8, read: free, write: never}  #<\n",
     "layout entry 'DF03': name an EF of DF01–DF07 as DFnn/EFxx (e.g. DF03/EF19)"),
    (TLV + "  SSSE/DF03/EF19: {structure: transparent, size: 8, read: free, write: never}  #<\n",
     "layout SSSE/DF03/EF19: DF03/EF19 is declared twice (also as DF03/EF19)"),
    # structure and keys
    ("  DF03/EF19:  #<\n    size: 8\n    read: free\n    write: never\n",
     "layout DF03/EF19: structure must be one of tlv, linear, cyclic, transparent, got None"),
    ("  DF03/EF19:\n    structure: binary  #<\n    size: 8\n    read: free\n    write: never\n",
     "layout DF03/EF19: structure must be one of tlv, linear, cyclic, transparent, got 'binary'"),
    ("  DF03/EF19:\n    structure: tlv\n    records: [{tag: \"79\", fmt: b39}]\n    count: 1  #<\n"
     "    read: free\n    write: never\n",
     "layout DF03/EF19: key 'count' does not belong to a tlv EF (count is for linear and cyclic EFs)"),
    ("  DF03/EF19:\n    structure: linear\n    record_length: 4\n    count: 1\n    colour: red  #<\n"
     "    read: free\n    write: never\n",
     "layout DF03/EF19: key 'colour' does not belong to a linear EF (known: structure, sfi, read, write, "
     "item, en, record_length, count)"),
    ("  DF03/EF19:  #<\n    structure: transparent\n    read: free\n    write: never\n",
     "layout DF03/EF19: a transparent EF needs size"),
    ("  DF03/EF19:  #<\n    structure: cyclic\n    record_length: 20\n    count: 10\n    read: free\n",
     "layout DF03/EF19: a cyclic EF needs write"),
    # limits
    ("  DF03/EF19:\n    structure: linear\n    record_length: 256  #<\n    count: 1\n    read: free\n    write: never\n",
     "layout DF03/EF19: record_length must be a whole number 1–255, got 256"),
    ("  DF03/EF19:\n    structure: linear\n    record_length: 0  #<\n    count: 1\n    read: free\n    write: never\n",
     "layout DF03/EF19: record_length must be a whole number 1–255, got 0"),
    ("  DF03/EF19:\n    structure: cyclic\n    record_length: 20\n    count: 255  #<\n    read: free\n    write: never\n",
     "layout DF03/EF19: count must be a whole number 1–254, got 255"),
    ("  DF03/EF19:\n    structure: linear\n    record_length: 20\n    count: 0  #<\n    read: free\n    write: never\n",
     "layout DF03/EF19: count must be a whole number 1–254, got 0"),
    ("  DF03/EF19:\n    structure: linear\n    record_length: \"20\"  #<\n    count: 1\n    read: free\n"
     "    write: never\n",
     "layout DF03/EF19: record_length must be a whole number 1–255, got '20'"),
    ("  DF03/EF19:\n    structure: transparent\n    size: 32768  #<\n    read: free\n    write: never\n",
     "layout DF03/EF19: size must be a whole number 1–32767, got 32768"),
    ("  DF03/EF19:\n    structure: transparent\n    size: 0  #<\n    read: free\n    write: never\n",
     "layout DF03/EF19: size must be a whole number 1–32767, got 0"),
    ("  DF03/EF19:\n    structure: transparent\n    size: true  #<\n    read: free\n    write: never\n",
     "layout DF03/EF19: size must be a whole number 1–32767, got True"),
    # TLV records
    ("  DF03/EF19:\n    structure: tlv\n    records: []  #<\n    read: free\n    write: never\n",
     "layout DF03/EF19: records is a list of 1–254 records, each {tag: \"79\", fmt: b39}"),
    ("  DF03/EF19:\n    structure: tlv\n    records:\n      - {tag: \"00\", fmt: b4}  #<\n    read: free\n"
     "    write: never\n",
     "layout DF03/EF19: record 1: tag 00 is not a record identifier (spec §9.1)"),
    ("  DF03/EF19:\n    structure: tlv\n    records:\n      - {tag: \"79\", fmt: b4}\n"
     "      - {tag: \"79\", fmt: an2}  #<\n    read: free\n    write: never\n",
     "layout DF03/EF19: tag 79 twice in one EF (records 1 and 2)"),
    ("  DF03/EF19:\n    structure: tlv\n    records:\n      - {tag: 7G, fmt: b4}  #<\n    read: free\n"
     "    write: never\n",
     "layout DF03/EF19: record 1: tag must be one byte in hex (\"79\"), got '7G'"),
    ("  DF03/EF19:\n    structure: tlv\n    records:\n      - {tag: \"179\", fmt: b4}  #<\n    read: free\n"
     "    write: never\n",
     "layout DF03/EF19: record 1: tag must be one byte in hex (\"79\"), got '179'"),
    ("  DF03/EF19:\n    structure: tlv\n    records:\n      - {tag: \"79\", fmt: b254}  #<\n    read: free\n"
     "    write: never\n",
     "layout DF03/EF19: record 1: a TLV value is 1–253 bytes (record = 2 + length ≤ 255), got b254"),
    ("  DF03/EF19:\n    structure: tlv\n    records:\n      - {tag: \"79\", fmt: an0}  #<\n    read: free\n"
     "    write: never\n",
     "layout DF03/EF19: record 1: a TLV value is 1–253 bytes (record = 2 + length ≤ 255), got an0"),
    ("  DF03/EF19:\n    structure: tlv\n    records:\n      - {tag: \"79\", fmt: x39}  #<\n    read: free\n"
     "    write: never\n",
     "layout DF03/EF19: record 1: unknown data format 'x39' (an<n>, cn<n>, b<n>)"),
    ("  DF03/EF19:\n    structure: tlv\n    records:\n      - {tag: \"79\"}  #<\n    read: free\n    write: never\n",
     "layout DF03/EF19: record 1 has no fmt"),
    ("  DF03/EF19:\n    structure: tlv\n    records:\n      - {tag: \"79\", fmt: b4, len: 6}  #<\n"
     "    read: free\n    write: never\n",
     "layout DF03/EF19: record 1: unknown key 'len' (known: tag, fmt, item, en)"),
    ("  DF03/EF19:\n    structure: tlv\n    records:\n      - \"79\"  #<\n    read: free\n    write: never\n",
     "layout DF03/EF19: record 1 must be a mapping {tag: .., fmt: ..}, got '79'"),
    # SFI
    ("  DF03/EF19:\n    structure: transparent\n    size: 8\n    sfi: \"1F\"  #<\n    read: free\n    write: never\n",
     "layout DF03/EF19: sfi must be 01–1E in hex (quoted: \"19\") or none, got '1F'"),
    ("  DF03/EF19:\n    structure: transparent\n    size: 8\n    sfi: 0  #<\n    read: free\n    write: never\n",
     "layout DF03/EF19: sfi must be 01–1E in hex (quoted: \"19\") or none, got 0"),
    ("  DF03/EF19:\n    structure: transparent\n    size: 8\n    sfi: \"\"  #<\n    read: free\n    write: never\n",
     "layout DF03/EF19: sfi must be 01–1E in hex (quoted: \"19\") or none, got ''"),
    ("  DF03/EF20:\n    structure: transparent\n    size: 8\n    sfi: \"05\"  #<\n    read: free\n    write: never\n",
     "layout DF03/EF20: SFI 05 is already EF05's in DF03 (SFIs are unique within a DF; give another sfi, or none)"),
    ("  DF03/EF1A: {structure: transparent, size: 8, read: free, write: never}\n"
     "  DF03/EF25:\n    structure: transparent\n    size: 8\n    sfi: 1A  #<\n    read: free\n    write: never\n",
     "layout DF03/EF25: SFI 1A is already EF1A's in DF03 (SFIs are unique within a DF; give another sfi, or none)"),
    ("  DF03/EF25:\n    structure: transparent\n    size: 8\n    sfi: \"1A\"\n    read: free\n    write: never\n"
     "  DF03/EF1A: {structure: transparent, size: 8, read: free, write: never}  #<\n",
     "layout DF03/EF1A: SFI 1A is already EF25's in DF03 (SFIs are unique within a DF; give another sfi, or none)"),
    # access conditions (§5.2)
    ("  DF03/EF19:\n    structure: transparent\n    size: 8\n    read: sometimes  #<\n    write: never\n",
     "layout DF03/EF19: read: not an access condition: 'sometimes' in 'sometimes' (grammar: free, never, PIN, "
     "PIN(user), PIN(admin), key(HH), both(...), either(...))"),
    ("  DF03/EF19:\n    structure: transparent\n    size: 8\n    read: free\n    write: either(key(85))  #<\n",
     "layout DF03/EF19: write: either() needs at least two conditions: 'either(key(85))'"),
    ("  DF03/EF19:\n    structure: transparent\n    size: 8\n    read: free\n    write: 85  #<\n",
     "layout DF03/EF19: write must be an access condition of §5.2 (free, never, PIN, key(83), "
     "either(PIN,key(81)), ...), got 85"),
    ("  DF03/EF19:\n    structure: transparent\n    size: 8\n    read: PIN(user)  #<\n    write: never\n",
     "layout DF03/EF19: read: PIN(user) is a PKI PIN; an EF of DF03 takes the cardholder PIN (PIN)"),
    ("  DF03/EF19:\n    structure: transparent\n    size: 8\n    read: free\n    write: key(89)  #<\n",
     "layout DF03/EF19: write: DF03 has no key 09 (its keys: 81, 82, 83, 84, 85)"),
    ("  DF05/EF19:\n    structure: transparent\n    size: 8\n    read: free\n    write: key(0D)  #<\n",
     "layout DF05/EF19: write: SSSE has no key 0D (its keys: 00, 01, 04, 06, 07, 08, 0A)"),
]


@pytest.mark.parametrize("layout, what", FAULTS, ids=[w[:60] for _, w in FAULTS])
def test_every_layout_fault_is_refused_with_file_and_line(layout, what):
    assert _refused(layout) == what


@pytest.mark.parametrize("text, line", [
    ("profile: gen2\nlayout:\n  - DF03/EF19\n", 2),
    ("profile: gen2\nlayout:\n  DF03/EF19: transparent\n", 3),
])
def test_a_layout_or_entry_that_is_no_mapping_is_refused(text, line):
    with pytest.raises(ImageError) as caught:
        Card(parse_image(text, "card.yaml"))
    assert caught.value.line == line and "must be a mapping" in caught.value.what


def test_a_card_description_without_lines_is_checked_too():
    """A plain dict (a physical card's description in the tester) gets the same checks."""
    with pytest.raises(ImageError, match=r"^<card description>: layout must be a mapping of DFnn/EFxx"):
        declared({"profile": "gen2", "layout": ["DF03/EF19"]})
    with pytest.raises(ImageError, match=r"^<card description>: layout DF03/EF19: an EF description is a mapping"):
        declared({"profile": "gen2", "layout": {"DF03/EF19": "transparent"}})


def test_gen3_cards_have_ssse_key_0d():
    """key(0D) exists on gen3 only (§5.1.1): the same entry loads on gen3."""
    text = "profile: gen3\nlayout:\n  DF05/EF19: {structure: transparent, size: 8, read: free, write: key(0D)}\n"
    card = Card(parse_image(text, "card.yaml"))
    assert card.model.efs["SSSE/DF05/EF19"].size == 8


def test_a_refused_image_writes_nothing(tmp_path):
    """A bad layout is refused before anything is built or saved: the file stays as it was."""
    path = tmp_path / "card.yaml"
    text = "profile: gen2\nlayout:\n  DF03/EF19: {structure: transparent, size: 0, read: free, write: never}\n"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ImageError, match=r"card.yaml:3: layout DF03/EF19: size must be"):
        Card.from_image(path)
    assert path.read_text(encoding="utf-8") == text


def test_images_without_layout_keep_the_profile_tree():
    """No new required key: an image without `layout:` builds from the profile tree itself."""
    image = parse_image("profile: gen2\n", "card.yaml")
    assert card_tree(image) is profile_data()["tree"]
    assert declared(image) == {}
    assert declared(parse_image("profile: gen2\nlayout: {}\n", "card.yaml")) == {}


def test_unquoted_hex_reads_as_written():
    """`tag: 79` and `sfi: 19` (YAML integers) mean hex 79 and 19, as `data:` keys do."""
    text = ("profile: gen2\nlayout:\n  DF03/EF20:\n    structure: tlv\n    sfi: 19\n"
            "    records: [{tag: 79, fmt: b4}, {tag: 1E, fmt: cn2}]\n    read: free\n    write: never\n"
            "  DF03/EF19: {structure: transparent, size: 4, sfi: none, read: free, write: never}\n")
    own = declared(parse_image(text, "card.yaml"))["DF03"]
    assert own["EF20"]["sfi"] == 0x19 and [r["tag"] for r in own["EF20"]["records"]] == ["79", "1E"]
    assert own["EF19"]["sfi"] is None


def test_the_readme_layout_example_loads():
    """README's card-image section shows a layout: it must be a card image that builds."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("```yaml\nlayout:\n", 1)[1].split("```", 1)[0]
    card = Card(parse_image("profile: gen2\nlayout:\n" + block, "README.md"))
    assert {"SSSE/DF03/EF19", "SSSE/DF05/EF06", "SSSE/DF06/EF07"} <= set(card.model.efs)
    assert bytes(card.model.efs["SSSE/DF03/EF19"].records[0][:3]) == bytes.fromhex("792733")


# --- any damage to a layout is an ImageError, never another exception --------------------------

GOOD_LAYOUT = {
    "DF03/EF19": {"structure": "tlv", "sfi": "19", "records": [{"tag": "79", "fmt": "b39", "item": "地方"}],
                  "read": "either(PIN,key(82))", "write": "key(85)"},
    "DF05/EF06": {"structure": "cyclic", "record_length": 20, "count": 10, "read": "PIN", "write": "key(83)"},
    "DF06/EF07": {"structure": "transparent", "size": 512, "read": "free", "write": "key(83)"},
    "DF01/EF20": {"structure": "linear", "record_length": 8, "count": 2, "sfi": "none", "read": "free",
                  "write": "never"},
}
ODD = st.one_of(st.none(), st.booleans(), st.integers(-300, 70000), st.floats(allow_nan=True),
                st.text(max_size=12), st.sampled_from(["tlv", "none", "00", "1F", "key(81)", "either(PIN)",
                                                       "PIN(admin)", "b0", "cn254", "x" * 5000, "DF03/EF19"]),
                st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_damaged_layout_is_refused_cleanly(data):
    layout = copy.deepcopy(GOOD_LAYOUT)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(list(_paths(layout))[1:]))
        parent = layout
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()) or not isinstance(parent, dict):
            parent[path[-1]] = data.draw(ODD)       # a value replaced
        else:
            parent[data.draw(ODD.filter(lambda k: isinstance(k, str)))] = parent.pop(path[-1])  # a key renamed
    try:
        card = Card(from_dict({"profile": "gen2", "layout": layout}, "card.yaml"))
    except ImageError as exc:
        assert str(exc).startswith("card.yaml") and len(str(exc)) < 600
    else:
        assert card.model.efs  # what loads is a usable card
