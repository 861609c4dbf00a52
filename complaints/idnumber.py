"""Resident identity card numbers (居民身份证号码, GB 11643-1999).

Eighteen characters: a six-digit region code, the birth date (YYYYMMDD), a three-digit
sequence and a check character computed from the first seventeen digits (ISO 7064 MOD 11-2).
Pure Python: validation, the birth date (for the elder flag) and the masked form.
"""

import datetime

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
# First two digits of a region code: provinces, plus 71 Taiwan, 81 Hong Kong, 82 Macao.
PROVINCES = frozenset(
    {
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36",
        "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62",
        "63", "64", "65", "71", "81", "82",
    }
)  # fmt: skip


def normalise(value: str) -> str:
    return value.strip().upper().replace(" ", "")


def check_character(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK[total % 11]


def problem(value: str) -> str | None:
    """Why ``value`` is not a valid ID number (``"length"``, ``"digits"``, ``"region"``,
    ``"birth_date"``, ``"checksum"``), or ``None``."""
    value = normalise(value)
    if len(value) != 18:
        return "length"
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        return "digits"
    if value[:2] not in PROVINCES:
        return "region"
    if birth_date(value) is None:
        return "birth_date"
    if check_character(value[:17]) != value[17]:
        return "checksum"
    return None


def birth_date(value: str) -> datetime.date | None:
    value = normalise(value)
    try:
        born = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None
    if born.year < 1900:
        return None
    return born


def age_on(value: str, day: datetime.date) -> int | None:
    born = birth_date(value)
    if born is None:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def mask(value: str) -> str:
    """``310101199001011234`` → ``3101**********1234``: enough to recognise, not to use."""
    value = normalise(value)
    if len(value) < 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def make(region: str, born: datetime.date, sequence: int) -> str:
    """A valid number for tests and demo data (never a real person's: sequence is ours)."""
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)
