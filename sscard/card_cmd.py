"""`sscard card new|show|read`: make a card image, show it decoded, read it like a terminal.

Only click is imported at module level so that `sscard --help` stays fast; the simulator, rich
and Pillow load inside the commands.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .exitcodes import BAD_INPUT, FAILED, NOT_WRITTEN, code_for
from .targets import check_exclusive, target_options, target_spec

PROFILES = click.Choice(["gen1", "gen2", "gen3"])
BLANK = "[dim]—[/dim]"


def _console():
    from conformance.textsafe import console as rich_console

    console = rich_console(highlight=False)
    if not console.is_terminal:         # piped or captured: no wrapping of long values
        console.width = 200
    return console


def _fail(message: str, code: int) -> None:
    from conformance.textsafe import printable

    click.echo(f"sscard: {printable(message)}", err=True)
    sys.exit(code)


def _load_card(path: Path, persist: bool = True):
    """The card of an image file; a bad image ends the command with its file:line message, exit 2."""
    from simulator import Card
    from simulator.image import ImageError, load_image

    try:
        if persist:
            card_ = Card.from_image(path, lock=True)  # its changes are saved: one holder at a time
            click.get_current_context().call_on_close(card_.close)  # and lets go of it at the end
            return card_
        return Card(load_image(path))   # no backing file: reading never rewrites the image
    except ImageError as exc:
        _fail(str(exc), code_for(exc) or BAD_INPUT)  # a bad image, or one another process holds


@click.group("card")
def card() -> None:
    """Card images: make a new one, show one decoded, read one through APDUs."""


# --- new ---------------------------------------------------------------------------------------

@card.command("new")
@click.option("--profile", "profile", type=PROFILES, required=True, help="card generation")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="card image to write (YAML, mode 0600)")
@click.option("--seed", type=int, default=None, help="same seed, same card (keys included)")
@click.option("--transport", type=click.Choice(["t0", "t1"]), default=None,
              help="transport switch of the image (default t0)")
@click.option("--force", is_flag=True, help="overwrite an existing file")
def new(profile: str, out: Path, seed: int | None, transport: str | None, force: bool) -> None:
    """Personalise a card for a new fictional person and write its image."""
    from simulator import Card
    from simulator.image import save_image
    from simulator.newcard import new_image

    from .pki_issue import personalise_pki

    if out.exists() and not force:
        _fail(f"{out} exists; use --force to overwrite it", BAD_INPUT)
    image = new_image(profile, seed, personalise_pki)
    if transport:
        image = {"profile": image["profile"], "switches": {"transport": transport},
                 **{k: v for k, v in image.items() if k != "profile"}}
    atr = Card.from_dict(image, source=str(out)).power_on()   # the image must load before it is written
    try:
        save_image(out, image)
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}", NOT_WRITTEN)
    person = image["person"]
    click.echo(f"wrote {out} ({profile}, fictional person {person['name']}, SSN {person['ssn']}, "
               f"card {image['data']['SSSE/EF05']['07']}, ATR {atr.hex().upper()})")


# --- show --------------------------------------------------------------------------------------

@card.command("show")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--secrets", is_flag=True, help="also print key values and PINs")
def show(path: Path, secrets: bool) -> None:
    """Show a card image decoded: items, card ID, PINs, keys, photo, certificates."""
    card_ = _load_card(path)
    console = _console()
    _show_header(console, card_, str(path))
    _show_items(console, card_)
    _show_layout(console, card_)
    _show_card_id(console, card_)
    _show_pins_keys(console, card_, secrets)
    _show_files(console, card_)


def _esc(value) -> str:
    """Text from an image or a card, shown as itself: no rich markup, no raw control characters."""
    from conformance.textsafe import markup_safe

    return markup_safe(value)


def _show_header(console, card_, source: str) -> None:
    model = card_.model
    console.print(f"[bold]{_esc(source)}[/bold]  profile {card_.image['profile']} "
                  f"(generation {model.generation}), transport {card_.transport}")
    console.print(f"ATR {card_.atr.hex().upper()}")
    console.print(f"application {card_.blocks['application']}, "
                  f"card {'BLOCKED' if card_.blocks['card_blocked'] else 'not blocked'}")
    person = card_.image.get("person") or {}
    if person:
        fields = ", ".join(f"{k} {_esc(v)}" for k, v in person.items() if k != "note")
        console.print(f"person: {fields}")
        if person.get("note"):
            console.print(f"[dim]{_esc(person['note'])}[/dim]")


def _show_items(console, card_) -> None:
    from rich.table import Table

    from simulator import items
    from simulator.filesystem import CyclicEF, RecordEF

    from .card_read import decode_record

    table = Table(title="data items (TLV record files)")
    for column in ("file", "rec", "tag", "项目", "item", "value"):
        table.add_column(column, no_wrap=column == "file")
    for path, ef in card_.model.efs.items():
        if not isinstance(ef, RecordEF) or isinstance(ef, CyclicEF) or "records" not in ef.spec:
            continue
        specs = ef.spec["records"]
        for number, (spec, rec) in enumerate(zip(specs, ef.records), 1):
            tag, zh, en, value = decode_record(bytes(rec), specs)
            blank = bytes(rec[2:]) == items.blank(spec["fmt"])
            table.add_row(_esc(path), str(number), _esc(tag), _esc(zh), _esc(en),
                          BLANK if blank or not value else _esc(value))
    console.print(table)


def _show_layout(console, card_) -> None:
    """The EFs the image's layout: declares (§9.1): shape, SFI, access conditions, how full."""
    from rich.table import Table

    from simulator.filesystem import CyclicEF, RecordEF
    from simulator.security import ac_text, parse_ac

    def ac(written: str, actual, ef) -> str:  # as the image writes it, unless the `ac` switch changed it
        return written if parse_ac(written, ef.parent) == actual else f"{ac_text(actual)} (switch ac)"

    declared = [(path, ef) for path, ef in card_.model.efs.items() if ef.spec.get("declared")]
    if not declared:
        return
    table = Table(title="files declared by the image's layout: (spec §9.1)")
    for column in ("file", "structure", "SFI", "shape", "read", "write", "content"):
        table.add_column(column, no_wrap=column == "file")
    for path, ef in declared:
        spec = ef.spec
        if isinstance(ef, CyclicEF):
            shape, content = f"up to {ef.capacity} × {ef.length} B", f"{len(ef.records)} records"
        elif isinstance(ef, RecordEF):
            shape = f"{len(ef.records)} × " + "/".join(sorted({str(len(r)) for r in ef.records})) + " B"
            content = "items above" if "records" in spec else \
                f"{sum(1 for r in ef.records if any(r))} of {len(ef.records)} records written"
        else:
            shape, used = f"{ef.size} B", len(bytes(ef.data).rstrip(b"\0"))
            content = f"{used} bytes used" if used else "empty"
        table.add_row(_esc(path), _esc(spec["structure"]), "none" if ef.sfi is None else f"{ef.sfi:02X}", shape,
                      _esc(ac(spec["read"], ef.read_ac, ef)), _esc(ac(spec["write"], ef.write_ac, ef)), content)
    console.print(table)


