"""GB 11643 citizen identity number (the SSN of EF06 tag 08): check character (spec §3.7).

A data check for the tester; the card itself never validates the SSN.
"""

from __future__ import annotations

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"            # indexed by (Σ digit × weight) mod 11
_DIGITS = frozenset("0123456789")


def check_char(d17: str) -> str:
    """The 18th character for the first 17 digits; ValueError unless d17 is 17 digits."""
    if len(d17) != 17 or not _DIGITS.issuperset(d17):
        raise ValueError(f"expected 17 digits, got {d17!r}")
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(d17, WEIGHTS)) % 11]


def is_valid(ssn: str) -> bool:
    """17 digits followed by the right check character (uppercase X). The address code and
    the birth date are not checked."""
    if not isinstance(ssn, str) or len(ssn) != 18 or not _DIGITS.issuperset(ssn[:17]):
        return False
    return ssn[17] == check_char(ssn[:17])
