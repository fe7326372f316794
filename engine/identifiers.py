"""China's unified identifiers, with their check characters: 统一社会信用代码 (GB 32100-2015) for organisations and
the resident identity card number (GB 11643-1999) for persons."""
from __future__ import annotations

from datetime import date

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def uscc_valid(code: str) -> bool:
    """An 18-character unified social credit code whose last character is its check character."""
    if len(code) != 18 or any(c not in USCC_CHARSET for c in code):
        return False
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(code[:17], USCC_WEIGHTS))
    return USCC_CHARSET[(31 - total % 31) % 31] == code[17]


def resident_id_valid(number: str) -> bool:
    """An 18-character resident identity card number whose last character is its check digit (0-9 or X)."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    return ID_CHECK[sum(int(d) * w for d, w in zip(number[:17], ID_WEIGHTS)) % 11] == number[17]


def customer_kind(identifier: str) -> str | None:
    """`company` for a valid unified social credit code, `person` for a valid resident ID, else None."""
    code = identifier.strip().upper()
    if resident_id_valid(code) and _birth_date(code):  # about 1 in 31 resident IDs also pass the USCC checksum
        return "person"
    if uscc_valid(code):
        return "company"
    return None


def _birth_date(number: str) -> bool:
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year
