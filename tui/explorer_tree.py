"""The card explorer's reading: the whole tree (MF, SSSE and its EFs, DF01–DF07, the PKI
application) read through APDUs over any conformance Transport, so a physical card reads the
same way as an emulated one. The profile data (simulator/profiles/ssc.yaml) with the
description's `layout:` merged in (simulator.layout.card_tree, §9.1) gives the layout and the
item names; every value shown comes from the bytes the card answered.

Secrets come from the card-under-test description. A refused PIN or key is never tried twice:
on a physical card each try counts against its counter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from conformance import compute
from conformance.card_model import DF_NAMES
from conformance.card_under_test import CardUnderTest, MissingSecret
from conformance.processors import Trace, standard_chain
from simulator import items, tlv
from simulator.codecs import SM2PublicKey, record_item
from simulator.layout import card_tree
from simulator.sw import describe as sw_describe
from terminal import ApduError, KeySet, Session
from terminal.transport import Channel

EF = 0x02  # SELECT P1: a child EF of the current DF

# Names of the SSSE EFs whose profile entry carries none (spec §2.1).
EF_NAMES = {"EF05": ("发卡机构数据", "card-issuer data"), "EF06": ("持卡人基本信息", "cardholder basic data"),
            "EF0D": ("人员识别号 / 初次申领地", "person id / first-application region")}


EMPTY = "empty"  # the status of a cyclic EF that holds no record yet


@dataclass
class Row:
    where: str  # record number, "offset 0", or a step name (SELECT, VERIFY)
    tag: str
    item: str
    value: str
    sw: str


@dataclass
class Node:
    path: str  # "SSSE/DF01/EF05"
    label: str
    kind: str  # mf | df | tlv | linear | cyclic | dir | transparent
    rows: list[Row] = field(default_factory=list)
    children: list["Node"] = field(default_factory=list)
    status: str = ""  # the last status word of reading it, in words

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


def _tlv(data: bytes) -> str:
    return "; ".join(line.strip() for line in tlv.describe(data))


def _sw(sw: int) -> str:
    return f"{sw:04X} {sw_describe(sw)}"


class CardReader:
    """Reads the tree; `on_node(node)` is called as each file is done (for a live display)."""

    def __init__(self, transport, card: CardUnderTest, on_node: Callable[[Node], None] = lambda n: None):
        self.card, self.on_node = card, on_node
        self.trace = Trace(atr=_atr(transport), protocol=getattr(transport, "protocol", "T=1"),
                           reader=getattr(transport, "name", ""))
        self.chain = standard_chain(transport, self.trace)
        # The chain follows 61xx/6Cxx and traces: the session adds no processor of its own.
        self.session = Session(Channel(self.chain, processors=()))
        self.generation = card.generation
        self.context = compute.Context(card, current_df="MF")
        self.refused: set[str] = set()  # secrets the card refused: never tried again

    # --- exchanges ------------------------------------------------------------------------

    def send(self, apdu: bytes) -> tuple[bytes, int]:
        return self.session.exchange(apdu)

    def do(self, method, *args, **kwargs) -> tuple[bytes, int, bytes]:
        """A session command that never raises: (data, SW, the command that answered it)."""
        try:
            return method(*args, **kwargs) or b"", 0x9000, b""
        except ApduError as exc:
            return exc.data, exc.sw, exc.apdu

    def select_name(self, name_hex: str, node: Node, df: str) -> bool:
        data, sw, _ = self.do(self.session.select_name, bytes.fromhex(name_hex), df)
        node.rows.append(Row("SELECT", "", f"by name {name_hex}", _tlv(data) or data.hex().upper(), _sw(sw)))
        node.status = _sw(sw)
        if sw in (0x9000, 0x6283):
            self.context.current_df = df
            return True
        return False

    def verify_pin(self, node: Node) -> None:
        if "PIN" in self.refused:
            node.rows.append(Row("VERIFY", "", "cardholder PIN", "not tried: refused before", ""))
            return
        try:
            pin = self.card.pin("SSSE")
        except MissingSecret as exc:
            self.refused.add("PIN")
            node.rows.append(Row("VERIFY", "", "cardholder PIN", str(exc), ""))
            return
        _, sw, _ = self.do(self.session.verify, pin)
        if sw != 0x9000:
            self.refused.add("PIN")
        node.rows.append(Row("VERIFY", "", "cardholder PIN", "verified" if sw == 0x9000 else "refused", _sw(sw)))

    def authenticate(self, node: Node, ref: str) -> bool:
        holder = f"{self.context.current_df}/{ref}"
        if holder in self.refused:
            return False
        try:
            key = self.card.key(ref, self.context.current_df)
        except MissingSecret as exc:
            self.refused.add(holder)
            node.rows.append(Row("EXT AUTH", "", f"key {ref}", str(exc), ""))
            return False
        keys = KeySet(lambda *_: key, self.card.algorithm)
        _, sw, failed = self.do(self.session.external_authenticate, int(ref, 16), keys, self.context.current_df)
        if failed[1:2] == b"\x84":
            node.rows.append(Row("GET CHALLENGE", "", f"for key {ref}", "", _sw(sw)))
            return False
        if sw != 0x9000:
            self.refused.add(holder)
        node.rows.append(Row("EXT AUTH", "", f"key {ref}", "authenticated" if sw == 0x9000 else "refused", _sw(sw)))
        return sw == 0x9000

    # --- the tree -------------------------------------------------------------------------

    def read(self) -> Node:
        root = Node("MF", "MF 3F00", "mf")
        _, sw, _ = self.do(self.session.select_fid, "3F00", "MF")
        root.rows.append(Row("SELECT", "", "MF by FID 3F00", "", _sw(sw)))
        root.status = _sw(sw)
        self.on_node(root)
        for entry in card_tree(self.card.image):  # built-in EFs and the image's layout: (§9.1)
            if self.generation not in entry.get("gens", (1, 2, 3)):
                continue
            root.children.append(self.read_df(entry, "", None))
        return root

    def read_df(self, entry: dict, parent: str, parent_node: Node | None) -> Node:
        name = entry["df"]
        short = "ADF1" if name == "SS.CERT.ADF1" else name
        path = f"{parent}/{name}" if parent else name
        label = f"{name}  {entry.get('label', '')}".rstrip()
        node = Node(path, label, "df")
        aid = entry.get("aid") or DF_NAMES.get(short)
        selected = self.select_name(aid, node, short)
        if selected and short == "SSSE" and self.generation >= 3 and "g3_read_key" in self.card.features:
            self.authenticate(node, "0A")
        if selected and short.startswith("DF") and parent:
            self.verify_pin(node)
        self.on_node(node)
        if selected:
            for spec in entry.get("files", ()):
                if self.generation in spec.get("gens", (1, 2, 3)):
                    node.children.append(self.read_ef(spec, path, node))
        for child in entry.get("children", ()):
            if self.generation in child.get("gens", (1, 2, 3)):
                node.children.append(self.read_df(child, path, node))
                # back to this DF for its next child (a DF select clears the child's state)
                self.select_name(aid, Node(path, "", "df"), short)
        return node

    def read_ef(self, spec: dict, df_path: str, df_node: Node) -> Node:
        fid = _fid(spec["ef"])
        fallback = EF_NAMES.get(fid, ("", "")) if df_path == "SSSE" else ("", "")
        zh, en = spec.get("item") or fallback[0], spec.get("en") or fallback[1]
        if not zh and spec.get("records"):  # no file name in the profile: name it by its items
            zh = " · ".join(r.get("item", r["tag"]) for r in spec["records"])
        mark = "  (layout:)" if spec.get("declared") else ""  # declared by the card image (§9.1)
        node = Node(f"{df_path}/{fid}", f"{fid}  {zh} {en}".rstrip() + mark, spec["structure"])
        reader = {"tlv": self._records, "linear": self._records, "cyclic": self._records, "dir": self._records,
                  "transparent": self._binary}[spec["structure"]]
        reader(spec, fid, node, df_node)
        self.on_node(node)
        return node

    def _records(self, spec: dict, fid: str, node: Node, df_node: Node) -> None:
        sfi = spec["sfi"] if "sfi" in spec else int(fid[-2:], 16)  # a layout: entry may set its own
        if sfi is None:  # no SFI (layout sfi: none): SELECT the EF, then read the current EF
            self.do(self.session.select_fid, fid, p1=EF)
        sfi = sfi or 0
        specs = [r for r in spec.get("records", ()) if self.generation in r.get("gens", (1, 2, 3))]
        count = len(specs) or int(spec.get("count", 1))
        for number in range(1, count + 1):
            data, sw, _ = self.do(self.session.read_record, number, sfi=sfi)
            if sw == 0x6982 and number == 1 and self._needs_key(spec):
                if self.authenticate(df_node, self._needs_key(spec)):
                    data, sw, _ = self.do(self.session.read_record, number, sfi=sfi)
            node.status = _sw(sw)
            if sw == 0x6A83 and spec["structure"] == "cyclic":
                if number == 1:
                    node.rows.append(Row("1", "", "(no record yet)", "", _sw(sw)))
                    node.status = EMPTY
                break
            node.rows.append(_record_row(number, data, sw, specs, spec))

    def _needs_key(self, spec: dict) -> str | None:
        import re

        found = re.search(r"key\(([0-9A-Fa-f]{2})\)", str(spec.get("read", "")))
        return found.group(1).upper() if found else None

    def _binary(self, spec: dict, fid: str, node: Node, df_node: Node) -> None:
        _, sw, _ = self.do(self.session.select_fid, fid, p1=EF)
        if sw != 0x9000:
            node.rows.append(Row("SELECT", "", f"EF {fid}", "", _sw(sw)))
            node.status = _sw(sw)
            return
        first, sw, _ = self.do(self.session.read_binary, 0, 0)
        node.status = _sw(sw)
        if sw != 0x9000:
            node.rows.append(Row("offset 0", "", spec.get("item", ""), "", _sw(sw)))
            return
        content = first
        wanted = tlv.total_length(first, 0x30) if spec.get("kind") == "certificate" else None
        while wanted and len(content) < wanted and len(first) == 256:
            first, sw, _ = self.do(self.session.read_binary, len(content), 0)
            if sw != 0x9000:
                break
            content += first
        node.rows.append(Row("offset 0", "", spec.get("item", ""), _binary_value(spec, content, wanted), _sw(sw)))


def _fid(name: str) -> str:
    if name.startswith("$"):  # the DIR's FID follows the dir_sfi switch; its default is 0B
        return "EF0B"
    return name


def _record_row(number: int, data: bytes, sw: int, specs: list[dict], spec: dict) -> Row:
    if sw != 0x9000:
        expected = specs[number - 1] if number <= len(specs) else {}
        return Row(str(number), expected.get("tag", ""), expected.get("item", ""), "", _sw(sw))
    if spec["structure"] == "dir":
        return Row(str(number), f"{data[0]:02X}" if data else "", "DIR entry", _tlv(data), _sw(sw))
    if spec["structure"] != "tlv" or len(data) < 2:
        blank = data and all(b == data[0] for b in data)
        return Row(str(number), "", spec.get("item", ""), f"{data.hex().upper()}" + (" (blank)" if blank else ""), _sw(sw))
    number_tag, value = record_item(data, lenient=True)
    tag = f"{number_tag:02X}"
    item = next((s for s in specs if s["tag"].upper() == tag), None)
    if item is None:
        return Row(str(number), tag, "unknown tag", value.hex().upper(), _sw(sw))
    name = f"{item.get('item', '')} {item.get('en', '')}".strip()
    return Row(str(number), tag, name, str(items.decode(item["fmt"], value)), _sw(sw))


def _binary_value(spec: dict, content: bytes, wanted: int | None) -> str:
    if content and not any(content):
        return f"{len(content)} bytes, all 00 (empty)"
    kind = spec.get("kind")
    if kind == "public-key" and content[:2] == b"\xCA\x40" and len(content) >= 66:
        key = SM2PublicKey.parse(content)
        return f"SM2 public key X={key.x.hex().upper()[:16]}... Y={key.y.hex().upper()[:16]}..."
    if kind == "certificate" and wanted:
        return f"X.509 certificate, {wanted} bytes, {_subject(content[:wanted])}"
    if content[:3] == b"\xFF\xD8\xFF":
        return f"JPEG image, first {len(content)} bytes read"
    return f"{len(content)} bytes: {content[:24].hex().upper()}{'...' if len(content) > 24 else ''}"


def _subject(der: bytes) -> str:
    try:
        from asn1crypto import x509

        return "subject " + x509.Certificate.load(der).subject.human_friendly
    except Exception:  # an unparsable certificate is still shown by its length
        return "not parsable as X.509"


def _atr(transport) -> bytes:
    try:
        return bytes(transport.atr)
    except Exception:
        return b""
