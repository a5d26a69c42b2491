"""A state machine for PINs, keys, challenges and the security state against a small model."""

from __future__ import annotations

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from simulator import Card, schemes

SELECT_SSSE = "00A404000F7378312E73682EC9E7BBE1B1A3D5CF"


class CardModel(RuleBasedStateMachine):
    """gen2 sample card; the model tracks what spec §5.3 says the card must hold."""

    def __init__(self):
        super().__init__()
        self.counter = 0
        self.card = Card.builtin("gen3" if self._gen3 else "gen2", random=self._random)
        self.card.power_on()
        image = self.card.export_image()
        self.k04 = bytes.fromhex(image["keys"]["SSSE"]["04"]["value"])
        self.scheme = "sm4-session" if self._gen3 else "des-session"
        self.df = "MF"
        self.status: set[str] = set()
        self.challenge: bytes | None = None
        self.pin_tries = 3
        self.key_tries = 3
        self.pin = "123456"

    _gen3 = False

    def _random(self, n: int) -> bytes:
        self.counter += 1
        return bytes((self.counter * 7 + i) & 0xFF for i in range(n))

    def send(self, hex_: str) -> tuple[bytes, int]:
        r = self.card.transmit(bytes.fromhex(hex_))
        return r[:-2], int.from_bytes(r[-2:], "big")

    def _df_change(self, df: str) -> None:
        self.df, self.status, self.challenge = df, set(), None

    @rule()
    def select_ssse(self):
        assert self.send(SELECT_SSSE)[1] == 0x6118
        self._df_change("SSSE")

    @rule()
    @precondition(lambda self: self.df in ("SSSE", "DF01"))
    def select_df01(self):
        assert self.send("00A4000002DF01")[1] == 0x9000
        self._df_change("DF01")

    @rule()
    def select_mf(self):
        assert self.send("00A40000023F00")[1] == 0x9000
        self._df_change("MF")

    @rule()
    def reset(self):
        self.card.reset()
        self._df_change("MF")

    @rule()
    def get_challenge(self):
        data, sw = self.send("0084000008")
        assert sw == 0x9000 and len(data) == 8
        self.challenge = data

    @rule(right=st.booleans())
    def external_authenticate(self, right):
        d = bytes(8)
        c = schemes.external_cryptogram(self.scheme, self.k04, self.challenge or bytes(8), d) if right else bytes(8)
        _, sw = self.send("0082000410" + (c + d).hex())
        if self.df == "MF":
            assert sw == 0x6A88  # no key 04 at the MF (PD-12)
            return
        if self.key_tries == 0:
            assert sw == 0x6983
            return
        if self.challenge is None:
            assert sw == 0x6984
            return
        self.challenge = None
        if right:
            assert sw == 0x9000
            self.key_tries = 3
            self.status.add("K04")
        else:
            self.key_tries -= 1
            assert sw == 0x63C0 | self.key_tries
            self.status.discard("K04")

    @rule(right=st.booleans())
    def verify(self, right):
        pin = self.pin if right else "000000"
        _, sw = self.send("0020000003" + pin)
        if self.df == "MF":
            assert sw == 0x6A88
            return
        if self.pin_tries == 0:
            assert sw == 0x6983
            return
        if right:
            assert sw == 0x9000
            self.pin_tries = 3
            self.status.add("PIN")
        else:
            self.pin_tries -= 1
            assert sw == 0x63C0 | self.pin_tries
            self.status.discard("PIN")

    @rule()
    @precondition(lambda self: self.df == "SSSE")
    def update_ef06(self):
        _, sw = self.send("00DC0734060D0419850315")
        assert sw == (0x9000 if "K04" in self.status else 0x6982)

    @invariant()
    def pin_status_query_agrees(self):
        if self.df == "MF":
            return
        _, sw = self.send("00200000")
        expected = 0x6983 if self.pin_tries == 0 else 0x9000 if "PIN" in self.status else 0x63C0 | self.pin_tries
        assert sw == expected

    @invariant()
    def counters_agree_with_the_card(self):
        image = self.card.export_image()
        assert image["pins"]["SSSE"]["tries"] == self.pin_tries
        assert image["keys"]["SSSE"]["04"]["tries"] == self.key_tries


class CardModelGen3(CardModel):
    _gen3 = True


TestSecurityGen2 = CardModel.TestCase
TestSecurityGen2.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestSecurityGen3 = CardModelGen3.TestCase
TestSecurityGen3.settings = settings(max_examples=40, stateful_step_count=40, deadline=None)
