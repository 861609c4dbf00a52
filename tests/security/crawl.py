"""Helpers shared by the security tests: enumerate the URL patterns and the OpenAPI GET
operations, fill their parameters with records from the database, and look through a
response body for personal data.

The lists come from the URL resolver and the schema generator, never from a hand-written
list, so a page or endpoint added later is covered without touching these tests.
"""

import contextlib
import json
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urldefrag, urlsplit

from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    route: str  # the pattern as written, for messages
    params: tuple[str, ...]  # the keyword arguments the pattern needs


def routes() -> list[Route]:
    """Every named URL pattern outside the admin site, with the arguments it takes."""
    found: list[Route] = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace == "admin":
                    continue
                ns = f"{namespace}:{p.namespace}".strip(":") if p.namespace else namespace
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern) and p.name:
                params = tuple(p.pattern.regex.groupindex)
                if "format" in params:  # DRF's .json/.api suffix twins of each route
                    continue
                name = f"{namespace}:{p.name}" if namespace else p.name
                found.append(Route(name=name, route=prefix + str(p.pattern), params=params))

    walk(get_resolver().url_patterns, "", "")
    unique: dict[tuple[str, tuple[str, ...]], Route] = {}
    for r in found:
        unique.setdefault((r.name, r.params), r)
    return list(unique.values())


def api_get_paths() -> list[str]:
    """The OpenAPI paths (``/api/v1/complaints/{reference}/``) that answer GET."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(path for path, ops in schema["paths"].items() if "get" in ops)


def fill(template: str, values: dict[str, list[str]], limit: int = 3) -> list[str]:
    """Every way (up to ``limit`` per parameter) of filling ``{param}`` in ``template``."""
    out = [template]
    for param in re.findall(r"{(\w+)}", template):
        choices = values.get(param, [])[:limit]
        out = [u.replace("{" + param + "}", str(v), 1) for u in out for v in choices]
    return out


LINK = re.compile(r"""(?:href|src|action|hx-get|data-url)\s*=\s*["']([^"']+)["']""")


def links(body: str) -> list[str]:
    """Same-site paths linked from an HTML page (fragments dropped)."""
    found = []
    for raw in LINK.findall(body):
        url = urldefrag(raw.replace("&amp;", "&"))[0]
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not url.startswith("/"):
            continue
        found.append(url)
    return found


def text_of(response) -> str | None:
    """The body as text (JSON re-serialised without \\u escapes), or None for binaries."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    kind = response.get("Content-Type", "")
    if not any(t in kind for t in ("text/", "json", "javascript", "csv", "xml", "yaml")):
        return None
    text = content.decode("utf-8-sig", errors="replace")
    if "json" in kind:
        with contextlib.suppress(ValueError):
            text = json.dumps(json.loads(text), ensure_ascii=False)
    return text


PHONE = re.compile(r"(?<!\d)1\d{2}[- .]?\d{4}[- .]?\d{4}(?!\d)")
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


class PersonalData:
    """The complainants' and applicants' names, phones and ID numbers held in the database,
    and a fast search for them in a body (set look-ups, not one ``in`` per person)."""

    def __init__(self, *, names, phones, id_numbers):
        self.names = {n for n in names if n}
        self.phones = {re.sub(r"\D", "", p) for p in phones if p}
        self.id_numbers = {i.upper() for i in id_numbers if i}
        self.name_lengths = sorted({len(n) for n in self.names})

    def find(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFKC", text)  # full-width digits are digits too
        hits = []
        for m in PHONE.finditer(text):
            if re.sub(r"\D", "", m.group()) in self.phones:
                hits.append(f"phone {m.group()}")
        for m in ID_NUMBER.finditer(text):
            if m.group().upper() in self.id_numbers:
                hits.append(f"ID number {m.group()}")
        for run in CJK_RUN.findall(text):
            for size in self.name_lengths:
                for i in range(len(run) - size + 1):
                    if run[i : i + size] in self.names:
                        hits.append(f"name {run[i : i + size]} (in …{run}…)")
        return hits
