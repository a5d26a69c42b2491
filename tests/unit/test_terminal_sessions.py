"""terminal's transport processors and sessions: 61xx, 6Cxx, the trace hook, ApduError, the ISO
commands against the built-in cards, and the PSAM's cryptograms equal to the card keys' own."""

from __future__ import annotations

import pytest
from cardkit import Challenges

from simulator import Card
from simulator.psam import Psam
from simulator.samplekeys import sample_keys
from terminal import ApduError, KeySet, PkiSession, PsamKeys, PsamSession, Session, SsseSession
from terminal.session import apdu
from terminal.transport import Channel, GetResponse, RetryWrongLength, Tracing, with_le


class Scripted:
    """A slot answering from a script: for answers no emulated card gives (several 61xx rounds)."""

    def __init__(self, *answers: str):
        self.answers = [bytes.fromhex(a) for a in answers]
        self.sent: list[str] = []

    def reset(self) -> bytes:
        return bytes.fromhex("3B00")

    def transmit(self, command: bytes) -> bytes:
        self.sent.append(command.hex().upper())
        return self.answers.pop(0)


def test_get_response_collects_several_61xx_rounds():
    slot = Scripted("6102", "AABB6101", "CC9000")
    assert Channel(slot, [GetResponse()]).transmit(bytes.fromhex("00B2012C00")).hex().upper() == "AABBCC9000"
    assert slot.sent == ["00B2012C00", "00C0000002", "00C0000001"]


def test_wrong_length_is_resent_once_with_the_card_length():
    card = Card.builtin("gen2")
    card.power_on()
    log = []
    channel = Channel(card, [RetryWrongLength(), Tracing(lambda c, r: log.append((c.hex().upper(), r.hex().upper())))])
    channel.transmit(bytes.fromhex("00A4040C0F7378312E73682EC9E7BBE1B1A3D5CF"))
    del log[:]
    response = channel.transmit(bytes.fromhex("00B2012C05"))  # record 1 is 18 bytes
    assert response[-2:] == b"\x90\x00" and len(response) == 20
    assert log[0] == ("00B2012C05", "6C12") and log[1][0] == "00B2012C12"


@pytest.mark.parametrize("command,le,expected", [("00840000", 8, "0084000008"), ("0084000004", 8, "0084000008"),
                                                  ("00A4040002AABB", 0, "00A4040002AABB00"),
                                                  ("00A4040002AABB10", 5, "00A4040002AABB05")])
def test_with_le_for_each_case(command, le, expected):
    assert with_le(bytes.fromhex(command), le).hex().upper() == expected


def test_default_chain_follows_61xx_and_traces_the_wire():
    log = []
    session = SsseSession(Card.builtin("gen3"), trace=lambda c, r: log.append(r[-2:].hex().upper()))
    session.reset()
    fci = session.select()
    assert fci.hex().upper() == "6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B"
    assert log == ["6118", "9000"]


def test_apdu_error_names_command_and_status_word():
    session = SsseSession(Card.builtin("gen2"))
    session.reset()
    session.select()
    with pytest.raises(ApduError) as caught:
        session.read_record(9, sfi=5)
    assert caught.value.sw == 0x6A83 and caught.value.apdu.hex().upper() == "00B2092C00"
    assert "00B2092C00 answered 6A83" in str(caught.value)
    with pytest.raises(ApduError) as wrong:
        session.verify("000000")
    assert wrong.value.tries_left == 2


def test_record_forms_and_binary():
    session = SsseSession(Card.builtin("gen3"))
    session.reset()
    session.select()
    assert session.read_record(3, sfi=5).hex().upper() == "0304332E3030"
    assert session.read_item(0x03, 5) == b"3.00"
    assert session.read_record(3).hex().upper() == "0304332E3030"            # the current EF now
    with pytest.raises(ValueError):
        session.read_record(3, tag=3)
    session.external_authenticate(0x0A, KeySet.from_image_keys(sample_keys(3), 3))
    session.select_fid("EF08")
    assert session.read_binary(0, 4) == bytes(4)
    assert len(session.read_binary_all()) == 8192


