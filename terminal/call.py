"""One LD/T 33 call in progress: the card powered and SSSE selected, what identifies the card,
and the PSAM when the call needs it (reset on first use, ssc-terminal.md §4.1 "each call powers
the card, uses the PSAM slot when needed")."""

from __future__ import annotations

from simulator import atr
from simulator.codecs import record_item

from .errors import ApduError, CardMismatchError, ParamError, PsamError, ReaderError, TerminalError
from .psam import RK_INDEX, PsamKeys, PsamSession
from .ssse import SsseSession, aflag, tlv_value

RK = 0x0A  # SSSE key RKSSSE: opens EF05 rec 7, EF06, EF0D on gen3 (card PD-24)
AFLAG_ALGORITHM = {0x01: "3des", 0x03: "sm4"}


def text(raw: bytes) -> str:
    """An `an` value: GBK, pads 00 and 20 stripped (card §3.1)."""
    return raw.rstrip(b"\x00\x20").decode("gbk", errors="replace")


class Call:
    def __init__(self, slot, psam_slot, rng):
        if slot is None:
            raise ReaderError(-2, "no card slot for this iType")
        self.psam_slot, self.rng = psam_slot, rng
        self.session = SsseSession(slot)
        self.atr = _power(self.session, ReaderError(-4, "the card did not answer the reset"))
        self.fci = self.session.select()
        self.flag = aflag(self.fci)
        self._psam: PsamSession | None = None
        self._keys: PsamKeys | None = None
        self.card_id = self.version = ""
        self.rk_done = False  # RKSSSE authenticated in SSSE (cleared by the walk of files.py)

    # --- the card --------------------------------------------------------------------------

    def identify(self) -> None:
        """EF05 rec 1 (card ID) and rec 3 (version); the algorithm from AFLAG, else the version."""
        try:
            self.card_id = tlv_value(self.session.read_record(1, sfi=5), 0x01).hex().upper()
            self.version = text(tlv_value(self.session.read_record(3, sfi=5), 0x03))
        except ValueError as exc:  # not a card of this kind, or a broken one
            raise ParamError(-20, f"EF05 is not the card's: {exc}") from None
        if self.flag == 0x02:
            raise PsamError(-2202, "the card's algorithm is SSF33 (AFLAG 02)")

    @property
    def algorithm(self) -> str:
        return AFLAG_ALGORITHM.get(self.flag, "sm4" if self.version.startswith("3") else "3des")

    @property
    def generation(self) -> int:
        return int(self.version[0]) if self.version[:1] in ("1", "2", "3") else 2

    @property
    def region(self) -> str:
        return self.card_id[:6]

    @property
    def atr_hist(self) -> bytes:
        """卡复位信息: the ATR's historical bytes (the whole ATR after TS T0 if it does not parse)."""
        try:
            return atr.parse(self.atr).historical
        except ValueError:
            return self.atr[2:]

    def optional_record(self, record: int | None = None, tag: int | None = None, sfi: int = 0) -> bytes:
        """A record's value, b"" where the card refuses it (6982) or has none (6A83)."""
        try:
            raw = self.session.read_record(record, tag=tag, sfi=sfi)
        except ApduError as exc:
            if exc.sw in (0x6982, 0x6A83):
                return b""
            raise
        item = record_item(raw, lenient=True)
        return item[1] if item is not None else b""

    def check_card(self, card_id: str, card_no: str) -> None:
        """pCardInfo against EF05 rec 1 and rec 7 (-22); rec 7 needs RKSSSE on gen3."""
        number = self.optional_record(7, sfi=5)
        if not number and self.generation == 3:
            self.rk_authenticate()
            number = self.optional_record(7, sfi=5)
        if card_id != self.card_id or card_no not in (text(number), text(number)[:9]):
            raise CardMismatchError(f"pCardInfo names {card_id}|{card_no}, the card is {self.card_id}|{text(number)}")

    # --- the PSAM -----------------------------------------------------------------------------

    @property
    def has_psam(self) -> bool:
        return self.psam_slot is not None

    def psam(self) -> PsamSession:
        if self.psam_slot is None:
            raise PsamError(-2201, "no PSAM slot")
        if self._psam is None:
            session = PsamSession(self.psam_slot)
            _power(session, PsamError(-2201, "the PSAM did not answer the reset"))
            self._psam = session
        return self._psam

    def keys(self) -> PsamKeys:
        """The PSAM's keys for this card, its application selected (-2202 when it has none)."""
        if self._keys is None:
            keys = PsamKeys(self.psam(), self.atr, self.region, self.algorithm)
            try:
                self._psam.select_application(self.algorithm)
            except ApduError as exc:
                raise PsamError(-2202, f"the PSAM has no {self.algorithm.upper()} application: {exc}", exc.sw) from None
            self._keys = keys
        return self._keys

    def rk_authenticate(self) -> None:
        """EXTERNAL AUTHENTICATE with RKSSSE through the PSAM (index 11; 6A88 there is -2203)."""
        try:
            self.session.external_authenticate(RK, self.keys(), "SSSE")
            self.rk_done = True
        except ApduError as exc:
            if exc.apdu[:2] == b"\xBF\xDE" and exc.apdu[3] == RK_INDEX and exc.sw == 0x6A88:
                raise PsamError(-2203, str(exc), exc.sw) from None
            raise


def _power(session, failure: TerminalError) -> bytes:
    try:
        atr = session.reset()
    except TerminalError as exc:  # a reader's own code (no card, no reader): the PSAM's is -2201
        if isinstance(failure, PsamError):
            raise failure from exc
        raise
    except Exception as exc:  # anything else below the slot
        raise failure from exc
    if not atr:
        raise failure
    return atr
