"""`sscard run --destructive / --irreversible [--yes]`: which cases that change the card may run on a
card in a reader (conformance/runner.py CHANGING). An emulated card runs them all and is rebuilt
after each, so the flags are for readers only; irreversible cases need a typed confirmation."""

from __future__ import annotations

import click

from .exitcodes import BAD_INPUT

CONFIRMATION = "yes I understand"


def changing_allowed(specs, destructive: bool, irreversible: bool, assume_yes: bool) -> frozenset:
    """The kinds allowed on the reader cards of `specs`; a usage error when a flag has no reader
    card to apply to; exit 2 when the irreversible confirmation is not typed."""
    readers = [spec for spec in specs if spec.kind == "reader"]
    for flag, given in (("--destructive", destructive), ("--irreversible", irreversible)):
        if given and not readers:
            raise click.UsageError(f"{flag} goes with --reader or --all-readers: an emulated card runs "
                                   f"every case and is rebuilt after those that change it")
    undescribed = [spec.name for spec in readers if not spec.describe]
    if (destructive or irreversible) and undescribed:  # a cleanup with unknown keys would count a key down
        raise click.UsageError(f"{'--destructive' if destructive else '--irreversible'} needs the card's "
                               f"description (--image or --describe) for {', '.join(undescribed)}: the cases "
                               f"restore the card with its keys")
    if assume_yes and not irreversible:
        raise click.UsageError("--yes goes with --irreversible (it answers its confirmation)")
    if irreversible and not assume_yes:
        _confirm(readers)
    return frozenset(kind for kind, given in (("destructive", destructive), ("irreversible", irreversible))
                     if given)


def _confirm(readers) -> None:
    numbers = {n for n in (_card_number(spec.describe) for spec in readers) if n}
    said = (f"the card number ({', '.join(sorted(numbers))}) or " if len(readers) == 1 and numbers else "")
    click.echo(f"--irreversible runs cases that block the card in {', '.join(s.name for s in readers)} for good "
               f"(CARD BLOCK, a permanently blocked application or PIN, appends to the transaction log).",
               err=True)
    typed = click.prompt(f"Type {said}'{CONFIRMATION}' to go on", default="", show_default=False, err=True)
    if typed.strip() != CONFIRMATION and not (said and typed.strip() in numbers):
        click.echo(f"not confirmed ({typed.strip()!r}): nothing was run", err=True)
        raise SystemExit(BAD_INPUT)


def _card_number(image_path) -> str | None:
    """The card number (SSSE/EF05 tag 07, 卡号) of a description, if it gives one."""
    if not image_path:
        return None
    from simulator.image import load_image

    data = (load_image(image_path).get("data") or {}).get("SSSE/EF05") or {}
    return str(data.get("07") or "") or None
