"""iReadCard and iWriteCard (ssc-terminal.md §4.4.2, §4.4.3): each `<DF><EF>` group read or
written item by item, the file's access condition met as iAuthType says (PD-T10)."""

from __future__ import annotations

from typing import Callable

from simulator import items

from . import layout, params
from .call import Call
from .errors import ApduError, ParamError
from .psam import psam_index
from .ssse import tlv_value

DEFAULT_READ = {"SSSE": layout.Access(key=0x0A)}        # an EF the profile does not know
DEFAULT_DF_READ = layout.Access(pin=True, key=0x81)
DEFAULT_WRITE = {"SSSE": 0x04}
DEFAULT_DF_WRITE = 0x83


class _Files:
    """The DF walk of one call: selects each group's DF once and remembers what was satisfied there."""

    def __init__(self, call: Call, pin_entry: Callable[[], str] | None = None):
        self.call, self.pin_entry = call, pin_entry
        self.df = "SSSE"
        self.satisfied: set = {"key-0A"} if call.rk_done else set()

    def enter(self, group: params.Group) -> layout.EfInfo:
        if group.df != self.df:
            if group.df == "SSSE":
                self.call.session.select()
            else:
                self.call.session.select_df(group.df)
            self.df, self.satisfied = group.df, set()
        info = layout.ef_info(group.df, group.ef, self.call.generation)
        if info is None:  # an EF of the card's own layout: the DF's usual conditions
            read = DEFAULT_READ.get(group.df, DEFAULT_DF_READ)
            write = layout.Access(key=DEFAULT_WRITE.get(group.df, DEFAULT_DF_WRITE))
            info = layout.EfInfo(group.df, group.ef, int(group.ef[2:], 16), "tlv", {}, read, write)
        return info

    def authenticate(self, ref: int) -> None:
        if f"key-{ref:02X}" not in self.satisfied:
            psam_index(self.df, ref)  # a key the PSAM cannot have: say so before touching the card
            self.call.session.external_authenticate(ref, self.call.keys(), self.df)
            self.satisfied.add(f"key-{ref:02X}")

    def verify(self) -> None:
        if "PIN" not in self.satisfied:
            self.call.session.verify(self.pin_entry())
            self.satisfied.add("PIN")

    def satisfy_read(self, access: layout.Access, auth_type: int) -> None:
        """iAuthType 1 PIN, 2 key, 3 both; a condition it cannot meet stays unmet (6982 follows)."""
        if access.pin and auth_type in (1, 3):
            self.verify()
        if access.key is not None and auth_type in (2, 3):
            self.authenticate(access.key)
        elif access.key is not None and not access.pin and self.df == "SSSE" and self.call.generation == 3:
            self.authenticate(access.key)  # RKSSSE: the card check of every gen3 call needs it anyway

    def read_once_more(self, read: Callable[[], bytes], access: layout.Access, auth_type: int) -> bytes:
        """`read()`; after a 6982, meet the condition and read again."""
        try:
            return read()
        except ApduError as exc:
            if exc.sw != 0x6982:
                raise
        self.satisfy_read(access, auth_type)
        return read()


def _decode(fmt: str | None, value: bytes) -> str:
    return str(items.decode(fmt, value)) if fmt else value.hex().upper()


def read(call: Call, auth_type: int, groups: list[params.Group], pin_entry: Callable[[], str]) -> str:
    walk = _Files(call, pin_entry)
    result = []
    for group in groups:
        info = walk.enter(group)
        session = call.session
        if info.structure == "transparent":
            def content(ef=group.ef):
                session.select_fid(ef)
                return session.read_binary_all()
            values = [walk.read_once_more(content, info.read, auth_type).hex().upper()]
        else:
            values = []
            for tag in params.tags(group):
                raw = walk.read_once_more(lambda t=tag: session.read_record(tag=t, sfi=info.sfi), info.read, auth_type)
                values.append(_decode(info.formats.get(tag), tlv_value(raw, tag)))
        result.append((group.name, values))
    return params.render(result)


def _encode(info: layout.EfInfo, tag: int, value: str) -> bytes:
    fmt = info.formats.get(tag)
    try:
        return items.encode(fmt, value, pad=0x00) if fmt else bytes.fromhex(value)
    except ValueError as exc:
        raise ParamError(-23, f"{info.df}/{info.ef} item {tag:02X}: {exc}") from None


def write(call: Call, addresses: list[params.Group], data: list[params.Group]) -> None:
    pairs = list(zip(addresses, data))
    if len(addresses) != len(data) or any(a.name.upper() != d.name.upper() for a, d in pairs):
        raise ParamError(-14, "pWriteData must have the groups of pFileAddr, one to one")
    encoded = []  # every value is checked before the first write: a bad one writes nothing
    for address, values in pairs:
        info = layout.ef_info(address.df, address.ef, call.generation)
        transparent = info is not None and info.structure == "transparent"
        if len(values.items) != (1 if transparent else len(address.items)) or (transparent and address.items):
            raise ParamError(-14, f"pWriteData group {values.name}: one value per item of pFileAddr "
                                  "(a transparent EF: no item, its content as one hex value)")
        if transparent:
            try:
                encoded.append([bytes.fromhex(values.items[0])])
            except ValueError:
                raise ParamError(-23, f"{address.name}: the content must be hex") from None
        else:
            holder = info or layout.EfInfo(address.df, address.ef, int(address.ef[2:], 16), "tlv")
            encoded.append([_encode(holder, t, v) for t, v in zip(params.tags(address), values.items)])
    walk = _Files(call)
    for (address, _), raw_values in zip(pairs, encoded):
        info = walk.enter(address)
        if info.write.key is None:
            raise ParamError(-14, f"{address.df}/{address.ef} is not writable by a terminal")
        walk.authenticate(info.write.key)
        if info.structure == "transparent":
            call.session.select_fid(address.ef)
            call.session.update_binary(0, raw_values[0])
            continue
        for tag, raw in zip(params.tags(address), raw_values):
            call.session.write_item(tag, info.sfi, raw)
