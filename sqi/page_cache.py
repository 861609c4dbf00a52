"""Whole-page cache of the public pages (home, index home, insurer profile) for anonymous
visitors, and what invalidates it.

Why not Django's ``cache_page`` / cache middleware: they store the response *with* its CSRF
token (the forms of the language and elder-mode switches are on every page), so every
visitor served from one entry would share one token; and they skip caching as soon as the
response varies on ``Cookie`` — which every page with a token does. Here the view renders
once with a placeholder in place of the token and each response gets the visitor's own
token (``get_token``, which also sets or renews the CSRF cookie). The decorator sits inside
the middleware stack, so the security headers, ``Vary``, ``Content-Language`` and the CSRF
cookie are added to cached responses exactly as to fresh ones.

What is cached: the body, status and content type of a 200 answer to a GET/HEAD, only when
the request carries no session cookie and no message cookie (so the visitor is anonymous
and has no flash messages waiting: the page is the same for every such visitor) and its
query string uses only the parameters the view reads. The key is the language, elder mode
and the full path (query string included), hashed. Signed-in users and anything unusual go
to the view as before.

Invalidation: one *generation* for all public pages. Every entry stores the generation it
was rendered under, and an entry of another generation is a miss. A cached answer costs one
Redis ``GET`` of the generation (a few bytes): the page body itself comes from this
process's copy (:data:`_local`) while it is of the current generation, else from Redis;
:class:`LocalPageMiddleware` serves such copies before the URL is even resolved.
``PUBLIC_PAGE_CACHE_RECHECK_SECONDS`` (default 0.25; 0: ask every time) lets a process trust
the generation it read for that long instead, saving the round trip at the price of other
processes showing a publication that much later (the publishing process shows it at once).
:func:`public_pages_changed` sets a new generation at once and again when the transaction
commits (the second one drops any page that another process rendered from the old data
meanwhile). It is called by ``sqi.runs.index_run_publish`` and, through the signals
connected in :func:`connect_invalidation`, by every write of what the pages show:
published/superseded runs and their results, periods, methodologies, insurers, renamed org
units and showcase cases with their programme, category, tags, awardees and key figures —
whoever writes them (services, admin, shell). Writes that bypass model signals
(``QuerySet.update``, ``bulk_create``, raw SQL of the demo loaders) are caught by the
entries' lifetime, ``PUBLIC_PAGE_CACHE_SECONDS`` (10 minutes by default), which also bounds
the footer's year. ``migrate``, which every release runs, starts a new generation too: new
code and templates never meet pages of the old ones.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from functools import wraps
from time import monotonic

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.http import HttpResponse
from django.middleware.csrf import get_token

logger = logging.getLogger(__name__)

GENERATION_KEY = "public-pages:generation"
PAGE_KEY_PREFIX = "public-pages:page:"
#: What the template renders where the CSRF token goes; letters, digits and dashes only, so
#: no autoescaping changes it. Each response puts the visitor's own token in its place.
CSRF_PLACEHOLDER = "sqi-csrf-placeholder-7c1e0a9d4b"
_PLACEHOLDER_BYTES = CSRF_PLACEHOLDER.encode()
#: Longest query string worth an entry (a bound on what a crawler can make us store).
MAX_QUERY_STRING = 256
_RENDERING = "_sqi_page_cache_rendering"
#: Pages this process served lately, by key: the shared cache is then asked only for the
#: generation (a few bytes) and the page body comes from here while it is current.
_local: dict[str, tuple] = {}
#: The paths (without query) of those pages: what :class:`LocalPageMiddleware` looks for.
_local_paths: set[str] = set()
LOCAL_ENTRIES = 128


def cache_seconds() -> int:
    return getattr(settings, "PUBLIC_PAGE_CACHE_SECONDS", 600)


#: The generation this process read last, and when (``time.monotonic``).
_seen: tuple[int | None, float] = (None, 0.0)


# ---- invalidation -------------------------------------------------------------------------------


def _new_generation() -> None:
    global _seen
    generation = secrets.randbits(62)
    _seen = (generation, monotonic())
    try:
        cache.set(GENERATION_KEY, generation, timeout=None)
    except Exception:
        # The cache is down: the write that called us must still succeed. Pages cached
        # before it expire within PUBLIC_PAGE_CACHE_SECONDS; a restarted, empty Redis has
        # no generation at all, which drops them at once.
        logger.warning("public page cache: could not start a new generation", exc_info=True)


def forget_local() -> None:
    """Forget this process's copies and the generation it read (tests: a fresh cache)."""
    global _seen
    _local.clear()
    _local_paths.clear()
    _seen = (None, 0.0)


