"""Issue 12, card images on disk: one holder at a time, no stale temp files, symlinks followed,
and a card that cannot save its changes never drifts from its image."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from simulator import Card
from simulator.image import ImageError, ImageInUse, dump_image, load_image
from simulator.newcard import new_image
from simulator.storage import TEMP_MARK, atomic_write, temp_files
from sscard.apdu_cmd import apdu
from sscard.serve import _load_cards

SELECT_SSSE = bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")


@pytest.fixture
def image_path(tmp_path):
    path = tmp_path / "card.yaml"
    path.write_text(dump_image(new_image("gen2", seed=5)), encoding="utf-8")
    return path


def pin_tries_on_disk(path) -> int:
    return load_image(path)["pins"]["SSSE"].get("tries", 3)


def verify(card: Card, pin: str = "123456") -> bytes:
    card.transmit(SELECT_SSSE)
    return card.transmit(bytes.fromhex(f"002000000{len(pin) // 2}{pin}"))


@contextlib.contextmanager
def unwritable(folder):
    """The folder refuses new files: mode 0500, and for root (who ignores modes) chattr +i."""
    os.chmod(folder, 0o500)
    immutable = False
    try:
        try:
            (folder / ".probe").touch()
            (folder / ".probe").unlink()
            subprocess.run(["chattr", "+i", str(folder)], check=True)
            immutable = True
        except PermissionError:
            pass
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        os.chmod(folder, 0o700)


# --- one holder at a time ------------------------------------------------------------------------

@contextlib.contextmanager
def held_by_another_process(path):
    """Another process holds the image (as `sscard serve` would) until the block ends; yields its pid."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from simulator import Card; Card.from_image(sys.argv[1], lock=True); "
         "print('held', flush=True); sys.stdin.read()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder.pid
    finally:
        holder.stdin.close()
        holder.wait(30)


def test_second_process_gets_a_clear_error(image_path):
    with held_by_another_process(image_path) as pid:
        with pytest.raises(ImageInUse) as info:
            Card.from_image(image_path, lock=True)
        assert str(info.value) == f"card image {image_path} is in use by another process (pid {pid})"
        result = CliRunner().invoke(apdu, ["--image", str(image_path), "00A4040000"])
        assert f"card image {image_path} is in use by another process (pid {pid})" in result.output
        assert result.exit_code != 0
    Card.from_image(image_path, lock=True).close()  # the holder ended: free again


def test_same_image_in_two_slots_of_one_process_refused(image_path):
    with pytest.raises(click.ClickException) as info:
        _load_cards((image_path, image_path), ())
    assert f"card image {image_path} is in use by this process (pid {os.getpid()})" in info.value.message
    Card.from_image(image_path, lock=True).close()  # the failed start let go of the first slot's lock


def test_lock_released_by_close_and_the_symlinked_path_is_the_same_image(image_path, tmp_path):
    link = tmp_path / "link.yaml"
    link.symlink_to(image_path)
    card = Card.from_image(image_path, lock=True)
    with pytest.raises(ImageInUse, match="in use by this process"):
        Card.from_image(link, lock=True)
    card.close()
    Card.from_image(link, lock=True).close()


# --- temp files and symlinks ----------------------------------------------------------------------

def test_stale_temp_files_removed_at_load(image_path):
    stale = image_path.with_name(f".{image_path.name}{TEMP_MARK}abc123.tmp")
    stale.write_text("keys of a killed save")
    assert temp_files(image_path) == [stale]
    Card.from_image(image_path)
    assert not stale.exists()


def test_temp_files_kept_while_another_process_holds_the_image(image_path):
    with held_by_another_process(image_path):
        in_flight = image_path.with_name(f".{image_path.name}{TEMP_MARK}live.tmp")
        in_flight.write_text("a save under way")
        Card.from_image(image_path)  # a reader without the lock: it must not touch the holder's save
        assert in_flight.exists()


def test_symlinked_image_saved_through_the_link(image_path, tmp_path):
    link = tmp_path / "served.yaml"
    link.symlink_to(image_path.name)
    card = Card.from_image(link)
    assert verify(card, "999999")[:1] == b"\x63"  # a wrong PIN: the counter goes down and is saved
    assert link.is_symlink() and os.readlink(link) == image_path.name
    assert pin_tries_on_disk(image_path) == 2
    atomic_write(link, b"profile: gen2\n")
    assert link.is_symlink() and image_path.read_text() == "profile: gen2\n"


# --- a card that cannot save -----------------------------------------------------------------------

def test_card_in_an_unwritable_folder_refuses_to_start(image_path):
    with unwritable(image_path.parent):
        with pytest.raises(ImageError) as info:
            Card.from_image(image_path)
    assert str(info.value).startswith(f"{image_path}: the card could not save its changes: no new file can be "
                                      f"made in {image_path.parent}")
    Card(load_image(image_path))  # without a backing file (card show, sscard run) it still loads


def test_failed_save_stops_the_card_without_losing_a_try(image_path, caplog):
    card = Card.from_image(image_path)
    card.transmit(SELECT_SSSE)
    with caplog.at_level(logging.ERROR, logger="simulator.card"), unwritable(image_path.parent):
        answers = [verify(card) for _ in range(3)]  # three right PINs (issue 12: these blocked it)
        later = card.transmit(bytes.fromhex("00B2012C00"))
    assert answers == [b"\x6f\x00"] * 3 and later == b"\x6f\x00"
    assert card.ssse.pins[0].tries == 3 and pin_tries_on_disk(image_path) == 3
    assert card.out_of_service.startswith(f"cannot save {image_path}")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "the card now answers 6F00 to every command" in lines[0], lines
    assert temp_files(image_path) == []


def test_failed_save_puts_back_the_last_saved_state(image_path):
    card = Card.from_image(image_path)
    assert verify(card, "999999") == b"\x63\xc2"  # saved: 2 tries left
    with unwritable(image_path.parent):
        assert verify(card, "888888") == b"\x6f\x00"
    assert card.ssse.pins[0].tries == 2 == pin_tries_on_disk(image_path)
    assert card.export_image()["pins"] == load_image(image_path)["pins"]


# --- sscard serve as real processes (on a port nobody listens on: no pcscd needed) ---------------

def serve(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sscard", "serve", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_twice_the_same_image_refused(image_path):
    first = serve("--image", str(image_path), "--port", str(free_port()))
    try:
        assert first.stdout.readline().startswith(f"serving {image_path}")
        second = serve("--image", str(image_path), "--port", str(free_port()))
        out, _ = second.communicate(timeout=60)
        assert second.returncode != 0
        assert f"card image {image_path} is in use by another process (pid {first.pid})" in out, out
    finally:
        first.terminate()
        first.communicate(timeout=30)
    both = serve("--image", str(image_path), "--image", str(image_path), "--port", str(free_port()))
    out, _ = both.communicate(timeout=60)
    assert both.returncode != 0 and f"card image {image_path} is in use by this process" in out, out
