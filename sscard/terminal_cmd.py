"""`sscard terminal`: the LD/T 33 terminal functions (docs/spec/ssc-terminal.md §4.4) against a
card (built-in, image or PC/SC reader) and a PSAM (built-in, image or PC/SC reader, or none).

Success prints the function's result string (pOutInfo) on stdout and exits 0; a failure prints
the LD/T 33 code and its message (§4.2) on stderr and exits 1 (2 for a bad parameter, 3 when the
card or a reader cannot be reached).
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

from .exitcodes import BAD_INPUT, FAILED, UNREACHABLE, CodedError


def _card_slot(builtin: str | None, image: Path | None, reader: str | None):
    from simulator import Card

    chosen = [o for o in (builtin, image, reader) if o]
    if len(chosen) > 1:
        raise click.UsageError("give one card: --builtin, --image or --reader")
    if reader:
        from terminal.pcsc import PcscSlot

        return PcscSlot(reader)
    return Card.from_image(image, lock=True) if image else Card.builtin(builtin or "gen3")


def _psam_slot(psam: str | None, psam_reader: str | None, no_psam: bool, card_reader: str | None):
    if no_psam:
        if psam is not None or psam_reader:
            raise click.UsageError("--no-psam cannot go with --psam or --psam-reader")
        return None
    if psam is not None and psam_reader:
        raise click.UsageError("give one PSAM: --psam or --psam-reader")
    from terminal.pcsc import PcscSlot, find_psam_reader

    if psam_reader:
        return PcscSlot(psam_reader)
    if psam is not None:
        from .serve import _load_psam

        return _load_psam(psam)[1]
    if card_reader:  # a card in a reader: look for a PSAM (by its ATR, §2.1) in the other readers
        found = find_psam_reader(exclude=PcscSlot(card_reader).name)
        return PcscSlot(found) if found else None
    return None


def _pin_pad(prompt: str) -> str:
    return click.prompt(prompt, hide_input=True, err=True)


def _trace(slot_name: str):
    def hook(command, response) -> None:
        if command is None:
            click.echo(f"{slot_name} ATR {response.hex().upper()}", err=True)
        else:
            click.echo(f"{slot_name} > {command.hex().upper()} < {response.hex().upper()}", err=True)
    return hook


def terminal_options(function):
    """The card, the PSAM and the terminal's settings, shared by every function."""
    options = [
        click.option("--builtin", type=click.Choice(["gen1", "gen2", "gen3"]), help="Built-in sample card (default gen3)."),
        click.option("--image", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Card image to emulate (its changes are saved to it)."),
        click.option("--reader", help="A PC/SC reader holding the card (name or a unique part of it)."),
        click.option("--psam", is_flag=False, flag_value="", default=None, metavar="[PSAM.yaml|PROFILE]",
                     help="The emulated PSAM: built-in (no value, or a profile: default, no-rk, des-only, "
                          "sm4-only) or a PSAM image."),
        click.option("--psam-reader", help="A PC/SC reader holding the PSAM."),
        click.option("--no-psam", is_flag=True, help="No PSAM (with --reader the PSAM is otherwise looked for by its ATR)."),
        click.option("--require-psam", is_flag=True, help="Fail with -2201 when there is no PSAM (else PD-T12)."),
        click.option("--stub-hsm", is_flag=True,
                     help="Without a PSAM, read gen3 cards through the test bench's stub HSM (§4.4.8; "
                          "card keys from the sample roots of card §5.5)."),
        click.option("--device-no", default="", help="终端设备号, field 11 of iReadCardBas (default empty)."),
        click.option("--itype", type=click.IntRange(1, 4), default=1, show_default=True,
                     help="iType: 1 contact, 2 contactless, 3/4 automatic."),
        click.option("--trace", is_flag=True, help="Print every APDU of both slots on stderr."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def run_function(action):
    """Build the Terminal from the options, run `action(terminal, itype, **rest)`, report the result."""
    @functools.wraps(action)
    def command(builtin, image, reader, psam, psam_reader, no_psam, require_psam, stub_hsm, device_no, itype, trace,
                **rest):
        from terminal import StubHsm, Terminal, TerminalError
        from terminal.errors import ParamError, ReaderError
        from terminal.transport import TracedSlot

        card = psam_slot = None
        try:
            card = _card_slot(builtin, image, reader)
            psam_slot = _psam_slot(psam, psam_reader, no_psam, reader)
            if trace:
                card = TracedSlot(card, _trace("card"))
                psam_slot = psam_slot and TracedSlot(psam_slot, _trace("psam"))
            term = Terminal(card, psam=psam_slot, pin_pad=_pin_pad, device_no=device_no, require_psam=require_psam,
                            hsm=StubHsm() if stub_hsm else None)
            result = action(term, itype, **rest)
        except TerminalError as exc:
            code = BAD_INPUT if isinstance(exc, ParamError) else UNREACHABLE if isinstance(exc, ReaderError) else FAILED
            detail = f" ({exc.detail})" if exc.detail else ""
            raise CodedError(f"{exc.code} {exc.message}{detail}", code) from None
        finally:
            for slot in (card, psam_slot):  # an image card lets go of its file, a reader of its card
                getattr(slot, "close", lambda: None)()
        if result:
            from conformance.textsafe import printable

            click.echo(printable(result))  # the card's own text: its control characters shown, not obeyed
    return command


def _card_info(term, itype: int, given: str | None) -> str:
    """pCardInfo as given, else as the card shows it (卡识别码|卡号|, read with iReadCardBas)."""
    if given:
        return given
    basic = term.read_card_bas(itype)
    return f"{basic.card_id}|{basic.card_no}|"


CARD_INFO = click.option("--card-info", help="pCardInfo '卡识别码|卡号|' (default: read from the card).")


@click.group("terminal")
def terminal() -> None:
    """The LD/T 33 terminal functions (iReadCardBas, iReadCard, iWriteCard, PINs) on a card and a PSAM.

    \b
    sscard terminal read-basic --builtin gen3 --psam
    sscard terminal read --builtin gen2 --file-addr 'SSSEEF05|03|05|06|$SSSEEF06|08|09|$'
    sscard terminal read-basic --reader "Virtual PCD 00 00" --psam-reader "Virtual PCD 00 01"
    """


@terminal.command("read-basic")
@terminal_options
@run_function
def read_basic(term, itype):
    """iReadCardBas: the 11 basic fields, '|'-separated."""
    return term.read_card_bas(itype).to_ldt33()


@terminal.command("read")
@terminal_options
@CARD_INFO
@click.option("--file-addr", required=True, help="pFileAddr, e.g. 'SSSEEF05|03|05|$SSSEEF06|08|09|$'.")
@click.option("--auth", type=click.IntRange(0, 3), default=0, show_default=True,
              help="iAuthType: 0 none, 1 PIN (PIN pad), 2 PSAM key, 3 both.")
@run_function
def read(term, itype, card_info, file_addr, auth):
    """iReadCard: the items of pFileAddr, in the same groups."""
    return term.read_card(itype, auth, _card_info(term, itype, card_info), file_addr)


@terminal.command("write")
@terminal_options
@CARD_INFO
@click.option("--file-addr", required=True, help="pFileAddr of the items to write.")
@click.option("--write-data", required=True, help="pWriteData: the same groups with the new values.")
@run_function
def write(term, itype, card_info, file_addr, write_data):
    """iWriteCard: write items (the write key through the PSAM)."""
    term.write_card(itype, _card_info(term, itype, card_info), file_addr, write_data)
    click.echo("written", err=True)


PIN = click.option("--pin", help="The PIN (default: asked for, hidden, like a PIN pad).")
NEW_PIN = click.option("--new-pin", help="The new PIN (default: asked for twice).")


@terminal.command("verify-pin")
@terminal_options
@PIN
@run_function
def verify_pin(term, itype, pin):
    """iVerifyPIN: check the cardholder PIN (-51 with the tries left, -52 blocked)."""
    term.verify_pin(itype, pin)
    click.echo("PIN verified", err=True)


@terminal.command("change-pin")
@terminal_options
@PIN
@NEW_PIN
@run_function
def change_pin(term, itype, pin, new_pin):
    """iChangePIN: old PIN, then the new one."""
    term.change_pin(itype, pin, new_pin)
    click.echo("PIN changed", err=True)


@terminal.command("reload-pin")
@terminal_options
@CARD_INFO
@NEW_PIN
@run_function
def reload_pin(term, itype, card_info, new_pin):
    """iReloadPIN: set a new PIN with the reload key through the PSAM (also unblocks)."""
    term.reload_pin(itype, _card_info(term, itype, card_info), new_pin)
    click.echo("PIN reloaded", err=True)


@terminal.command("unblock-pin")
@terminal_options
@CARD_INFO
@click.option("--new-pin", help="Also set this PIN (the standard function keeps the old one).")
@run_function
def unblock_pin(term, itype, card_info, new_pin):
    """iUnblockPIN: reset the PIN's try counter with the unblock key through the PSAM."""
    term.unblock_pin(itype, _card_info(term, itype, card_info), new_pin)
    click.echo("PIN unblocked", err=True)