def public_pages_changed(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Drop every cached public page: now, and again once the current transaction commits.

    The first change makes pages rendered before it stale at once (and is what a test in a
    never-committed transaction sees); the second catches pages another process rendered
    from the not yet committed data in between. A transaction that changes many rows
    registers the commit-time change only once.
    """
    _new_generation()
    connection = connections[using]
    if not connection.in_atomic_block:
        return
    if any(func is _new_generation for _sids, func, _robust in connection.run_on_commit):
        return
    transaction.on_commit(_new_generation, using=using, robust=True)


def _current_generation(*, fresh: bool = False) -> int:
    """The current generation, from the shared cache — or, within
    ``PUBLIC_PAGE_CACHE_RECHECK_SECONDS`` of the last time this process read it (0.25 s by
    default; 0: every request asks), the one it read then. A new one when the key is gone
    (evicted, a flushed cache): entries of any earlier generation then never match."""
    global _seen
    window = getattr(settings, "PUBLIC_PAGE_CACHE_RECHECK_SECONDS", 0)
    generation, read_at = _seen
    now = monotonic()
    if not fresh and window and generation is not None and now - read_at < window:
        return generation
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, secrets.randbits(62), timeout=None)
        generation = cache.get(GENERATION_KEY)
    _seen = (generation, now)
    return generation


# ---- the decorator ------------------------------------------------------------------------------


def _cacheable(request, params: frozenset[str]) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    cookies = request.COOKIES
    if settings.SESSION_COOKIE_NAME in cookies or "messages" in cookies:
        return False  # possibly signed in, or a flash message to show: not the shared page
    query = request.META.get("QUERY_STRING", "")
    return not query or (len(query) <= MAX_QUERY_STRING and set(request.GET) <= params)


def _page_key(request) -> str:
    elder = request.COOKIES.get(settings.ELDER_MODE_COOKIE) == "1"
    language = getattr(request, "LANGUAGE_CODE", settings.LANGUAGE_CODE)
    raw = f"{language}\n{int(elder)}\n{request.get_full_path()}".encode()
    return PAGE_KEY_PREFIX + hashlib.blake2b(raw, digest_size=16).hexdigest()


def _stored(key: str, generation: int, path: str):
    """The entry of ``key`` rendered under ``generation``: from this process's copy if it
    has one, else from the shared cache (and then kept here), else None."""
    entry = _local.get(key)
    if entry is not None and entry[0] == generation:
        return entry
    entry = cache.get(key)
    if entry is not None and entry[0] == generation:
        _remember(key, entry, path)
        return entry
    return None


def _remember(key: str, entry: tuple, path: str) -> None:
    if len(_local) >= LOCAL_ENTRIES:
        _local.clear()  # rare (a crawler's many query strings): start again
        _local_paths.clear()
    _local[key] = entry
    _local_paths.add(path)


def _with_token(request, content: bytes) -> bytes:
    return content.replace(_PLACEHOLDER_BYTES, get_token(request).encode())


def cache_public_page(*, params: tuple[str, ...] = ()):
    """Serve the decorated view's page from the shared cache for anonymous visitors.

    ``params``: the query parameters the view reads; a request with any other parameter is
    not cached (it still gets the page)."""
    allowed = frozenset(params)

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not _cacheable(request, allowed):
                return view(request, *args, **kwargs)
            key = _page_key(request)
            try:
                generation = _current_generation()
                entry = _stored(key, generation, request.path)
            except Exception:  # the cache is down: the page, uncached, rather than an error
                logger.warning("public page cache unavailable", exc_info=True)
                return view(request, *args, **kwargs)
            if entry is not None:
                _generation, status, content_type, content = entry
                return HttpResponse(
                    _with_token(request, content), status=status, content_type=content_type
                )
            # What is rendered now is tagged with the generation read now, never a remembered one.
            try:
                generation = _current_generation(fresh=True)
            except Exception:
                logger.warning("public page cache unavailable", exc_info=True)
                return view(request, *args, **kwargs)
            setattr(request, _RENDERING, True)
            try:
                response = view(request, *args, **kwargs)
            finally:
                setattr(request, _RENDERING, False)
            if getattr(response, "streaming", False):
                return response
            if hasattr(response, "render") and callable(response.render):
                response.render()
            content = response.content
            if (
                response.status_code == 200
                and not response.cookies
                and not response.has_header("Cache-Control")
                and not request.user.is_authenticated
            ):
                entry = (generation, response.status_code, response["Content-Type"], content)
                try:
                    cache.set(key, entry, cache_seconds())
                except Exception:
                    logger.warning("public page cache: could not store a page", exc_info=True)
                else:
                    _remember(key, entry, request.path)
            response.content = _with_token(request, content)
            return response

        return wrapped

    return decorator


class LocalPageMiddleware:
    """Last in ``MIDDLEWARE``: answers a request for a page this process holds a current
    copy of before the URL is resolved (a profile's URL is tried against some fifty
    patterns first, a sixth of what a cached answer costs). Everything else, and every
    first request for a page, goes on to the view and its :func:`cache_public_page`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.path in _local_paths
            and request.method in ("GET", "HEAD")
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and "messages" not in request.COOKIES
        ):
            # Only a key the view's decorator accepted (query parameters included) is held.
            entry = _local.get(_page_key(request))
            if entry is not None:
                try:
                    current = _current_generation() == entry[0]
                except Exception:
                    current = False
                if current:
                    _generation, status, content_type, content = entry
                    return HttpResponse(
                        _with_token(request, content), status=status, content_type=content_type
                    )
        return self.get_response(request)


