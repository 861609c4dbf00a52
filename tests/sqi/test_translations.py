"""Every user-visible string is marked for translation and translated into zh-Hans.

The committed catalogue must hold every string that ``makemessages`` finds in the code today
(so a new untranslated string fails here), and every entry must have a translation that is
not marked fuzzy.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = {
    language: ROOT / "locale" / language / "LC_MESSAGES" / "django.po"
    for language in ("zh_Hans", "en")
}
CATALOGUE = CATALOGUES["zh_Hans"]
SOURCES = (
    "outbox",
    "insurers",
    "complaints",
    "cases",
    "sqi",
    "templates",
    "manage.py",
    "pyproject.toml",
)


def parse_po(text: str) -> dict[str, tuple[str, bool]]:
    """msgid → (msgstr, fuzzy); plural forms keyed by the singular, msgstr[0]."""
    entries: dict[str, tuple[str, bool]] = {}
    for block in re.split(r"\n\s*\n", text):
        fuzzy = "#, fuzzy" in block or re.search(r"^#,.*fuzzy", block, re.M) is not None
        current, parts = None, {"msgid": [], "msgstr": []}
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            match = re.match(
                r"^(msgid|msgstr|msgstr\[0\]|msgid_plural|msgstr\[\d+\])\s+(\".*\")$", line
            )
            if match:
                key = match.group(1)
                current = {"msgstr[0]": "msgstr"}.get(key, key)
                if current in parts:
                    parts[current].append(match.group(2)[1:-1])
                else:
                    current = None
            elif line.startswith('"') and current:
                parts[current].append(line[1:-1])
        msgid = "".join(parts["msgid"])
        if msgid:
            entries[msgid] = ("".join(parts["msgstr"]), fuzzy)
    return entries


@pytest.mark.parametrize("language", sorted(CATALOGUES))
def test_catalogue_is_complete_and_has_no_fuzzy_entries(language):
    """zh_Hans is translated by hand; en is filled by locale/fill_en.py (msgstr = msgid)."""
    entries = parse_po(CATALOGUES[language].read_text(encoding="utf-8"))
    assert len(entries) > 50
    missing = [m for m, (s, _) in entries.items() if not s]
    fuzzy = [m for m, (_, f) in entries.items() if f]
    assert not missing, f"untranslated: {missing[:10]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:10]}"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext is not installed")
def test_every_marked_string_is_in_the_catalogue(tmp_path):
    """Both catalogues hold every string that makemessages finds in the code today."""
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy(src, tmp_path / name)
    (tmp_path / "locale").mkdir()
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-location", "-v", "0"],
        cwd=tmp_path,
        check=True,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "sqi.settings",
        },
    )
    fresh = parse_po((tmp_path / "locale/zh_Hans/LC_MESSAGES/django.po").read_text("utf-8"))
    for language, catalogue in CATALOGUES.items():
        committed = parse_po(catalogue.read_text(encoding="utf-8"))
        new = sorted(set(fresh) - set(committed))
        assert not new, f"strings not in locale/{language}/LC_MESSAGES/django.po: {new[:15]}"
