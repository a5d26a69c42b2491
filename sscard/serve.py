"""`sscard serve`: put emulated cards into pcscd's virtual readers (vpcd) until Ctrl-C or SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

import click

from .exitcodes import BAD_INPUT, CodedError, code_for


def trace_line(label: str, capdu: bytes, rapdu: bytes, elapsed: float, command_name=None) -> str:
    from simulator.sw import describe

    if command_name is None:
        from simulator.commands import command_name

    sw = int.from_bytes(rapdu[-2:], "big") if len(rapdu) >= 2 else 0
    return (
        f"[{label}] > {capdu.hex().upper()}  {command_name(capdu)}\n"
        f"[{label}] < {rapdu.hex().upper()}  {sw:04X} {describe(sw)}  ({elapsed * 1000:.2f} ms)"
    )


def _load_cards(images: tuple[Path, ...], builtins: tuple[str, ...]):
    from simulator import Card

    cards = []
    for path in images:
        try:
            cards.append((str(path), Card.from_image(path, lock=True)))  # one holder per image
        except Exception as exc:  # image errors name the file and key; show them plainly
            for _, loaded in cards:
                loaded.close()  # lets go of the images already held
            # exc names the file (:line); an image another process holds is exit 3, a bad one 2
            raise CodedError(f"cannot load card image: {exc}", code_for(exc) or BAD_INPUT) from exc
    for name in builtins:
        cards.append((f"builtin {name}", Card.builtin(name)))
    return cards


def _load_psam(value: str | None):
    """--psam: the built-in PSAM (no value, or a profile name), or a PSAM image file."""
    if value is None:
        return None
    from simulator.psam import PROFILES, Psam

    if value == "" or (value in PROFILES and not Path(value).exists()):
        return f"builtin PSAM {value or 'default'}", Psam.builtin(value or "default")
    try:
        return str(value), Psam.from_image(value)
    except Exception as exc:  # image errors name the file and line
        raise click.ClickException(f"cannot load PSAM image {value}: {exc}") from exc


@click.command("serve")
@click.option("--image", "images", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Card image (YAML); repeat for more cards, one per slot.")
@click.option("--builtin", "builtins", multiple=True, type=click.Choice(["gen1", "gen2", "gen3"]),
              help="A built-in sample card (in memory) instead of an image; repeatable.")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="vpcd port of the first card (default 35963 = slot 0); card i uses port+i.")
@click.option("--slot", type=click.IntRange(0, 99), default=None,
              help="vpcd slot of the first card (port 35963+slot, reader 'Virtual PCD 00 0<slot>').")
@click.option("--host", default="127.0.0.1", show_default=True, help="Where pcscd/vpcd runs.")
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --host.")
@click.option("--psam", "psam", is_flag=False, flag_value="", default=None, metavar="[PSAM.yaml|PROFILE]",
              help="Also serve a PSAM in the slot after the cards: the built-in one (no value, or a "
                   "profile: default, no-rk, des-only, sm4-only) or a PSAM image.")
@click.option("--trace", is_flag=True, help="Log every APDU with its command name and SW meaning.")
def serve(images, builtins, port, slot, host, allow_remote, trace, psam):
    """Serve one emulated card per image to PC/SC programs through pcscd's vpcd reader."""
    from simulator.vpcd import DEFAULT_PORT, VirtualReaderSlot

    if not images and not builtins and psam is None:
        raise click.UsageError("give at least one --image CARD.yaml or --builtin gen1|gen2|gen3 (or --psam)")
    if port is not None and slot is not None:
        raise click.UsageError("--port and --slot are two ways to say the same thing: give one")
    base = port if port is not None else DEFAULT_PORT + (slot or 0)
    cards = _load_cards(images, builtins)
    psam_entry = _load_psam(psam)
    if psam_entry is not None:
        cards.append(psam_entry)
    if base + len(cards) - 1 > 65535:
        raise click.UsageError("too many cards for the ports above --port")

    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    if trace:
        logging.getLogger("sscard.vpcd").setLevel(logging.INFO)
    out_lock = threading.Lock()

    def tracer(label, card):
        namer = getattr(card, "command_name", None)  # a PSAM names its own commands
        def emit(capdu, rapdu, elapsed):
            with out_lock:
                click.echo(trace_line(label, capdu, rapdu, elapsed, namer))
        return emit

    slots = []
    try:
        for i, (label, card) in enumerate(cards):
            p = base + i
            tag = f"{p - DEFAULT_PORT:02d}" if 0 <= p - DEFAULT_PORT < 100 else str(p)
            slots.append(VirtualReaderSlot(card, p, host, allow_remote=allow_remote,
                                           trace=tracer(f"slot {tag}", card) if trace else None))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc

    done = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        for (label, card), s in zip(cards, slots):
            s.start()
            reader = (f"reader 'Virtual PCD 00 {s.port - DEFAULT_PORT:02d}'"
                      if 0 <= s.port - DEFAULT_PORT < 100 else "custom port")
            click.echo(f"serving {label} on {host}:{s.port} ({reader}), ATR {bytes(card.atr).hex().upper()}")
        warned = False
        while not done.wait(0.5):
            if not warned and any(not s.connected for s in slots):
                # Give vpcd a few seconds; then say once how to bring it up. We keep retrying.
                if done.wait(3.0):
                    break
                missing = [s.port for s in slots if not s.connected]
                if missing:
                    click.echo(f"waiting for vpcd on port(s) {missing}: is pcscd running? "
                               "start it with: scripts/pcscd-up (check with: sscard doctor)", err=True)
                warned = True
        click.echo("stopping (SIGTERM)")
    except KeyboardInterrupt:
        click.echo("stopping (Ctrl-C)")
    finally:
        signal.signal(signal.SIGTERM, previous)
        for s in slots:
            s.stop()
        for label, card in cards:
            try:
                card.close()  # images are saved atomically on every change; close flushes the rest
            except Exception as exc:
                click.echo(f"closing {label}: {exc}", err=True)
    click.echo("stopped" + ("; images saved" if images else ""))
