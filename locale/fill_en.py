"""Fill the English catalogue: every msgstr is its msgid (the source strings are English).

    python manage.py makemessages -l en --ignore=.venv --ignore=tests --ignore=bench --no-location
    python locale/fill_en.py
    python manage.py compilemessages --ignore=.venv

Kept complete so that tests/sqi/test_translations.py can check both catalogues the same way
(no untranslated, no fuzzy entry). Standard library only.
"""

import re
import sys
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parent / "en" / "LC_MESSAGES" / "django.po"


def _value(lines: list[str], key: str) -> list[str] | None:
    """The quoted lines of ``key`` (e.g. ``msgid``) in a block, or None."""
    out, inside = [], False
    for line in lines:
        if line.startswith(key + " "):
            inside = True
            out.append(line[len(key) + 1 :])
        elif inside and line.startswith('"'):
            out.append(line)
        elif inside:
            break
    return out if inside else None


def fill(block: str) -> str:
    lines = [line for line in block.split("\n") if line != "#, fuzzy"]
    lines = [re.sub(r"^(#,.*), fuzzy", r"\1", line) for line in lines]
    msgid = _value(lines, "msgid")
    if not msgid or msgid == ['""']:
        return "\n".join(lines)  # the header
    plural = _value(lines, "msgid_plural")
    body = []
    for line in lines:
        if line.startswith("msgstr"):
            break
        body.append(line)
    if plural is None:
        body.append("msgstr " + msgid[0])
        body.extend(msgid[1:])
    else:
        body.append("msgstr[0] " + msgid[0])
        body.extend(msgid[1:])
        body.append("msgstr[1] " + plural[0])
        body.extend(plural[1:])
    return "\n".join(body)


def main() -> int:
    text = CATALOGUE.read_text(encoding="utf-8")
    blocks = text.strip("\n").split("\n\n")
    CATALOGUE.write_text("\n\n".join(fill(b) for b in blocks) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