def csrf_placeholder(request) -> dict:
    """Context processor: while a cacheable page renders, ``{{ csrf_token }}`` and
    ``{% csrf_token %}`` print the placeholder (it comes after Django's own ``csrf``
    processor, so it wins)."""
    if getattr(request, _RENDERING, False):
        return {"csrf_token": CSRF_PLACEHOLDER}
    return {}


# ---- what changes the public pages --------------------------------------------------------------


def _changed(sender, **kwargs) -> None:
    public_pages_changed(using=kwargs.get("using") or DEFAULT_DB_ALIAS)


def _run_changed(sender, instance, **kwargs) -> None:
    from .models import RunStatus

    # Pending, computing, validated and failed runs are never on a public page.
    if instance.status in (RunStatus.PUBLISHED, RunStatus.SUPERSEDED):
        _changed(sender, **kwargs)


def _awardees_changed(sender, action="", **kwargs) -> None:
    if action.startswith("post_"):
        _changed(sender, **kwargs)


def _unit_changed(sender, instance, created=False, update_fields=None, **kwargs) -> None:
    # Units are named on showcase cards; a new unit is on no card yet, and treebeard's
    # bookkeeping saves (paths, child counts) do not change a name.
    if not created and (update_fields is None or "name" in update_fields):
        _changed(sender, **kwargs)


def _released(sender, **kwargs) -> None:
    # Every release runs migrate (docs/operations.md): new code and templates, new pages.
    _new_generation()


def connect_invalidation() -> None:
    """Connect :func:`public_pages_changed` to the writes of everything the cached pages
    show, and to ``migrate`` (called from ``SqiConfig.ready``)."""
    from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

    from cases.models import AwardCategory, AwardProgramme, KeyFigure, ShowcaseCase, Tag
    from insurers.models import Insurer, OrgUnit

    from .models import IndexResult, IndexRun, Methodology, Period

    uid = "sqi.page_cache"
    post_migrate.connect(_released, dispatch_uid=f"{uid}.migrate")
    post_save.connect(_run_changed, sender=IndexRun, dispatch_uid=f"{uid}.run.save")
    post_delete.connect(_run_changed, sender=IndexRun, dispatch_uid=f"{uid}.run.delete")
    post_save.connect(_unit_changed, sender=OrgUnit, dispatch_uid=f"{uid}.unit.save")
    post_delete.connect(_changed, sender=OrgUnit, dispatch_uid=f"{uid}.unit.delete")
    # Results are written with bulk_create before their run is published (and publishing is
    # the change); a post_delete receiver would only make deleting them row by row.
    post_save.connect(_changed, sender=IndexResult, dispatch_uid=f"{uid}.result.save")
    for model in (
        Period,
        Methodology,
        Insurer,
        ShowcaseCase,
        KeyFigure,
        Tag,
        AwardProgramme,
        AwardCategory,
    ):
        name = model._meta.label_lower
        post_save.connect(_changed, sender=model, dispatch_uid=f"{uid}.{name}.save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"{uid}.{name}.delete")
    for field in ("insurers", "org_units", "tags"):
        through = getattr(ShowcaseCase, field).through
        m2m_changed.connect(_awardees_changed, sender=through, dispatch_uid=f"{uid}.case.{field}")
