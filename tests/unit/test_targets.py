"""One set of target options (sscard/targets.py) and one opener (conformance/targets.py): the
options exclude each other with a usage error naming both, several readers pair with their
descriptions in order, and an image is held with its lock while a run or an apdu uses it."""

from __future__ import annotations

import click
import pytest
import yaml
from click.testing import CliRunner

from conformance.targets import TargetSpec, describe, open_target
from conformance.vectors import DEFAULT_VECTORS
from simulator import Card
from simulator.image import ImageInUse, save_image
from simulator.samples import sample_image
from simulator.storage import ImageLock
from sscard.cli import cli
from sscard.targets import run_specs

SELECT = "00A404000F7378312E73682EC9E7BBE1B1A3D5CF"


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "card.yaml"
    save_image(path, sample_image("gen2"))
    return path


@pytest.mark.parametrize("command", [
    ("run", "--builtin", "gen2", "--replay", "{image}"),
    ("run", "--builtin", "gen2", "--reader", "Virtual PCD 00 00"),
    ("run", "--reader", "Virtual PCD 00 00", "--replay", "{image}"),
    ("apdu", SELECT, "--builtin", "gen2", "--reader", "X"),
    ("apdu", SELECT, "--replay", "{image}", "--builtin", "gen3"),
    ("card", "read", "--builtin", "gen2", "--replay", "{image}"),
])
def test_two_targets_are_a_usage_error_naming_both(command, image):
    args = [a.replace("{image}", str(image)) for a in command]
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    named = [a for a in args if a in ("--builtin", "--reader", "--replay")]
    assert f"{named[0]} and {named[1]} cannot be used together" in result.output or \
        f"{named[1]} and {named[0]} cannot be used together" in result.output


def test_an_unknown_builtin_is_bad_input_everywhere():
    for args in (("run", "--builtin", "gen9"), ("apdu", SELECT, "--builtin", "gen9"), ("card", "read", "--builtin", "gen9")):
        result = invoke(*args)
        assert result.exit_code == 2 and "'gen9' is not one of gen1, gen2, gen3" in result.output, args


def test_readers_pair_with_their_images_in_order(tmp_path):
    specs = run_specs(None, ("a.yaml", "b.yaml"), ("A", "B"), None, None, False)
    assert [(s.kind, s.name, s.describe) for s in specs] == [("reader", "A", "a.yaml"), ("reader", "B", "b.yaml")]
    shared = run_specs(None, (), ("A", "B"), None, "d.yaml", False)
    assert [s.describe for s in shared] == ["d.yaml", "d.yaml"]
    undescribed = run_specs(None, (), ("A", "B"), None, None, False)
    assert [s.describe for s in undescribed] == [None, None]


@pytest.mark.parametrize("images, describe, why", [
    (("a.yaml",), None, "2 readers and 1 --image"),
    (("a.yaml", "b.yaml", "c.yaml"), None, "2 readers and 3 --image"),
    (("a.yaml", "b.yaml"), "d.yaml", "--describe and --image cannot be used together"),
])
def test_an_ambiguous_pairing_is_a_usage_error(images, describe, why):
    with pytest.raises(click.UsageError, match=why):
        run_specs(None, images, ("A", "B"), None, describe, False)


@pytest.mark.parametrize("args, why", [
    (("--builtin", "gen2", "--wait", "3"), "--wait goes with --reader"),
    (("--builtin", "gen2", "--batch"), "--batch goes with --reader"),
    (("--reader", "A", "--reader", "B", "--batch"), "--batch takes one --reader"),
    (("--builtin", "gen2", "--count", "2"), "--count goes with --batch"),
    (("--builtin", "gen2", "--describe", __file__), "--describe goes with --reader"),
])
def test_wait_and_batch_need_a_reader(args, why):
    result = invoke("run", *args)
    assert result.exit_code == 2 and why in result.output, result.output


def test_run_on_an_image_holds_its_lock(image, tmp_path):
    held = ImageLock(image).acquire()
    try:
        result = invoke("run", "--image", str(image), "-k", "SEL", "--vectors", str(DEFAULT_VECTORS / "select.yaml"),
                        "--reports", str(tmp_path / "r"))
    finally:
        held.release()
    assert result.exit_code == 3, result.output
    assert "in use" in result.output
    result = invoke("run", "--image", str(image), "-k", "SEL", "--vectors", str(DEFAULT_VECTORS / "select.yaml"),
                    "--reports", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output  # the run let go of it: a second run takes it again


def test_an_open_image_is_locked_until_closed_and_never_rewritten(image):
    before = image.read_bytes()
    transport, card = open_target(TargetSpec("image", str(image)))
    with pytest.raises(ImageInUse):
        open_target(TargetSpec("image", str(image)))
    transport.transmit(bytes.fromhex(SELECT))
    transport.transmit(bytes.fromhex("0020000003999999"))  # a wrong PIN lowers the try counter, in memory
    transport.close()
    assert image.read_bytes() == before
    assert card.image_path == str(image) and card.label == "card"
    again, _ = open_target(TargetSpec("image", str(image)))
    again.close()


def test_a_persisted_image_keeps_what_the_card_did(image):
    transport, _ = open_target(TargetSpec("image", str(image), persist=True))
    transport.transmit(bytes.fromhex(SELECT))
    answer = transport.transmit(bytes.fromhex("0020000003999999"))
    transport.close()
    assert answer[-2:-1] == b"\x63"  # 63Cx: wrong PIN, tries left
    saved = yaml.safe_load(image.read_text(encoding="utf-8"))
    assert saved != yaml.safe_load(yaml.safe_dump(sample_image("gen2")))  # the lowered counter was saved
    open_target(TargetSpec("image", str(image)))[0].close()  # and the lock was let go


def test_apdu_on_an_image_in_use_exits_3(image):
    held = ImageLock(image).acquire()
    try:
        result = invoke("apdu", SELECT, "--image", str(image))
    finally:
        held.release()
    assert result.exit_code == 3 and "in use" in result.output, result.output


def test_a_card_is_described_by_the_sample_its_atr_names_or_its_generation():
    sample = Card.builtin("gen3")
    known = describe(sample.atr, "reader")
    assert known.generation == 3 and "keys" in known.image
    other = bytearray(sample.atr)
    other[-1] ^= 0xFF  # another serial: a gen3 card whose keys nobody gave
    unknown = describe(bytes(other), "reader")
    assert unknown.image == {"profile": "gen3"}
    assert describe(b"\x3b\x00", "reader").generation == 2  # not the project's ATR: gen2


def test_card_read_through_the_opener_and_an_image_path(image):
    by_option = invoke("card", "read", "--image", str(image))
    by_path = invoke("card", "read", str(image))
    assert by_option.exit_code == by_path.exit_code == 0, by_option.output
    assert by_option.output == by_path.output
    assert invoke("card", "read", str(image), "--image", str(image)).exit_code == 2
