"""The unified social credit code (统一社会信用代码, GB 32100-2015).

Eighteen characters from a 31-character alphabet (no I, O, Z, S, V); the last is a check
character computed from the first seventeen with fixed weights, modulo 31. Pure Python so
that demo data, forms and tests share one implementation.
"""

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18


def check_character(first17: str) -> str:
    """The check character for the first seventeen characters of a code."""
    if len(first17) != LENGTH - 1:
        raise ValueError("need exactly 17 characters")
    total = 0
    for char, weight in zip(first17, WEIGHTS, strict=True):
        value = ALPHABET.find(char)
        if value < 0:
            raise ValueError(f"character {char!r} is not allowed")
        total += value * weight
    return ALPHABET[(31 - total % 31) % 31]


def problem(code: str) -> str | None:
    """Why ``code`` is not a valid credit code (``"length"``, ``"alphabet"`` or
    ``"checksum"``), or ``None`` when it is. Callers turn the reason into a message."""
    if len(code) != LENGTH:
        return "length"
    if any(c not in ALPHABET for c in code):
        return "alphabet"
    if check_character(code[:17]) != code[17]:
        return "checksum"
    return None


def is_valid(code: str) -> bool:
    return problem(code) is None
