"""Two families of failure: ApduError (a card or PSAM answered a status word other than 9000, at
the session level) and TerminalError (an LD/T 33 function failed, with its return code of
ssc-terminal.md §4.2)."""

from __future__ import annotations

from simulator.sw import describe


class ApduError(Exception):
    """The card (or PSAM) answered `sw` to `apdu`; `data` is what came with it."""

    def __init__(self, sw: int, apdu: bytes = b"", data: bytes = b"", what: str = ""):
        self.sw, self.apdu, self.data, self.what = sw, bytes(apdu), bytes(data), what
        where = f"{what}: " if what else ""
        super().__init__(f"{where}{self.apdu.hex().upper() or '(no command)'} answered {sw:04X} ({describe(sw)})")

    @property
    def tries_left(self) -> int | None:
        """x of 63Cx (a wrong PIN or cryptogram), 0 for 6983 (blocked), else None."""
        if self.sw & 0xFFF0 == 0x63C0:
            return self.sw & 0x0F
        return 0 if self.sw == 0x6983 else None


def check(sw: int, apdu: bytes, data: bytes = b"", what: str = "") -> None:
    """Raise the ApduError family member for a status word other than 9000."""
    if sw != 0x9000:
        raise ApduError(sw, apdu, data, what)


# --- LD/T 33 return codes (§4.2) ------------------------------------------------------------------

MESSAGES: dict[int, str] = {
    -1: "卡类型不对", -2: "无卡", -3: "有卡未上电", -4: "卡无应答", -5: "加载动态库错",
    -11: "读卡器连接错", -12: "未建立连接", -13: "(动态库)不支持该命令", -14: "命令参数错",
    -15: "信息校验和出错", -20: "卡识别码格式错", -21: "内部认证失败（用户卡不合法）",
    -22: "传入数据与卡内不符", -23: "传入数据不合法", -24: "PSAM卡密钥级别不够",
    -25: "内部认证与加密机不一致", -31: "用户取消密码输入", -32: "密码输入操作超时",
    -33: "输入密码长度错", -34: "两次输入密码不一致", -35: "初始密码不能交易", -36: "不能改为初始密码",
    -41: "运算数据含非法字符", -42: "运算数据长度错", -51: "PIN校验失败，剩余次数{n}次", -52: "PIN锁定",
    -2201: "无PSAM卡", -2202: "PSAM卡算法不支持", -2203: "PSAM卡内没有RKSSSE密钥", -2204: "不需要加密机认证",
}
EXTERNAL_AUTH_FAILED = "外部认证失败"


class TerminalError(Exception):
    """An LD/T 33 function failed: `code` (negative), `message` (the §4.2 text), `sw` if a card said so."""

    def __init__(self, code: int, message: str | None = None, sw: int | None = None, detail: str = ""):
        self.code, self.sw, self.detail = code, sw, detail
        self.message = message if message is not None else MESSAGES.get(code, "")
        super().__init__(f"{code} {self.message}" + (f" ({detail})" if detail else ""))


class ParamError(TerminalError):
    """-1, -14, -15, -20, -23, -41, -42: a parameter the caller gave is wrong."""

    def __init__(self, code: int = -14, detail: str = ""):
        super().__init__(code, detail=detail)


class ReaderError(TerminalError):
    """-2 … -13: no card, no reader, no answer."""

    def __init__(self, code: int = -11, detail: str = ""):
        super().__init__(code, detail=detail)


class CardAuthError(TerminalError):
    """-21 (internal authentication failed), -25 (the HSM disagrees)."""

    def __init__(self, code: int = -21, detail: str = ""):
        super().__init__(code, detail=detail)


class CardMismatchError(TerminalError):
    """-22: pCardInfo names another card."""

    def __init__(self, detail: str = ""):
        super().__init__(-22, detail=detail)


class PsamError(TerminalError):
    """-24, -2201, -2202, -2203: the PSAM is missing or lacks what the card needs."""

    def __init__(self, code: int = -2201, detail: str = "", sw: int | None = None):
        super().__init__(code, sw=sw, detail=detail)


class PinEntryError(TerminalError):
    """-31 … -36: the PIN pad entry was cancelled, too long, or the two entries differ."""

    def __init__(self, code: int = -33, detail: str = ""):
        super().__init__(code, detail=detail)


class PinError(TerminalError):
    """-51: wrong PIN; `tries_left` from 63Cx."""

    def __init__(self, tries_left: int, sw: int | None = None):
        self.tries_left = tries_left
        super().__init__(-51, MESSAGES[-51].format(n=tries_left), sw=sw if sw is not None else 0x63C0 | tries_left)


class PinBlockedError(TerminalError):
    """-52: the PIN is blocked (6983)."""

    def __init__(self):
        super().__init__(-52, sw=0x6983)


class HsmNotNeeded(TerminalError):
    """-2204: this card needs no HSM authentication (read it with read_card_bas)."""

    def __init__(self, detail: str = ""):
        super().__init__(-2204, detail=detail)


class CardStatusError(TerminalError):
    """-SW: any other status word of the card or the PSAM (6982 -> -27010)."""

    def __init__(self, sw: int, detail: str = ""):
        text = EXTERNAL_AUTH_FAILED if sw & 0xFFF0 == 0x63C0 else describe(sw)
        super().__init__(-sw, text, sw=sw, detail=detail)


PIN_COMMANDS = (0x20, 0x5E, 0x24)  # VERIFY, CHANGE / RELOAD PIN, PIN UNBLOCK


def from_apdu_error(exc: ApduError) -> TerminalError:
    """The §4.2 code for a refused command: a PIN command's 63Cx/6983 is -51/-52, the rest -SW."""
    pin = len(exc.apdu) > 1 and exc.apdu[1] in PIN_COMMANDS
    if pin and exc.sw & 0xFFF0 == 0x63C0:
        return PinError(exc.sw & 0x0F, exc.sw)
    if pin and exc.sw == 0x6983:
        return PinBlockedError()
    return CardStatusError(exc.sw, str(exc))