def _show_card_id(console, card_) -> None:
    from simulator import atr, schemes

    model = card_.model
    cid = bytes(model.efs["SSSE/EF05"].records[0][2:18])
    irk = model.dfs["SSSE"].keys.get(0x01)
    if irk is None or not irk.versions:
        check = "no IRK (key 01) in the image: not checked"
    elif schemes.cardid_mac(model.algorithm, irk.versions[1], cid[:12]) == cid[12:16]:
        check = "[green]matches the IRK[/green]"
    else:
        check = "[red]does NOT match the IRK[/red]"
    fields = atr.ssc_fields(card_.atr)
    atr_serial = fields.serial if fields is not None else b""
    link = "ATR carries the serial" if atr_serial == cid[8:12] else "[yellow]ATR does not carry the serial[/yellow]"
    rid = cid[3:8].hex().upper()
    console.print(f"card identification code {cid.hex().upper()}: region {cid[0:3].hex().upper()}, "
                  f"RID {rid}{'' if rid == 'D156000005' else ' (not D156000005)'}, "
                  f"serial {cid[8:12].hex().upper()} ({link}), auth code {cid[12:16].hex().upper()} ({check})")


def _show_pins_keys(console, card_, secrets: bool) -> None:
    from rich.table import Table

    from simulator.schemes import bcd_pin

    model = card_.model
    pins = Table(title="PINs")
    for column in ("PIN", "tries left", "state") + (("value",) if secrets else ()):
        pins.add_column(column)
    named = [("SSSE (cardholder)", model.dfs["SSSE"].pins.get(0))]
    holder = model.dfs.get("PKI/SS.CERT.ADF1")
    if holder is not None:
        named += [("PKI user", holder.pins.get(0x81)), ("PKI admin", holder.pins.get(0x00))]
    for name, pin in named:
        if pin is not None:
            pins.add_row(name, f"{pin.tries}/{pin.max_tries}", "BLOCKED" if pin.blocked else "ok",
                         *((bcd_pin(pin.value) or pin.value.hex().upper(),) if secrets else ()))
    console.print(pins)
    keys = Table(title="keys" + ("" if secrets else " (values hidden; --secrets shows them)"))
    for column in ("DF", "ref", "label", "role", "scheme", "tries") + (("value",) if secrets else ()):
        keys.add_column(column)
    for path, df in model.dfs.items():
        for number, key in df.keys.items():
            ref = number | (0x80 if path.startswith("SSSE/") else 0)
            tries = "—" if key.tries is None else f"{key.tries}/{key.max_tries}"
            value = key.versions[1].hex().upper() if key.versions.get(1) else "(no value: no key)"
            keys.add_row(_esc(path), f"{ref:02X}", _esc(key.label), _esc(key.role), _esc(key.scheme), tries,
                         *((value,) if secrets else ()))
    console.print(keys)


