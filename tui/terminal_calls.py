"""What the terminal screen runs, apart from the widgets: one LD/T 33 function through
`terminal.Terminal` on a card slot and a PSAM slot, its outcome (the result string or the code and
its message, the decoded fields, the trace of both slots), and the item names and sample values
that make the screen's tables and defaults. Called from a thread worker; no Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.profile import profile_data
from simulator.samples import sample_image
from terminal import Terminal, TerminalError, params

from .targets import Target, TargetError

# The 11 fields of iReadCardBas (§4.4.1), in order.
BASIC_FIELDS = (
    ("region", "发卡地区行政区划代码", "issuing region"), ("ssn", "社会保障号码", "social security number"),
    ("card_no", "卡号", "card number"), ("card_id", "卡识别码", "card identification code"),
    ("name", "姓名", "name"), ("atr_hist", "卡复位信息", "ATR historical bytes"),
    ("version", "规范版本", "specification version"), ("issue_date", "发卡日期", "issue date"),
    ("expiry", "卡有效期", "expiry date"), ("terminal_no", "终端机编号", "terminal number (PSAM)"),
    ("device_no", "终端设备号", "device number"),
)


@dataclass
class Exchange:
    slot: str  # card | psam
    command: bytes | None  # None: a reset
    response: bytes


@dataclass
class Outcome:
    function: str
    code: int | None = 0  # None: the run broke without an LD/T 33 code
    text: str = ""  # the result string, or the code's message
    sw: int | None = None
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (where, item, value)
    card_info: str = ""  # pCardInfo of the card read, for the next call
    detail: str = ""  # what exactly was wrong (a parameter, a status word), beside the §4.2 message
    trace: list[Exchange] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.code == 0


def _items_by_file() -> dict[str, dict[str, dict]]:
    """{"SSSEEF06": {"09": {item, en, fmt, …}}, "DF01EF05": {…}} from the card profile."""
    found: dict[str, dict[str, dict]] = {}
    for df in profile_data()["tree"]:
        for child in [df, *df.get("children", ())]:
            for spec in child.get("files", ()):
                if spec.get("records"):
                    found[child["df"] + spec["ef"]] = {r["tag"].upper(): r for r in spec["records"]}
    return found


def item_rows(file_addr: str, values: str) -> list[tuple[str, str, str]]:
    """(file and tag, item name, value) for each item of a valid iReadCard/iWriteCard string."""
    names = _items_by_file()
    rows = []
    for address, group in zip(params.groups(file_addr), params.groups(values, "values")):
        for tag, value in zip(address.items, group.items):
            spec = names.get(address.df + address.ef, {}).get(tag.upper(), {})
            rows.append((f"{address.df}/{address.ef} {tag.upper()}", f"{spec.get('item', '')} {spec.get('en', '')}".strip(),
                         value))
    return rows


def sample_values(profile: str, file_addr: str) -> str:
    """The built-in sample's own values for `file_addr` in pWriteData form (a harmless write), or ""."""
    try:
        addressed = params.groups(file_addr)
    except params.ParamError:
        return ""
    data = sample_image(profile)["data"]
    result = []
    for group in addressed:
        path = "/".join(p for p in ("SSSE", group.df if group.df != "SSSE" else "", group.ef) if p)
        record = {k.upper(): str(v) for k, v in data.get(path, {}).items()}
        result.append((group.name, [record.get(t.upper(), "") for t in group.items]))
    return params.render(result)


# --- the calls ------------------------------------------------------------------------------

def open_psam(target: Target):
    """A PSAM transport: the emulated PSAM of a profile or an image, or a PC/SC reader."""
    from conformance.transport import EmulatedTransport, PcscTransport, TransportError
    from simulator.psam import Psam

    try:
        if target.kind == "builtin":
            return EmulatedTransport(Psam.builtin(profile=target.name), name=f"emulated PSAM {target.name}")
        if target.kind == "image":
            return EmulatedTransport(Psam.from_image(target.name), name=f"emulated PSAM {target.name}")
        return PcscTransport(target.name)
    except TransportError as exc:
        raise TargetError(exc.reason) from None
    except (OSError, ValueError) as exc:  # a missing or broken PSAM image
        raise TargetError(f"PSAM {target.label}: {exc}") from None


def perform(function: str, params: dict, card, psam, pin_pad, rng) -> Outcome:
    """Run one LD/T 33 function through terminal.Terminal; a TerminalError becomes its code."""
    term = Terminal(card, psam=psam, pin_pad=pin_pad, require_psam=bool(params.get("require-psam")), rng=rng)
    try:
        return _call(term, function, params)
    except TerminalError as exc:
        return Outcome(function, exc.code, exc.message, exc.sw, detail=exc.detail)


def _call(term: Terminal, function: str, params: dict) -> Outcome:
    pin, new = params.get("pin") or None, params.get("new-pin") or None
    card_info, addr = params.get("card-info") or "", params.get("file-addr", "")
    if function == "read-basic" or (not card_info and function in ("read", "write", "reload-pin", "unblock-pin")):
        basic = term.read_card_bas(1)  # also pCardInfo as the card shows it, as the CLI does
        card_info = f"{basic.card_id}|{basic.card_no}|"
        if function == "read-basic":
            rows = [(str(n), f"{zh} {en}", getattr(basic, attr)) for n, (attr, zh, en) in enumerate(BASIC_FIELDS, 1)]
            return Outcome(function, 0, basic.to_ldt33(), fields=rows, card_info=card_info)
    done = Outcome(function, 0, "", card_info=card_info)
    if function == "read":
        done.text = term.read_card(1, int(params.get("auth") or 0), card_info, addr)
        done.fields = item_rows(addr, done.text)
    elif function == "write":
        term.write_card(1, card_info, addr, params["write-data"])
        done.fields = item_rows(addr, params["write-data"])
    elif function == "verify-pin":
        term.verify_pin(1, pin)
    elif function == "change-pin":
        term.change_pin(1, pin, new)
    elif function == "reload-pin":
        term.reload_pin(1, card_info, new)
    elif function == "unblock-pin":
        term.unblock_pin(1, card_info, new)
    return done


def close_quietly(transport) -> None:
    try:
        transport.close()
    except Exception:  # closing a dead reader is not worth an error
        pass
