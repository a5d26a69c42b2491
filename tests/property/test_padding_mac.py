"""Properties of the padding and the MACs of spec §5.4.6 (simulator/crypto.py), with references built
here directly on the `cryptography` package in a different formulation from the card's code."""

from __future__ import annotations

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings, strategies as st

from simulator import crypto

SETTINGS = settings(max_examples=100, deadline=None)
BLOCKS = st.sampled_from([8, 16])
KEY16 = st.binary(min_size=16, max_size=16)
DATA = st.binary(max_size=100)


def _run(algorithm, mode, data: bytes, decrypt: bool = False) -> bytes:
    cipher = Cipher(algorithm, mode)
    ctx = cipher.decryptor() if decrypt else cipher.encryptor()
    return ctx.update(data) + ctx.finalize()


def _des(key8: bytes) -> TripleDES:
    return TripleDES(key8 * 3)  # K‖K‖K: single DES


@SETTINGS
@given(data=DATA, block=BLOCKS)
def test_pad80_is_iso9797_method_2_and_unpad80_undoes_it(data, block):
    padded = crypto.pad80(data, block)
    assert len(padded) % block == 0 and 1 <= len(padded) - len(data) <= block
    assert padded[:len(data)] == data and padded[len(data)] == 0x80 and not any(padded[len(data) + 1:])
    assert crypto.unpad80(padded, block) == data == crypto.unpad80(padded)


@SETTINGS
@given(data=st.binary(max_size=48), block=BLOCKS)
def test_unpad80_takes_only_what_pad80_makes(data, block):
    try:
        body = crypto.unpad80(data, block)
    except ValueError as exc:
        assert "padding" in str(exc) or "multiple" in str(exc)
        return
    assert crypto.pad80(body, block) == data  # accepted = exactly a padded message


@SETTINGS
@given(key=KEY16, data=DATA, icv=st.binary(min_size=8, max_size=8))
def test_retail_mac_is_mac_algorithm_3_as_iso9797_writes_it(key, data, icv):
    # ISO/IEC 9797-1 algorithm 3 written as the standard does: DES-CBC with K1 over every block,
    # then output transformation 3: decrypt with K2, encrypt with K1.
    chain = _run(_des(key[:8]), modes.CBC(icv), crypto.pad80(data, 8))[-8:]
    reference = _run(_des(key[:8]), modes.ECB(), _run(_des(key[8:]), modes.ECB(), chain, decrypt=True))
    assert crypto.retail_mac8(key, data, icv) == reference
    assert crypto.retail_mac(key, data, icv) == reference[:4]


@SETTINGS
@given(key=KEY16, data=DATA, iv=st.binary(min_size=16, max_size=16))
def test_sm4_mac_is_the_last_cbc_block_folded_to_4_bytes(key, data, iv):
    y = _run(algorithms.SM4(key), modes.CBC(iv), crypto.pad80(data, 16))[-16:]
    words = [int.from_bytes(y[i:i + 4], "big") for i in range(0, 16, 4)]
    assert crypto.sm4_mac(key, data, iv) == (words[0] ^ words[1] ^ words[2] ^ words[3]).to_bytes(4, "big")


@SETTINGS
@given(algorithm=st.sampled_from(["3des", "sm4"]), key=KEY16, data=st.binary(max_size=60),
       challenge=st.one_of(st.none(), st.binary(min_size=4, max_size=4), st.binary(min_size=8, max_size=8),
                           st.binary(min_size=16, max_size=16)))
def test_the_padding_makes_every_message_its_own_mac_input(algorithm, key, data, challenge):
    # method 2 padding: a message and the same message with 80 (or 80 00) appended pad differently,
    # so their MACs differ (a method-1 zero padding would make them collide)
    macs = {crypto.mac(algorithm, key, m, challenge) for m in (data, data + b"\x80", data + b"\x80\x00", data + b"\x00")}
    assert len(macs) == 4
    # the challenge is the ICV/IV: R8 (3DES) or R16 (SM4) of it, zero without one
    icv = bytes(8 if algorithm == "3des" else 16) if challenge is None else \
        (crypto.r8 if algorithm == "3des" else crypto.r16)(challenge)
    direct = crypto.retail_mac(key, data, icv) if algorithm == "3des" else crypto.sm4_mac(key, data, icv)
    assert crypto.mac(algorithm, key, data, challenge) == direct


@SETTINGS
@given(challenge=st.binary(max_size=20))
def test_challenges_adapt_to_8_and_16_bytes_by_zero_fill_or_refuse(challenge):
    if len(challenge) not in (4, 8, 16):
        with pytest.raises(ValueError, match="challenge must be 4, 8 or 16 bytes"):
            crypto.r8(challenge)
        return
    assert crypto.r16(challenge) == challenge.ljust(16, b"\0")
    assert crypto.r8(challenge) == challenge.ljust(16, b"\0")[:8]