def _photo_text(data: bytes) -> str:
    used = data.rstrip(b"\0")
    if not used:
        return "empty"
    text = f"{len(used)} of {len(data)} bytes"
    if not used.startswith(b"\xff\xd8"):
        return text + ", not a JPEG"
    try:
        import io

        from PIL import Image

        with Image.open(io.BytesIO(used)) as img:
            return text + f", JPEG {img.width}x{img.height}"
    except Exception as exc:  # a broken photo is shown, not fatal
        return text + f", JPEG that does not open ({exc})"


def _show_files(console, card_) -> None:
    efs = card_.model.efs
    console.print(f"photo (SSSE/EF08): {_photo_text(bytes(efs['SSSE/EF08'].data))}")
    used = len(bytes(efs["SSSE/EF07"].data).rstrip(b"\0"))
    console.print(f"fingerprint (SSSE/EF07): {f'{used} bytes' if used else 'empty'}")
    if "PKI/SS.CERT.ADF1/0018" not in efs:
        return
    console.print("[bold]PKI (SS.CERT.ADF1)[/bold]")
    for fid, what in (("0012", "signing public key"), ("0014", "encryption public key")):
        data = bytes(efs[f"PKI/SS.CERT.ADF1/{fid}"].data)
        console.print(f"  {fid} {what}: {data.hex().upper() if any(data) else 'none (all zero)'}")
    from simulator.tlv import total_length
    try:
        from simulator.certs import describe_certificate
    except ImportError:
        describe_certificate = None
    for fid, what in (("0018", "signing certificate"), ("0019", "encryption certificate")):
        data = bytes(efs[f"PKI/SS.CERT.ADF1/{fid}"].data)
        length = total_length(data, 0x30)
        if not any(data):
            console.print(f"  {fid} {what}: none")
        elif length is None or length > len(data):
            console.print(f"  {fid} {what}: [yellow]not DER[/yellow] ({len(data.rstrip(bytes(1)))} bytes)")
        elif describe_certificate is None:
            console.print(f"  {fid} {what}: {length} bytes of DER")
        else:
            try:
                info = describe_certificate(data[:length])
            except Exception as exc:
                console.print(f"  {fid} {what}: {length} bytes, [yellow]not a certificate[/yellow]: {_esc(exc)}")
                continue
            console.print(f"  {fid} {what}: {length} bytes")
            for key, value in info.items():
                console.print(f"    {key}: {_esc(value)}")


# --- read --------------------------------------------------------------------------------------

