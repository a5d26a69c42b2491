"""READ BINARY and UPDATE BINARY (spec §4.7, §4.9, §2.3, §2.6, PD-03, PD-26)."""

from __future__ import annotations

import pytest

from cardkit import authenticate, make, ok, rsp, select_df, select_ef, send, sw

PHOTO = bytes(range(256)) * 40  # 10240 bytes: more than EF08 holds


def ssse(gen: int = 2, *keys: str, **switches):
    card = make(gen, **switches)
    select_df(card, "SSSE")
    for ref in keys:
        assert authenticate(card, ref) == "9000"
    return card


def write_photo(card, size: int = 8192) -> bytes:
    """Field style: the photo in 255-byte pieces, 00D6 <offset> FF <255 bytes> (§4.9)."""
    ok(card, "00A4020002EF08")
    for offset in range(0, size, 255):
        piece = PHOTO[offset: min(offset + 255, size)]
        ok(card, f"00D6{offset:04X}{len(piece):02X}{piece.hex()}")
    return PHOTO[:size]


# --- READ BINARY ------------------------------------------------------------------------------

@pytest.mark.parametrize("p1p2, le, start, count", [
    pytest.param("0000", "10", 0, 16, id="offset 0 Le 16"),
    pytest.param("0000", "00", 0, 256, id="Le 00 = 256"),
    pytest.param("0000", "", 0, 256, id="Le absent = 256"),
    pytest.param("0100", "20", 256, 32, id="offset 0100"),
    pytest.param("1FFF", "01", 8191, 1, id="last byte"),
    pytest.param("1FF0", "00", 8176, 16, id="beyond the end: what is there, 9000"),
    pytest.param("1F00", "FF", 7936, 255, id="offset 1F00 Le FF"),
])
def test_read_binary_offsets(p1p2, le, start, count):
    card = ssse(2, "04", "0A")
    photo = write_photo(card)
    assert rsp(card, f"00B0{p1p2}{le}") == photo[start: start + count].hex().upper() + "9000"


@pytest.mark.parametrize("p1, sfi_ef", [("87", "EF07"), ("88", "EF08")])
def test_read_binary_sfi_form_makes_the_ef_current(p1, sfi_ef):
    card = ssse(2, "0A")
    ok(card, "00A4020002EF05")
    assert rsp(card, f"00B0{p1}1008") == "00" * 8 + "9000"  # transparent files start as 00 (PD-34)
    assert card.current_ef.name == sfi_ef
    assert sw(card, "00B0000001") == "9000"


def test_read_binary_sfi_form_offset_is_p2():
    card = ssse(2, "04", "0A")
    photo = write_photo(card)
    assert rsp(card, "00B088FF02") == photo[255:257].hex().upper() + "9000"


@pytest.mark.parametrize("gen", [1, 2, 3])
def test_ef07_ef08_need_key_0a(gen):
    card = ssse(gen)
    assert sw(card, "00B0870000") == "6982"
    assert sw(card, "00B0880000") == "6982"
    assert authenticate(card, "04") == "9000"
    assert sw(card, "00B0880000") == "6982"
    assert authenticate(card, "0A") == "9000"
    assert sw(card, "00B0880000") == "9000"


@pytest.mark.parametrize("apdu, expected", [
    pytest.param("00B0040000", "6B00", id="6B00 offset = size of EF07 (1024)"),
    pytest.param("00B07FFF01", "6B00", id="6B00 offset 7FFF"),
    pytest.param("00B0A70000", "6A86", id="6A86 P1 b7-b6 = 01"),
    pytest.param("00B0C70000", "6A86", id="6A86 P1 b7-b6 = 10"),
    pytest.param("00B0E70000", "6A86", id="6A86 P1 b7-b6 = 11"),
    pytest.param("00B09E0000", "6A82", id="6A82 SFI 1E absent"),
    pytest.param("00B0890000", "6A82", id="6A82 SFI 9 absent"),
    pytest.param("00B0850000", "6981", id="6981 SFI 5 is a record EF"),
    pytest.param("00B08B0000", "6981", id="6981 SFI 0B (DIR) is a record EF"),
    pytest.param("00B000000100", "6700", id="6700 data field"),
    pytest.param("00B0000001AA", "6700", id="6700 data field, case 3"),
])
def test_read_binary_sw_rows(apdu, expected):
    card = ssse(2, "0A")
    ok(card, "00A4020002EF07")
    assert sw(card, apdu) == expected


def test_read_binary_no_current_ef_and_record_ef():
    card = ssse(2)
    assert sw(card, "00B0000000") == "6986"
    ok(card, "00A4020002EF06")
    assert sw(card, "00B0000000") == "6981"


