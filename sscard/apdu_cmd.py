"""`sscard apdu`: send APDUs to a card (emulated or in a PC/SC reader) and show the answers decoded."""

from __future__ import annotations

import re
import sys

import click

from .exitcodes import BAD_INPUT, UNREACHABLE, code_for
from .targets import target_options, target_spec

_HEX = re.compile(r"[0-9A-Fa-f]")


def parse_apdu(text: str, position: int) -> bytes:
    """Hex with optional spaces/colons; a bad one names the argument and the offending characters."""
    compact = re.sub(r"[\s:]", "", text)
    bad = sorted({c for c in compact if not _HEX.match(c)})
    if bad:
        raise click.BadParameter(f"APDU {position} ({text!r}) has non-hex characters: {' '.join(map(repr, bad))}")
    if len(compact) % 2:
        raise click.BadParameter(f"APDU {position} ({text!r}) has an odd number of hex digits ({len(compact)})")
    if len(compact) < 8:
        raise click.BadParameter(f"APDU {position} ({text!r}) is {len(compact) // 2} bytes; a C-APDU has at least 4")
    return bytes.fromhex(compact)


@click.command("apdu")
@click.argument("apdus", nargs=-1, required=True)
@target_options(builtin_help="Built-in sample card (gen1, gen2, gen3; default gen3).",
                image_help="Card image to emulate (its changes are saved to it); beside --reader/--replay, "
                           "the description of that card.")
@click.option("--get-response/--raw", default=False,
              help="Follow 61xx with GET RESPONSE and 6Cxx with the right Le (default: show the card's raw answers).")
def apdu(apdus, builtin, image, reader, replay, get_response):
    """Send APDUs (hex, one per argument) to a card and print each answer with its meaning.

    \b
    sscard apdu 00A404000F7378312E73682EC9E7BBE1B1A3D5CF 00C0000018 00B2012C00
    sscard apdu --builtin gen2 --get-response "00A4 0400 0F 7378312E73682EC9E7BBE1B1A3D5CF"
    """
    from conformance.processors import Trace, standard_chain
    from conformance.transport import TransportError
    from conformance.targets import open_target
    from simulator.commands import command_name
    from simulator.sw import describe

    spec = target_spec(builtin, image, reader, replay, persist=True)  # an image keeps what was sent
    commands = [parse_apdu(text, i) for i, text in enumerate(apdus, 1)]
    try:
        transport, _card = open_target(spec)
    except ValueError as exc:  # ImageError among them
        click.echo(f"error: {exc}", err=True)
        sys.exit(code_for(exc) or BAD_INPUT)  # a bad image or session, or an image another process holds
    except TransportError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(UNREACHABLE)
    trace = Trace(atr=transport.atr)
    chain = standard_chain(transport, trace, get_response, get_response)
    click.echo(f"ATR {transport.atr.hex().upper()}  ({transport.name})")
    try:
        for command in commands:
            response = chain.transmit(command)
            sw = int.from_bytes(response[-2:], "big")
            click.echo(f"> {command.hex().upper()}  {command_name(command)}")
            data = response[:-2].hex().upper()
            click.echo(f"< {data + ' ' if data else ''}{sw:04X}  {describe(sw)}")
    except TransportError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(UNREACHABLE)
    finally:
        transport.close()