@card.command("read")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@target_options(builtin_help="the sample card of spec §3.8",
                image_help="a card image (as PATH); beside --reader/--replay, the description of that card")
@click.option("--new", "new_profile", type=PROFILES, default=None, help="a new card of a fictional person")
@click.option("--seed", type=int, default=None, help="with --new: the seed of the new card")
@click.option("--trace", is_flag=True, help="print every APDU exchange")
def read(path: Path | None, builtin: str | None, image: str | None, reader: str | None, replay: str | None,
         new_profile: str | None, seed: int | None, trace: bool) -> None:
    """Read a card the way a reader application does: ATR, SELECT, READ RECORD, VERIFY.

    The image file, if any, is not changed.
    """
    from rich.table import Table

    from .card_read import ReadError, read_card

    if path is not None and image is not None:
        raise click.UsageError("give the card image once: PATH or --image")
    image = image or (str(path) if path is not None else None)
    check_exclusive(builtin, image, reader, replay, **{"--new": new_profile})
    if sum(x is not None for x in (image if not (reader or replay) else None, builtin, new_profile,
                                   reader, replay)) != 1:
        raise click.UsageError("give one of PATH, --builtin PROFILE, --new PROFILE, --reader NAME, --replay FILE")
    if seed is not None and new_profile is None:
        raise click.UsageError("--seed goes with --new")
    transmit, image_, atr, title = _read_target(builtin, image, reader, replay, new_profile, seed)
    console = _console()
    console.print(f"[bold]{_esc(title)}[/bold]  profile {_esc(image_['profile'])}")
    console.print(f"ATR {atr.hex().upper()}")
    if image_.get("person", {}).get("note"):
        console.print(f"[dim]{_esc(image_['person']['note'])}[/dim]")

    def show_apdu(command: bytes, response: bytes) -> None:
        console.print(f"[dim]> {command.hex().upper()}\n< {response.hex().upper()}[/dim]")

    try:
        rows = read_card(transmit, image_, show_apdu if trace else None)
    except ReadError as exc:
        _fail(str(exc), FAILED)  # the card refused what every reader needs
    table = Table(title="what a reader sees")
    for column in ("file", "rec", "tag", "项目", "item", "value", "SW"):
        table.add_column(column, no_wrap=column in ("file", "SW"))
    for row in rows:
        value = _esc(row.value) if row.value else BLANK
        if row.record == 0:
            table.add_row(_esc(row.file), BLANK, BLANK, f"[italic]{_esc(row.item)}[/italic]",
                          f"[italic]{_esc(row.en)}[/italic]", value, row.sw or BLANK)
        else:
            table.add_row(_esc(row.file), str(row.record), _esc(row.tag) if row.tag else BLANK, _esc(row.item),
                          _esc(row.en), value, _esc(row.sw))
    console.print(table)


def _read_target(builtin, image, reader, replay, new_profile, seed):
    """(transmit, card image, ATR, title) of the card to read; an image is read from memory (the
    file is not changed), a reader's or a recording's card through the one target opener."""
    from simulator import Card

    if new_profile is not None:
        from simulator.newcard import new_image

        from .pki_issue import personalise_pki
        card_ = Card.from_dict(new_image(new_profile, seed, personalise_pki), source=f"<new {new_profile}>")
        title = f"new {new_profile} card" + (f" (seed {seed})" if seed is not None else "")
        return card_.transmit, card_.export_image(), card_.power_on(), title
    if image is not None and not (reader or replay):
        card_ = _load_card(Path(image), persist=False)
        return card_.transmit, card_.export_image(), card_.power_on(), image
    from conformance.targets import open_target
    from conformance.transport import TransportError

    from .exitcodes import UNREACHABLE

    try:
        transport, under_test = open_target(target_spec(builtin, image, reader, replay))
    except TransportError as exc:
        _fail(str(exc), UNREACHABLE)
    except ValueError as exc:  # a description or session that does not read
        _fail(str(exc), code_for(exc) or BAD_INPUT)
    click.get_current_context().call_on_close(transport.close)
    title = f"built-in {builtin} sample card" if builtin else f"card in {transport.name}"
    return transport.transmit, under_test.image, transport.atr, title
