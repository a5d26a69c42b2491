"""iReadCard / iWriteCard and the PIN functions of terminal.Terminal on the built-in cards with
the emulated PSAM: round trips, the return codes of §4.2 (-51 with tries, -52, -22, -2201,
-2202, -2203, -21, -34, -14), and what each failure leaves on the card (nothing)."""

from __future__ import annotations

import os

import pytest

from simulator import Card, samplekeys
from simulator.psam import Psam
from terminal import (CardAuthError, CardMismatchError, ParamError, PinBlockedError, PinEntryError, PinError,
                      PsamError, Terminal, ldt33)

CARD_INFO = {"gen2": "440300D1560000055A3C1E02C64D65FE|A01234562|",
             "gen3": "440300D1560000055A3C1E0326F062D6|A01234563|"}


class Pad:
    """A PIN pad that types the given PINs in order and remembers the prompts."""

    def __init__(self, *pins: str):
        self.pins, self.prompts = list(pins), []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.pins.pop(0)


def make(gen: str = "gen2", psam: str | None = "default", pad=None, **settings) -> tuple[Terminal, Card]:
    card = Card.builtin(gen)
    return Terminal(card, psam=Psam.builtin(psam) if psam else None, pin_pad=pad, rng=os.urandom, **settings), card


def pin_tries(card: Card) -> int:
    card.power_on()
    card.transmit(bytes.fromhex("00A4040C0F7378312E73682EC9E7BBE1B1A3D5CF"))
    sw = card.transmit(bytes.fromhex("00200000")).hex().upper()
    return 0 if sw == "6983" else int(sw[-1], 16)


@pytest.mark.parametrize("gen", ["gen2", "gen3"])
def test_write_card_round_trip_needs_key_04_through_the_psam(gen):
    term, _ = make(gen)
    addr = "SSSEEF05|05|06|$SSSEEF06|09|0D|$"
    data = "SSSEEF05|20250101|20450101|$SSSEEF06|李四|19900101|$"
    assert ldt33.iWriteCard(term, 1, CARD_INFO[gen], addr, data) == (0, "")
    assert ldt33.iReadCard(term, 1, 2, CARD_INFO[gen], addr) == (0, data)


def test_write_card_without_psam_is_minus_2201_and_writes_nothing():
    term, _ = make("gen2", psam=None)
    before = ldt33.iReadCard(term, 1, 0, CARD_INFO["gen2"], "SSSEEF06|09|$")
    assert ldt33.iWriteCard(term, 1, CARD_INFO["gen2"], "SSSEEF06|09|$", "SSSEEF06|李四|$")[0] == -2201
    assert ldt33.iReadCard(term, 1, 0, CARD_INFO["gen2"], "SSSEEF06|09|$") == before


def test_write_card_checks_every_value_before_writing():
    term, _ = make("gen2")
    addr = "SSSEEF05|05|$SSSEEF06|0D|$"
    before = ldt33.iReadCard(term, 1, 0, CARD_INFO["gen2"], addr)
    assert ldt33.iWriteCard(term, 1, CARD_INFO["gen2"], addr, "SSSEEF05|20250101|$SSSEEF06|1990x|$")[0] == -23
    assert ldt33.iReadCard(term, 1, 0, CARD_INFO["gen2"], addr) == before
    assert ldt33.iWriteCard(term, 1, CARD_INFO["gen2"], addr, "SSSEEF05|20250101|$")[0] == -14


def test_gen3_ef0d_is_written_with_key_0d_index_13():
    term, _ = make("gen3")
    addr = "SSSEEF0D|EB|$"
    assert ldt33.iWriteCard(term, 1, CARD_INFO["gen3"], addr, "SSSEEF0D|110100|$") == (0, "")
    assert ldt33.iReadCard(term, 1, 0, CARD_INFO["gen3"], addr) == (0, "SSSEEF0D|110100|$")


def test_df01_read_with_pin_and_with_key():
    pad = Pad("123456")
    term, _ = make("gen2", pad=pad)
    addr = "DF01EF05|20|$DF01EF06|24|$"
    by_pin = ldt33.iReadCard(term, 1, 1, CARD_INFO["gen2"], addr)
    assert by_pin[0] == 0 and by_pin[1].startswith("DF01EF05|") and pad.prompts == ["请输入密码"]
    assert ldt33.iReadCard(term, 1, 2, CARD_INFO["gen2"], addr) == by_pin
    assert ldt33.iReadCard(term, 1, 0, CARD_INFO["gen2"], addr)[0] == -27010  # 6982: no way to meet the AC


def test_card_info_must_name_this_card():
    term, _ = make("gen2")
    other = "440300D1560000055A3C1E02C64D65FF|A01234562|"
    with pytest.raises(CardMismatchError):
        term.read_card(1, 0, other, "SSSEEF05|03|$")
    assert ldt33.iReadCard(term, 1, 0, "not hex|A01234562|", "SSSEEF05|03|$")[0] == -20
    assert ldt33.iReadCard(term, 1, 0, CARD_INFO["gen2"], "SSSEEF05|03|")[0] == -14