# Reading SFI 0 or 31 in the SFI form: §4.7 lists no row; SFI values are 1-30 (§0.2), so the
# engine's 6A86 ("a value the command never takes", §4.3 step 6) is the reading we test.
@pytest.mark.parametrize("p1", ["80", "9F"])
def test_read_binary_sfi_0_and_31(p1):
    assert sw(ssse(2, "0A"), f"00B0{p1}0000") == "6A86"


def test_offset_check_comes_before_the_access_check():
    card = ssse(2)
    ok(card, "00A4020002EF07")
    assert sw(card, "00B0040000") == "6B00"  # §4.3 8e before 11
    assert sw(card, "00B0000000") == "6982"


def test_pki_public_key_file_free_and_private_never():
    card = make(3)
    select_ef(card, "ADF1", "0012")
    data, status = send(card, "00B0000042")
    assert status == "9000" and len(data) == 66  # all zero until generated, CA40 ‖ X ‖ Y after
    for fid in ("0013", "0015"):
        ok(card, f"00A4020002{fid}")
        assert sw(card, "00B0000000") == "6982"
        assert sw(card, "00B0000020") == "6982"
        assert sw(card, "00D6000001AA") == "6982"
    ok(card, "00A4020002" + "0014")
    data, status = send(card, "00B0004000")
    assert status == "9000" and len(data) == 2  # beyond the end of 66 bytes: what is there


def test_pki_files_sizes():
    card = make(3)
    select_ef(card, "ADF1", "0018")
    assert sw(card, "00B0080000") == "6B00"  # 2048 bytes (PD-26)
    data, status = send(card, "00B007FF00")
    assert status == "9000" and len(data) == 1


def test_sizes_switch():
    card = ssse(2, "0A", sizes={"EF07": 300})
    ok(card, "00A4020002EF07")
    assert sw(card, "00B0012C00") == "6B00"  # offset 300 of 300
    assert rsp(card, "00B0012B00") == "009000"


# --- UPDATE BINARY ----------------------------------------------------------------------------

def test_update_binary_then_read_back():
    card = ssse(2, "04", "0A")
    ok(card, "00A4020002EF07")
    assert sw(card, "00D6010004DEADBEEF") == "9000"
    assert rsp(card, "00B000FE06") == "0000DEADBEEF9000"


def test_update_binary_sfi_form_makes_the_ef_current():
    card = ssse(3, "04", "0A")
    ok(card, "00A4020002EF05")
    assert sw(card, "00D6871003112233") == "9000"
    assert card.current_ef.name == "EF07"
    assert rsp(card, "00B0001003") == "1122339000"


def test_update_binary_whole_photo_in_pieces():
    card = ssse(2, "04", "0A")
    photo = write_photo(card)
    got = b"".join(send(card, f"00B0{o:04X}00")[0] for o in range(0, 8192, 256))
    assert got == photo


def test_update_binary_6a84_writes_nothing():
    card = ssse(2, "04", "0A")
    ok(card, "00A4020002EF07")
    assert sw(card, "00D603FE03AABBCC") == "6A84"  # 1022 + 3 > 1024
    assert rsp(card, "00B003FE00") == "00009000"
    assert sw(card, "00D603FE02AABB") == "9000"  # exactly to the end
    assert rsp(card, "00B003FE00") == "AABB9000"


@pytest.mark.parametrize("apdu, expected", [
    pytest.param("00D6040001AA", "6B00", id="6B00 offset = size"),
    pytest.param("00D67FFF01AA", "6B00", id="6B00 offset 7FFF"),
    pytest.param("00D6A70001AA", "6A86", id="6A86 P1 b7-b6"),
    pytest.param("00D69E0001AA", "6A82", id="6A82 SFI absent"),
    pytest.param("00D6850001AA", "6981", id="6981 record EF by SFI"),
    pytest.param("00D60000", "6700", id="6700 no data"),
    pytest.param("00D6000001", "6700", id="6700 no data, Le"),
])
def test_update_binary_sw_rows(apdu, expected):
    card = ssse(2, "04")
    ok(card, "00A4020002EF07")
    assert sw(card, apdu) == expected


def test_update_binary_6986_and_record_ef():
    card = ssse(2, "04")
    assert sw(card, "00D6000001AA") == "6986"
    ok(card, "00A4020002EF05")
    assert sw(card, "00D6000001AA") == "6981"


@pytest.mark.parametrize("gen", [1, 2, 3])
def test_update_binary_needs_key_04(gen):
    card = ssse(gen, "0A")
    ok(card, "00A4020002EF08")
    assert sw(card, "00D6000001AA") == "6982"
    assert sw(card, "00D6200001AA") == "6B00"  # 8e before 11
    assert sw(card, "00D61FFF02AABB") == "6A84"
    assert authenticate(card, "04") == "9000"
    assert sw(card, "00D6000001AA") == "9000"


def test_update_binary_pin_admin_for_certificates():
    card = make(3)
    select_ef(card, "ADF1", "0018")
    assert sw(card, "00D6000001AA") == "6982"  # PIN(admin) not verified (§2.6)
