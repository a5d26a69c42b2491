"""The target options every card command shares: `--builtin`, `--image`, `--reader`, `--replay`.

One target per command (mutually exclusive, a usage error otherwise, exit 2), except that
`--image` beside `--reader` or `--replay` is not a second target but the description of that card
(its keys and PINs). `sscard run` also takes several readers at once:

    --reader A --reader B                  two cards, each described by the built-in sample of its ATR
    --reader A --image a.yaml --reader B --image b.yaml
                                           the n-th --image describes the card in the n-th --reader
    --reader A --reader B --describe d.yaml
                                           one description shared by every card
    --all-readers                          every reader that holds a card now

The cards are then opened by conformance.targets.open_target, the one opener the TUI and the
pytest plugin use as well.
"""

from __future__ import annotations

import click

from conformance.targets import BUILTIN, TargetSpec

_EXISTING = click.Path(exists=True, dir_okay=False)


def target_options(*, several: bool = False, builtin_help: str | None = None, image_help: str | None = None):
    """The four options, as one decorator. `several`: --reader and --image may be repeated (run)."""
    options = [
        click.option("--builtin", help=builtin_help or f"Built-in sample card ({', '.join(BUILTIN)})."),
        click.option("--image", type=_EXISTING, multiple=several, help=image_help or
                     "Card image: the emulated card; beside --reader/--replay, the description of that card"
                     + (" (repeat it: the n-th --image describes the card in the n-th --reader)." if several else ".")),
        click.option("--reader", multiple=several, help="PC/SC reader name (or a unique part of it)"
                     + (", repeatable: one card per reader, run at once." if several else ".")),
        click.option("--replay", type=_EXISTING, help="Replay a recorded session (JSON, apdu4j, apdutool)."),
    ]

    def decorate(function):
        for option in reversed(options):
            function = option(function)
        return function
    return decorate


def _given(value) -> bool:
    return bool(value) if isinstance(value, (tuple, list)) else value is not None


def check_exclusive(builtin=None, image=None, reader=None, replay=None, **more) -> None:
    """At most one target; --image beside --reader/--replay is a description. UsageError (exit 2)."""
    named = {"--builtin": builtin, "--reader": reader, "--replay": replay, **more}
    chosen = [name for name, value in named.items() if _given(value)]
    if len(chosen) > 1:
        raise click.UsageError(f"{' and '.join(chosen)} cannot be used together: give one target "
                               f"(--builtin, --image, --reader or --replay; --image beside --reader or "
                               f"--replay describes that card)")


def target_spec(builtin=None, image=None, reader=None, replay=None, *, default: str | None = "gen3",
                persist: bool = False) -> TargetSpec | None:
    """The one target of a command that takes one (apdu, card read): checked, then named."""
    check_exclusive(builtin, image, reader, replay)
    image = image[0] if isinstance(image, (tuple, list)) and image else image or None
    if reader or replay:
        return TargetSpec("reader" if reader else "replay", reader or replay, describe=image)
    if image:
        return TargetSpec("image", str(image), persist=persist)
    if builtin or default:
        return builtin_spec(builtin or default)
    return None


def builtin_spec(name: str) -> TargetSpec:
    try:
        return TargetSpec("builtin", name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--builtin") from None


def run_specs(builtin, image: tuple, reader: tuple, replay, describe, all_readers) -> list[TargetSpec]:
    """The cards of `sscard run`, paired as the module docstring says; a pairing that is not
    unambiguous is a usage error."""
    readers = list(reader)
    check_exclusive(builtin, None, readers or None, replay, **{"--all-readers": all_readers or None})
    if describe and image:
        raise click.UsageError("--describe and --image cannot be used together: --describe is one "
                               "description for every reader, --image one per reader")
    if all_readers:
        readers = readers_holding_cards()
    if readers:
        if image and len(image) != len(readers):
            raise click.UsageError(f"{len(readers)} readers and {len(image)} --image: give one --image per "
                                   f"--reader (paired in order), or one --describe FILE for all of them")
        described = list(image) or [describe] * len(readers)
        return [TargetSpec("reader", r, describe=d) for r, d in zip(readers, described)]
    if describe and not replay:
        raise click.UsageError("--describe goes with --reader, --all-readers or --replay: it describes a card "
                               "the tester reaches but does not emulate")
    if len(image) > 1:
        raise click.UsageError("several --image without --reader: give one card image (or one per --reader)")
    if replay:
        return [TargetSpec("replay", replay, describe=(image[0] if image else describe))]
    if image:
        return [TargetSpec("image", image[0])]
    names = [n.strip() for n in (builtin or ",".join(BUILTIN)).split(",") if n.strip()]
    return [builtin_spec(name) for name in names]


def readers_holding_cards() -> list[str]:
    """Every PC/SC reader with a card in it (--all-readers); none is a reachability error (exit 3)."""
    from conformance.targets import reader_names
    from conformance.transport import TransportError

    from .doctor import card_states

    names = reader_names()
    try:
        present = [name for name, atr in card_states(names).items() if atr] if names else []
    except RuntimeError as exc:  # pcscd answered with an error
        raise TransportError(f"cannot ask the readers for their cards: {exc}") from None
    if not present:
        raise TransportError(f"--all-readers: no reader holds a card (readers: {', '.join(names) or 'none'})")
    return sorted(present)