def test_verify_pin_counts_tries_then_blocks():
    term, card = make("gen2", psam=None)
    term.verify_pin(1, "123456")
    with pytest.raises(PinError) as wrong:
        term.verify_pin(1, "654321")
    assert (wrong.value.code, wrong.value.tries_left, wrong.value.message) == (-51, 2, "PIN校验失败，剩余次数2次")
    assert ldt33.iVerifyPIN(Terminal(card, pin_pad=Pad("000000")), 1) == (-51, "PIN校验失败，剩余次数1次")
    assert ldt33.iVerifyPIN(Terminal(card, pin_pad=Pad("000000")), 1)[0] == -51
    with pytest.raises(PinBlockedError):
        term.verify_pin(1, "123456")
    assert pin_tries(card) == 0


def test_reload_pin_sets_a_new_pin_and_unblocks():
    pad = Pad("111111", "111111")
    term, card = make("gen3", pad=pad)
    for _ in range(3):
        with pytest.raises((PinError, PinBlockedError)):
            term.verify_pin(1, "000000")
    assert ldt33.iReloadPIN(term, 1, CARD_INFO["gen3"]) == (0, "")
    assert pad.prompts == ["请输入新密码", "请再次输入新密码"]
    term.verify_pin(1, "111111")
    assert pin_tries(card) == 3


def test_unblock_pin_resets_the_counter_and_can_set_a_pin():
    term, card = make("gen2")
    for _ in range(3):
        with pytest.raises((PinError, PinBlockedError)):
            term.verify_pin(1, "000000")
    term.unblock_pin(1, CARD_INFO["gen2"])
    term.verify_pin(1, "123456")
    term.unblock_pin(1, CARD_INFO["gen2"], new="2468")
    term.verify_pin(1, "2468")


def test_change_pin_and_its_pin_pad_checks():
    term, _ = make("gen2", psam=None, pad=Pad("123456", "7777", "7777"))
    term.change_pin(1)
    term.verify_pin(1, "7777")
    with pytest.raises(PinEntryError) as differ:
        make("gen2", psam=None, pad=Pad("123456", "1111", "2222"))[0].change_pin(1)
    assert differ.value.code == -34
    with pytest.raises(PinError):
        term.change_pin(1, "123456", "8888")
    assert ldt33.iChangePIN(Terminal(Card.builtin("gen2")), 1)[0] == -31  # no PIN pad, no PIN
    with pytest.raises(PinEntryError):
        term.verify_pin(1, "12")
    with pytest.raises(ParamError):
        term.verify_pin(1, "12a4")


def test_psam_profiles_give_their_codes():
    assert ldt33.iReadCardBas(make("gen3", psam="no-rk")[0], 1) == (-2203, "PSAM卡内没有RKSSSE密钥")
    assert ldt33.iReadCardBas(make("gen3", psam="des-only")[0], 1) == (-2202, "PSAM卡算法不支持")
    assert ldt33.iReadCardBas(make("gen2", psam="sm4-only")[0], 1)[0] == -2202
    with pytest.raises(PsamError):
        make("gen2", psam=None)[0].reload_pin(1, CARD_INFO["gen2"], "1234")


def test_a_card_whose_internal_answer_is_wrong_is_minus_21():
    other_root = samplekeys.sample_root_key("SSC-DEMO-ROOT/SSSE/99")
    term = Terminal(Card.builtin("gen2"), psam=Psam(roots={0x10: other_root}), rng=os.urandom)
    with pytest.raises(CardAuthError) as caught:
        term.read_card_bas(1)
    assert caught.value.code == -21


def test_transparent_ef_is_written_and_read_as_hex():
    term, _ = make("gen2")
    photo = "FFD8FFE0" + "00" * 300 + "FFD9"
    assert ldt33.iWriteCard(term, 1, CARD_INFO["gen2"], "SSSEEF07|$", f"SSSEEF07|{photo}|$") == (0, "")
    code, text = ldt33.iReadCard(term, 1, 2, CARD_INFO["gen2"], "SSSEEF07|$")
    assert code == 0 and text.startswith(f"SSSEEF07|{photo}") and len(text) == len("SSSEEF07||$") + 2048
    assert ldt33.iWriteCard(term, 1, CARD_INFO["gen2"], "SSSEEF07|$", "SSSEEF07|XYZ|$")[0] == -23
    assert ldt33.iReadCard(term, 1, 0, CARD_INFO["gen2"], "SSSEEF07|$")[0] == -27010  # key 0A needed


def test_a_card_without_ssse_answers_its_status_word():
    """A PSAM put in the card slot: SELECT SSSE answers 6A82, the code is -27266 (§4.2: -SW)."""
    assert ldt33.iReadCardBas(Terminal(Psam.builtin()), 1) == (-27266, "file or application not found")
