"""Issue 12, card images: the strict reader, the image schema and `files:` (one test per finding:
the exact input and the error line it gets)."""

from __future__ import annotations

import os
import tracemalloc

import pytest

from conformance.vectors import VectorError, load_suite
from simulator import Card, items, strict_yaml
from simulator.image import ImageError, _validator, load_image, parse_image
from simulator.profile import DEFAULT_SWITCHES

BOMB = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n")


def card_of(text: str) -> Card:
    return Card(parse_image(text, "c.yaml"))


def error_of(text: str) -> str:
    with pytest.raises(ImageError) as info:
        card_of(text)
    return str(info.value)


def record_value(card: Card, ef: str, tag: int) -> str:
    ef = card.model.efs[ef]
    raw = bytes(ef.records[ef.find(tag) - 1][2:])
    fmt = next(r["fmt"] for r in ef.spec["records"] if int(r["tag"], 16) == tag)
    return items.decode(fmt, raw)


# --- values read as written ----------------------------------------------------------------------

def test_leading_zero_postcode_and_pin_stay_what_was_written():
    card = card_of("profile: gen2\nperson: {postcode: 051063}\n"
                   "data:\n  SSSE/DF01/EF06: {\"24\": 051063}\npins: {SSSE: 012345}\n")
    assert card.image["person"]["postcode"] == "051063"  # YAML 1.1: 21043 (octal)
    assert record_value(card, "SSSE/DF01/EF06", 0x24) == "051063"
    card.transmit(bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF"))
    assert card.transmit(bytes.fromhex("0020000003012345")) == b"\x90\x00"  # YAML 1.1: PIN 5349


@pytest.mark.parametrize("text, value", [
    ("0510630", "0510630"), ("012345", "012345"), ("190:20:30", "190:20:30"), ("0x1F", "0x1F"),
    ("6E00", "6E00"), ("1_000", "1_000"), ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"),
    ("42", 42), ("-7", -7), ("0", 0), ("1.5", 1.5), ("true", True), ("false", False), ("~", None),
    ('"true"', "true"), ("'42'", "42"),
])
def test_scalars_by_strict_rules(text, value):
    loaded = strict_yaml.load(f"x: {text}\n").data["x"]
    assert loaded == value and type(loaded) is type(value)


def test_card_blocked_takes_only_true_or_false():
    assert error_of('profile: gen2\nstate:\n  card_blocked: "false"\n') == \
        "c.yaml:3: state card_blocked must be true or false (unquoted), got text 'false'"
    assert error_of("profile: gen2\nstate: {card_blocked: no}\n") == \
        "c.yaml:2: state card_blocked must be true or false (unquoted), got text 'no'"
    assert card_of("profile: gen2\nstate: {card_blocked: false}\n").blocks["card_blocked"] is False


def test_unknown_state_key_refused():
    assert error_of("profile: gen2\nstate:\n  blocked: maybe\n") == \
        "c.yaml:3: unknown key 'blocked' in state (known: application, card_blocked)"


@pytest.mark.parametrize("text, expected", [
    ("profile: [gen2]\n", "c.yaml:1: profile must be one of gen1, gen2, gen3, got a list"),
    ('profile: gen2\ndata:\n  SSSE/EF05: {"01": "ZZ"}\n',
     "c.yaml:3: SSSE/EF05 tag 01: b16 item must be hex (pairs of 0-9 A-F), got 'ZZ'"),
    ('profile: gen2\nkeys:\n  SSSE:\n    "04": {value: "11223344556677881122334455667788", versions: {XY: "00"}}\n',
     "c.yaml:4: keys SSSE 04 versions: key 'XY' is not a key version (2 hex digits)"),
    ('profile: gen2\nkeys:\n  SSSE:\n    "04":\n      value: "11223344556677881122334455667788"\n'
     '      versions: {"02": "GG"}\n',
     "c.yaml:6: keys SSSE 04 versions 02 must be hex bytes (pairs of 0-9 A-F), got text 'GG'"),
    ("profile: gen2\nswitches:\n  sizes: {EF08: big}\n",
     "c.yaml:3: switches sizes EF08 must be a size in bytes 1-32767, got text 'big'"),
    ("profile: gen2\nswitches:\n  sizes: {EF09: 10}\n",
     "c.yaml:3: unknown key 'EF09' in switches sizes (known: 0018, 0019, EF07, EF08)"),
    ('profile: gen2\nswitches:\n  fci_extra: {SSSE: "ABC"}\n',
     "c.yaml:3: switches fci_extra SSSE must be hex bytes in quotes (\"6F00\"), got text 'ABC'"),
    ("profile: gen2\nswitches:\n  fci_extra: [1]\n",
     "c.yaml:3: switches fci_extra must be a mapping DF -> hex bytes, got a list"),
    ("profile: gen2\nswitches:\n  transport: t2\n", "c.yaml:3: switches transport must be t0 or t1, got text 't2'"),
    ("profile: gen2\nswitches:\n  pin_tries: 99\n",
     "c.yaml:3: switches pin_tries must be a whole number 1-15, got 99"),
    ('profile: gen2\nswitches:\n  ac: {"SSSE/EF05#x": {read: free}}\n',
     "c.yaml:3: switches ac: key 'SSSE/EF05#x' is not an EF path, or path#record"),
    ('profile: gen2\nswitches:\n  ac: {"SSSE/EF99": {read: free}}\n',
     "c.yaml:3: switch ac: no file 'SSSE/EF99' on a gen2 card (a path like SSSE/EF05 or SSSE/DF01/EF05#2)"),
    ('profile: gen2\nswitches:\n  ac: {"SSSE/EF05#99": {read: free}}\n',
     "c.yaml:3: switch ac: SSSE/EF05 has no record 99 (1-7)"),
    ('profile: gen2\nswitches:\n  ac: {"SSSE/EF08#1": {read: free}}\n', "c.yaml:3: switch ac: SSSE/EF08 has no records"),
    ('profile: gen2\nswitches:\n  fci_extra: {DF99: "01"}\n',
     "c.yaml:3: switch fci_extra: no DF 'DF99' on a gen2 card (known: SSSE, SSSE/DF01, SSSE/DF02, SSSE/DF03, "
     "SSSE/DF04, SSSE/DF05, SSSE/DF06, SSSE/DF07)"),
    ("profile: gen2\ndata: &d\n  x: *d\n", "c.yaml:3: an alias refers to the collection it is inside (a loop)"),
    ("profile: gen2\nstate: !!python/object:os.system {}\n",
     "c.yaml:2: YAML tags are not allowed here (!!python/object:os.system)"),
    ("profile: gen2\nprofile: gen3\n", "c.yaml:2: duplicate key 'profile'"),
    ("x: 1\n", "c.yaml:1: the image needs 'profile'"),
    ("profile: gen2\ndata:\n  SSSE/EF06: {\"09\": \"\U0001F600\"}\n",
     "c.yaml:3: SSSE/EF06 tag 09: an30 item has '\U0001F600', which GBK cannot write"),
])
def test_bad_image_is_one_clean_line(text, expected):
    assert error_of(text) == expected


def test_schema_knows_every_switch_of_the_profile():
    switches = _validator().schema["$defs"]["switches"]["properties"]
    assert set(switches) == set(DEFAULT_SWITCHES)


def test_deep_nesting_is_an_error_not_a_recursion_error():
    text = "profile: gen2\nperson: {x: " + "[" * 500 + "]" * 500 + "}\n"
    assert error_of(text) == "c.yaml:2: YAML nested too deep (more than 64 levels)"


def test_alias_bomb_refused_at_once_in_bounded_memory(tmp_path):
    assert len(BOMB) < 400
    tracemalloc.start()
    try:
        message = error_of("profile: gen2\n" + BOMB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message.startswith("c.yaml:") and "aliases expand to too many values" in message
    assert peak < 64 * 1024 * 1024, peak  # expanded, it is 9^7 = 4.8 million strings
    vectors = tmp_path / "bomb.yaml"
    vectors.write_text("area: XMP\n" + BOMB + "cases: []\n", encoding="utf-8")
    with pytest.raises(VectorError, match=r"bomb.yaml:\d+: aliases expand to too many values"):
        load_suite(vectors)


def test_long_value_cut_in_the_message():
    big = "A" * 1_000_000 + "G"
    message = error_of(f'profile: gen2\nkeys:\n  SSSE: {{"04": "{big}"}}\n')
    assert message.startswith("c.yaml:3: keys SSSE 04 must be a key") and "…" in message
    assert len(message) < 300


def test_ten_megabyte_image_refused_by_size(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text('profile: gen2\ndata:\n  SSSE/EF06: {"09": "' + "A" * 10_000_000 + '"}\n')
    with pytest.raises(ImageError) as info:
        load_image(path)
    assert str(info.value) == f"{path}: cannot read card image: {path} is more than 4,194,304 bytes"


def test_image_path_that_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="is not a regular file"):
        load_image(fifo)  # returns at once: a FIFO is not waited on
    with pytest.raises(ImageError, match="is not a regular file"):
        load_image("/dev/zero")


# --- files: ----------------------------------------------------------------------------------------

def image_with_file(tmp_path, name: str) -> ImageError | Card:
    path = tmp_path / "card.yaml"
    path.write_text(f"profile: gen2\nfiles:\n  SSSE/EF08: {name}\n", encoding="utf-8")
    try:
        return Card(load_image(path))
    except ImageError as exc:
        return exc


def test_files_entry_inside_the_folder_is_read(tmp_path):
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8photo")
    card = image_with_file(tmp_path, "photo.jpg")
    assert bytes(card.model.efs["SSSE/EF08"].data[:7]) == b"\xff\xd8photo"


@pytest.mark.parametrize("name, expected", [
    ("/proc/self/environ", "SSSE/EF08: '/proc/self/environ' is neither hex nor a file name inside the image's folder"),
    ("/dev/zero", "SSSE/EF08: '/dev/zero' is neither hex nor a file name inside the image's folder"),
    ("../secret.bin", "SSSE/EF08: '../secret.bin' is neither hex nor a file name inside the image's folder"),
])
def test_files_entry_outside_the_folder_refused(tmp_path, name, expected):
    error = image_with_file(tmp_path, name)
    assert str(error) == f"{tmp_path / 'card.yaml'}:3: {expected}"


def test_files_symlink_leading_out_refused(tmp_path):
    (tmp_path / "environ").symlink_to("/proc/self/environ")
    error = image_with_file(tmp_path, "environ")
    assert isinstance(error, ImageError)
    assert str(error).startswith(f"{tmp_path / 'card.yaml'}:3: SSSE/EF08: 'environ' leads outside the image's folder")


def test_files_fifo_and_oversized_file_refused(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    assert str(image_with_file(tmp_path, "pipe")) == \
        f"{tmp_path / 'card.yaml'}:3: SSSE/EF08: 'pipe' is not a regular file"
    (tmp_path / "huge.bin").write_bytes(b"\0" * 9000)
    assert str(image_with_file(tmp_path, "huge.bin")) == \
        f"{tmp_path / 'card.yaml'}:3: SSSE/EF08 holds 8192 bytes, the file 'huge.bin' is larger"