def test_update_record_by_identifier_after_the_write_key():
    card = Card.builtin("gen2")
    session = SsseSession(card)
    session.reset()
    session.select()
    with pytest.raises(ApduError) as refused:
        session.write_item(0x07, 5, b"B76543210")
    assert refused.value.sw == 0x6982
    session.external_authenticate(0x04, KeySet.from_image_keys(sample_keys(2), 2))
    session.write_item(0x07, 5, b"B76543210")
    assert session.read_item(0x07, 5) == b"B76543210"


@pytest.mark.parametrize("gen", [2, 3])
def test_psam_keys_equal_the_card_keys(gen):
    """The PSAM's cryptograms for a card are what its own keys give (§2.3): same C, same answer."""
    algorithm = "sm4" if gen == 3 else "3des"
    challenge, r1, r2 = bytes.fromhex("0102030405060708"), bytes(range(8)), bytes(range(8, 16))
    direct = KeySet.from_image_keys(sample_keys(gen), gen, version=1 if gen == 3 else None)
    card = Card.builtin(f"gen{gen}")
    psam = PsamSession(Psam.builtin())
    psam.reset()
    keys = PsamKeys(psam, card.power_on(), "440300", algorithm)
    for ref, df in ((0x0A, "SSSE"), (0x04, "SSSE"), (0x81, "DF01"), (0x86, "DF01")):
        assert keys.external(ref, challenge, df) == direct.external(ref, challenge, df), (ref, df)
    assert keys.internal(0x01, r1, r2, "SSSE") == direct.internal(0x01, r1, r2, "SSSE")
    assert keys.mac(0x06, b"\x84\x24\x00\x00\x04", challenge[:4], "SSSE") == \
        direct.mac(0x06, b"\x84\x24\x00\x00\x04", challenge[:4], "SSSE")


def test_psam_refuses_a_key_it_lacks_with_6a88():
    psam = PsamSession(Psam.builtin("no-rk"))
    psam.reset()
    keys = PsamKeys(psam, Card.builtin("gen3").power_on(), "440300", "sm4")
    with pytest.raises(ApduError) as caught:
        keys.external(0x0A, bytes(8), "SSSE")
    assert caught.value.sw == 0x6A88 and caught.value.apdu[:4] == bytes.fromhex("BFDE4811")


def test_pki_session_verifies_both_pins():
    session = PkiSession(Card.builtin("gen3"))
    session.reset()
    session.select()
    session.verify_pin("user", "123456")
    session.verify_pin("admin", "12345678")
    with pytest.raises(ApduError) as caught:
        session.verify_pin("user", "000000")
    assert caught.value.sw & 0xFFF0 == 0x63C0


def test_plain_session_and_apdu_builder():
    assert apdu(0x00, 0x84, 0, 0, le=8) == bytes.fromhex("0084000008")
    assert apdu(0x00, 0xA4, 0, 0x0C, b"\x3F\x00") == bytes.fromhex("00A4000C023F00")
    with pytest.raises(ValueError):
        apdu(0x00, 0xD6, 0, 0, bytes(256))
    session = Session(Card.builtin("gen1", random=Challenges("0011223344556677")))
    session.reset()
    assert session.get_challenge(8).hex().upper() == "0011223344556677"
    assert session.exchange(bytes.fromhex("00B0000000"))[1] == 0x6986  # no current EF, no raise


def test_pcsc_slots_through_pyscard_with_the_in_process_readers():
    """terminal.pcsc.PcscSlot over real pyscard connections (the emulated readers, no pcscd)."""
    from simulator.pcsc_reader import PSAM_READER_NAME, READER_NAME, installed
    from terminal import ReaderError, Terminal
    from terminal.pcsc import PcscSlot, looks_like_psam

    with installed(Card.builtin("gen3"), psam=Psam.builtin()):
        card, psam = PcscSlot(READER_NAME), PcscSlot(PSAM_READER_NAME)
        assert looks_like_psam(psam.reset()) and not looks_like_psam(card.reset())
        basic = Terminal(card, psam=psam).read_card_bas(1)
        assert basic.name == "张三" and basic.terminal_no == "440300000001"
        assert card._connection is None and psam._connection is None  # each call closes its readers
    with pytest.raises(ReaderError) as missing:
        PcscSlot("no reader of this name")
    assert missing.value.code == -11
