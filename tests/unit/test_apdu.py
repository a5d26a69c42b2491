"""C-APDU parsing of spec §4.1 (short only) and R-APDU helpers."""

import pytest

from simulator.apdu import APDUError, CommandAPDU


@pytest.mark.parametrize("hex_,case,data,le", [
    ("00A40000", 1, None, None),
    ("0084000008", 2, None, 8),
    ("00B2010400", 2, None, 256),
    ("00A4000002EF05", 3, b"\xEF\x05", None),
    ("80C4010305C10312345600", 4, bytes.fromhex("C103123456"), 256),
])
def test_cases(hex_, case, data, le):
    apdu = CommandAPDU.parse(bytes.fromhex(hex_))
    assert (apdu.case, apdu.data, apdu.le) == (case, data, le)
    assert apdu.to_bytes().hex().upper() == hex_


@pytest.mark.parametrize("hex_,why", [
    ("", "shorter than 4"), ("00A400", "shorter than 4"),
    ("00A4000000000102", "extended"),  # byte 5 = 00 followed by more bytes
    ("00A4000002EF", "does not fit"), ("00A4000002EF05EF06", "does not fit"),
])
def test_malformed_names_offending_bytes(hex_, why):
    with pytest.raises(APDUError) as err:
        CommandAPDU.parse(bytes.fromhex(hex_))
    assert why in str(err.value) and (hex_.upper() or "(empty)") in str(err.value)
