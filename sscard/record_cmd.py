"""`sscard record`: relay a physical card through a virtual reader and record the session.

The relay and the recording are conformance.record's (CardRelay: see its docstring for what is
relayed and how power events are written); this is the command around them: the reader named as
every card command names it (sscard/targets.py), the vpcd slot served until Ctrl-C, SIGTERM or the
card's removal, and the session written whatever ends it.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from conformance.record import POLL_INTERVAL, CardRelay, reader_has_card, refuse_loop, vpcd_reader_name, write_session
from conformance.transport import TransportError


@click.command("record")
@click.option("--reader", required=True, help="PC/SC reader of the physical card (name or a unique part of it).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Session file to write (JSON, sscard-session/1).")
@click.option("--slot", type=click.IntRange(0, 99), default=0, show_default=True,
              help="vpcd slot of the relay: reader 'Virtual PCD 00 0<slot>'.")
def record(reader, out, slot):
    """Relay a physical card through a virtual reader and record every exchange until Ctrl-C,
    SIGTERM or the card's removal."""
    from conformance.reports.writing import check
    from conformance.targets import TargetSpec, exact_reader, open_target
    from simulator.vpcd import VirtualReaderSlot, slot_port

    check(out)  # a session that could never be written: say so before relaying anything (exit 4)
    try:
        name = exact_reader(reader)
    except TransportError as exc:  # no such reader: unreachable, as for `sscard run --reader`
        raise TransportError(f"--reader: {exc.reason}") from None
    try:
        refuse_loop(name, slot)
    except ValueError as exc:
        raise click.UsageError(f"--reader: {exc}") from None
    spec = TargetSpec("reader", name)
    try:
        relay = CardRelay(lambda: open_target(spec)[0], present=lambda: reader_has_card(name))
    except TransportError as exc:
        raise TransportError(f"cannot reach the card in {name!r}: {exc.reason}") from None
    _relay(relay, VirtualReaderSlot(relay, slot_port(slot)), name, out, slot)


def _relay(relay, vslot, name, out, slot) -> None:
    done = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: done.set())
    why = "stopped (SIGTERM)"
    try:
        vslot.start()
        click.echo(f"relaying the card in {name!r} (ATR {relay.atr.hex().upper()}) to "
                   f"{vpcd_reader_name(slot)!r}; recording to {out}; Ctrl-C to stop")
        polls = 0
        while not done.wait(POLL_INTERVAL):
            if not relay.poll():
                why = f"recording ended: {relay.ended}"
                break
            polls += 1
            if polls == 6 and not vslot.connected:  # 3 s without vpcd: say once what to check
                click.echo(f"waiting for vpcd on port {vslot.port}: is pcscd running (scripts/pcscd-up), "
                           f"or does another server hold slot {slot}?", err=True)
    except KeyboardInterrupt:
        why = "stopped (Ctrl-C)"
    finally:
        signal.signal(signal.SIGTERM, previous)
        interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)  # never lose the session half-way
        try:
            vslot.stop()
            relay.close(why)
            write_session(out, relay.session_text())
        finally:
            signal.signal(signal.SIGINT, interrupt)
    click.echo(why)
    click.echo(f"wrote {out}: {relay.exchanges} exchanges, {relay.resets} resets")
