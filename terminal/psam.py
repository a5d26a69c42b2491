"""The PSAM in the terminal's second slot (ssc-terminal.md §2): its session, and `PsamKeys`, the
card cryptograms of §2.5 computed by the PSAM for one card (the terminal relays, the PSAM never
talks to the card)."""

from __future__ import annotations

from simulator import crypto, schemes

from .session import Session, apdu

MF = bytes.fromhex("3F00")
DES_APPLICATION = bytes.fromhex("D15600000590")                  # gen1/gen2, 3DES keys
SX3_APPLICATION = bytes.fromhex("7378332E73682EC9E7BBE1B1A3D5CF")  # "sx3.sh.社会保障", gen3; keys in DF01
TERMINAL_NUMBER_SFI = 0x16                                       # EF 0016, 6 bytes BCD
KEY_LEVELS_AND_TYPE = 0x48                                       # BF DE P1: 2 levels, key type 8

# §2.2: PSAM index of each SSSE key (card key reference -> BF DE P2).
SSSE_INDEX = {0x01: 0x10, 0x0A: 0x11, 0x04: 0x12, 0x0D: 0x13, 0x06: 0x16, 0x07: 0x17, 0x08: 0x18}
RK_INDEX = SSSE_INDEX[0x0A]


def psam_index(df: str, ref: int) -> int:
    """BF DE P2 for card key `ref` of `df` (§2.2): the SSSE table, or 0x10·(n+1) + (ref & 0F) in DF0n."""
    if df == "SSSE":
        if ref not in SSSE_INDEX:
            raise KeyError(f"the PSAM holds no root of SSSE key {ref:02X}")
        return SSSE_INDEX[ref]
    if len(df) == 4 and df.startswith("DF0") and df[3] in "1234567" and ref & 0x80:
        return 0x10 * (int(df[3]) + 1) + (ref & 0x0F)
    raise KeyError(f"the PSAM holds no root of key {ref:02X} of {df}")


class PsamSession(Session):
    """The PSAM commands of §2.4; remembers the application it selected (the PSAM keeps no more)."""

    def __init__(self, slot, trace=None):
        super().__init__(slot, trace)
        self.application: str | None = None
        self.working: tuple[int, bytes] | None = None  # (index, BF DE data) of the working key

    def reset(self) -> bytes:
        self.application, self.working = None, None
        return super().reset()

    def exchange(self, command: bytes) -> tuple[bytes, int]:
        if command[1:2] in (b"\xA4", b"\xDE"):  # SELECT and BF DE (even a failed one) clear W (PD-T06)
            self.working = None
        return super().exchange(command)

    def terminal_number(self) -> str:
        """终端机编号: EF 0016 read from the MF (`00A40000023F00`, `00B0960006`), 12 digits."""
        self.select_fid(MF, df="MF")
        self.application = None
        return self.read_binary(0, 6, sfi=TERMINAL_NUMBER_SFI).hex().upper()

    def select_application(self, algorithm: str) -> None:
        """The key file for the card's algorithm: ADF D15600000590 (3DES) or the sx3 DF, then DF01 (SM4)."""
        if self.application == algorithm:
            return
        self.application = None
        if algorithm == "sm4":
            self.select_name(SX3_APPLICATION, "SX3")
            self.select_fid("DF01", df="DF01")
        else:
            self.select_name(DES_APPLICATION, "D15600000590")
        self.application = algorithm

    def diversify(self, index: int, data: bytes) -> None:
        """BF DE 48 <index>: data = cardDiv ‖ cityDiv [‖ process factor] (§2.4, PD-T04)."""
        self.send(apdu(0xBF, 0xDE, KEY_LEVELS_AND_TYPE, index, data), f"DIVERSIFY key {index:02X}")
        self.working = (index, bytes(data))

    def encrypt(self, blocks: bytes) -> bytes:
        """80 FA 00 00: ECB of the blocks with the working key."""
        return self.send(apdu(0x80, 0xFA, 0x00, 0x00, blocks), "ENCRYPT")

    def mac(self, icv_and_message: bytes) -> bytes:
        """80 FA 05 00: the 4-byte MAC of an ICV block ‖ a message the terminal padded."""
        return self.send(apdu(0x80, 0xFA, 0x05, 0x00, icv_and_message), "MAC")


class PsamKeys:
    """The `Keys` of terminal.session for one card, computed by the PSAM (§2.3, §2.5).

    `atr` gives cardDiv (its last 8 historical bytes), `region` (card-ID digits 1-6) cityDiv.
    """

    def __init__(self, psam: PsamSession, atr: bytes, region: str, algorithm: str):
        self.psam, self.algorithm = psam, algorithm
        self.factors = schemes.card_div(atr) + schemes.city_div(region)
        self.block = 8 if algorithm == "3des" else 16

    def _key(self, index: int, process_factor: bytes = b"") -> None:
        """Make W the key `index` for this card; the PSAM keeps W across 80 FA commands."""
        self.psam.select_application(self.algorithm)
        if self.psam.working != (index, self.factors + process_factor):
            self.psam.diversify(index, self.factors + process_factor)

    def _block(self, data8: bytes) -> bytes:
        """R (DES) or R ‖ 00×8 (SM4): an 8-byte value as one block of the algorithm."""
        return bytes(data8) + bytes(self.block - len(data8))

    def session_cryptogram(self, index: int, r: bytes, d: bytes) -> bytes:
        """C (8 bytes) for process factor R and data D: the card's §5.4.2 / §5.4.4 construction."""
        self._key(index, self._block(r))
        out = self.psam.encrypt(self._block(d))
        return out if self.block == 8 else crypto.fold8(out)

    # --- the Keys protocol ------------------------------------------------------------------------

    def challenge_length(self, ref: int, df: str) -> int:
        return 8

    def external(self, ref: int, challenge: bytes, df: str) -> bytes:
        """C ‖ R (DES, Lc 10) or C ‖ R ‖ 01 (SM4, Lc 11), D = R (§2.5)."""
        r = crypto.r8(challenge)
        c = self.session_cryptogram(psam_index(df, ref), r, r)
        return c + r + (b"\x01" if self.algorithm == "sm4" else b"")

    def internal(self, ref: int, r1: bytes, r2: bytes, df: str) -> bytes:
        return self.session_cryptogram(psam_index(df, ref), r1, r2)

    def mac(self, ref: int, data: bytes, challenge: bytes | None, df: str) -> bytes:
        """ICV = R8 / R16 of the challenge, zero without one; the message padded here (pad80)."""
        self._key(psam_index(df, ref))
        icv = bytes(self.block) if challenge is None else (crypto.r8 if self.block == 8 else crypto.r16)(challenge)
        return self.psam.mac(icv + crypto.pad80(data, self.block))

    def encipher(self, ref: int, plain: bytes, df: str) -> bytes:
        self._key(psam_index(df, ref))
        return self.psam.encrypt(plain)
