"""Properties of the card's schemes (spec §5.4; simulator/schemes.py over simulator/crypto.py): each
cipher undoes itself, each session key and cryptogram opens back to its inputs with the inverse
cipher, the terminal's cryptogram is what the card accepts, the PIN blocks and key changes open back,
diversification is determined by its inputs, and the GB 11643 check character is ISO 7064 MOD 11-2."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from simulator import Card, crypto, gb11643, schemes
from simulator.samples import sample_image

SETTINGS = settings(max_examples=100, deadline=None)
KEY16 = st.binary(min_size=16, max_size=16)
KEY8 = st.binary(min_size=8, max_size=8)
CHALLENGES = st.one_of(*(st.binary(min_size=n, max_size=n) for n in (4, 8, 16)))
PINS = st.text("0123456789", min_size=4, max_size=12)


@SETTINGS
@given(key8=KEY8, key16=KEY16, blocks8=st.integers(1, 4), blocks16=st.integers(1, 3), data=st.data())
def test_each_cipher_undoes_itself(key8, key16, blocks8, blocks16, data):
    d8 = data.draw(st.binary(min_size=8 * blocks8, max_size=8 * blocks8))
    d16 = data.draw(st.binary(min_size=16 * blocks16, max_size=16 * blocks16))
    assert crypto.des_decrypt(key8, crypto.des_encrypt(key8, d8)) == d8
    assert crypto.tdes_decrypt(key16, crypto.tdes_encrypt(key16, d8)) == d8
    assert crypto.sm4_decrypt(key16, crypto.sm4_encrypt(key16, d16)) == d16
    # two-key 3DES with K1 = K2 is single DES (EDE collapses): the key halves are used as 7816 says
    assert crypto.tdes_encrypt(key8 + key8, d8) == crypto.des_encrypt(key8, d8)


@SETTINGS
@given(key=KEY16, challenge=CHALLENGES, d8=KEY8)
def test_session_keys_and_cryptograms_open_back_to_their_inputs(key, challenge, d8):
    r8, r16 = crypto.r8(challenge), crypto.r16(challenge)
    sk = schemes.des_session_key(key, challenge)
    assert crypto.tdes_decrypt(key, sk) == r8
    assert crypto.des_decrypt(sk, schemes.des_session_cryptogram(key, challenge, d8)) == d8
    sk4 = schemes.sm4_session_key(key, challenge)
    assert crypto.sm4_decrypt(key, sk4) == r8 + bytes(8)
    x = schemes.sm4_session_x(key, challenge, d8)
    assert crypto.sm4_decrypt(sk4, x) == d8 + bytes(8)
    assert schemes.sm4_session_cryptogram(key, challenge, d8) == bytes(a ^ b for a, b in zip(x[:8], x[8:]))
    assert crypto.sm4_decrypt(key, schemes.sm4_direct_cryptogram(key, challenge)) == r16
    # without a D, the session schemes use R8 as D (§5.4.2)
    assert schemes.external_cryptogram("des-session", key, challenge) == \
        schemes.des_session_cryptogram(key, challenge, r8)
    assert schemes.internal_authenticate("sm4-session", key, r8, d8) == \
        schemes.sm4_session_cryptogram(key, r8, d8)


@settings(max_examples=30, deadline=None)
@given(gen=st.sampled_from(["gen2", "gen3"]), key=KEY16, seed=st.binary(min_size=8, max_size=8),
       flip=st.integers(0, 63))
def test_the_card_accepts_the_terminals_cryptogram_and_refuses_any_other(gen, key, seed, flip):
    image = sample_image(gen)
    image["keys"]["SSSE"]["04"] = key.hex().upper()  # the update key, as an image may give it
    card = Card.from_dict(image, random=lambda n: (seed * 2)[:n])
    card.power_on()
    assert card.transmit(bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF"))[-2:] == b"\x61\x18"
    scheme = "sm4-session" if gen == "gen3" else "des-session"

    def authenticate(tamper: bool) -> bytes:
        challenge = card.transmit(bytes.fromhex("0084000008"))[:-2]
        c = bytearray(schemes.external_cryptogram(scheme, key, challenge))
        if tamper:
            c[flip // 8] ^= 1 << (flip % 8)
        return card.transmit(bytes.fromhex("0082000410") + bytes(c) + challenge)

    assert authenticate(tamper=True)[:1] == b"\x63"  # wrong cryptogram: 63Cx, a try spent
    assert authenticate(tamper=False) == b"\x90\x00"


@SETTINGS
@given(algorithm=st.sampled_from(["3des", "sm4"]), puk=KEY16, pin=st.text("0123456789", min_size=3, max_size=12))
def test_pin_unblock_opens_back_to_the_new_pin(algorithm, puk, pin):
    bcd = schemes.pin_bcd(pin)
    assert schemes.bcd_pin(bcd) == pin
    enc = schemes.pin_unblock_enc(algorithm, puk, bcd)
    if 2 <= len(bcd) <= 6:
        assert schemes.pin_unblock_dec(algorithm, puk, enc) == bcd
    else:  # a PIN the card cannot hold is refused when opened (the card's 6A80)
        with pytest.raises(ValueError):
            schemes.pin_unblock_dec(algorithm, puk, enc)


@SETTINGS
@given(old=KEY16, new=KEY16, attrs=st.binary(min_size=3, max_size=3), p2=st.integers(0, 255), challenge=CHALLENGES)
def test_a_pki_master_key_change_opens_back_and_its_mac_covers_the_body(old, new, attrs, p2, challenge):
    body, mac = schemes.pki_change_mk(old, new, p2, challenge, attrs)
    assert schemes.open_pki_change_mk(old, body) == (attrs, new)
    header = bytes([0x84, 0xD4, 0x01, p2, 0x24])
    assert mac == crypto.sm4_mac(old, header + body, crypto.r16(challenge))


@SETTINGS
@given(algorithm=st.sampled_from(["3des", "sm4"]), root=KEY16, city=st.text("0123456789", min_size=6, max_size=6),
       card=KEY8)
def test_diversification_is_determined_by_its_inputs_and_opens_back(algorithm, root, city, card):
    factor = schemes.city_div(city)
    assert factor == city.encode() + b"sx"
    k = schemes.diversify(algorithm, root, factor)
    assert k == schemes.diversify(algorithm, root, factor) and len(k) == 16
    complement = bytes(b ^ 0xFF for b in factor)
    opened = crypto.tdes_decrypt(root, k) if algorithm == "3des" else crypto.sm4_decrypt(root, k)
    assert opened == factor + complement  # 3DES: two blocks f, ¬f; SM4: one block f ‖ ¬f
    assert schemes.diversify_chain(algorithm, root, factor, card) == schemes.diversify(algorithm, k, card)
    other = bytes([factor[0] ^ 1]) + factor[1:]
    assert schemes.diversify(algorithm, root, other) != k


def _mod11_2(d17: str) -> str:
    """ISO 7064 MOD 11-2, written from the standard: weights 2^(i-1) mod 11 from the right (the check
    character at i = 1), the check c makes Σ a_i·w_i ≡ 1 (mod 11); 10 is written X."""
    total = sum(int(d) * pow(2, 17 - k, 11) for k, d in enumerate(d17))
    c = next(c for c in range(11) if (total + c) % 11 == 1)
    return "X" if c == 10 else str(c)


@SETTINGS
@given(d17=st.text("0123456789", min_size=17, max_size=17), position=st.integers(0, 16), delta=st.integers(1, 9))
def test_gb11643_check_character_is_iso7064_mod11_2_and_catches_one_wrong_digit(d17, position, delta):
    check = gb11643.check_char(d17)
    assert check == _mod11_2(d17)
    assert gb11643.is_valid(d17 + check)
    assert not any(gb11643.is_valid(d17 + c) for c in "0123456789X" if c != check)
    wrong = d17[:position] + str((int(d17[position]) + delta) % 10) + d17[position + 1:]
    assert not gb11643.is_valid(wrong + check)  # any single wrong digit is caught
