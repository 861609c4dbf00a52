"""Every write to a showcase case (服务创新 / 典型案例): authoring, the award workflow, images.

The workflow is ``draft → submitted → in_review → awarded | rejected``. Consumer-protection
staff write and submit the cases of the insurers in their scope; index administrators (the
people who run the award programmes) review, award or reject them. Only awarded cases are
public (``showcase_selectors.public_showcases``).

Every write here:
- checks the actor's role and scope (``PermissionDenied`` otherwise);
- validates everything it writes and raises one ``ValidationError`` naming each bad field,
  saving nothing;
- sanitises the rich-text body with nh3 — on every write, so no stored body ever holds a
  script, an event-handler attribute or a ``javascript:`` link, whoever wrote it;
- is audited: django-simple-history stores each saved version with the actor
  (``_history_user``) and, for workflow steps, the step as the change reason.
"""

from decimal import Decimal, InvalidOperation

import nh3
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, can_proceed
from PIL import Image, UnidentifiedImageError

from insurers.models import Insurer, Level, OrgUnit
from insurers.roles import INDEX_ADMIN, has_role
from insurers.selectors import insurer_list, visible_units

from .models import (
    BODY_MAX,
    AwardCategory,
    AwardProgramme,
    KeyFigure,
    ShowcaseCase,
    ShowcaseImage,
    ShowcaseStatus,
    Tag,
)

# ---- limits ------------------------------------------------------------------------------------

IMAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGE_MAX_SIDE = 4000
IMAGE_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF"})
MAX_TAGS = 8
MAX_FIGURES = 8
REASON_MAX = 100  # the history table's change-reason column holds 100 characters
REJECTION_MAX = 2000
SLUG_TITLE_CHARS = 60
YEAR_MIN = 1990

# ---- the rich-text body ------------------------------------------------------------------------

BODY_TAGS = frozenset(
    {
        "p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "h3", "h4", "blockquote", "a",
        "table", "caption", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
BODY_ATTRIBUTES = {
    "a": {"href"},
    "th": {"scope", "colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}
_cleaner = nh3.Cleaner(
    tags=set(BODY_TAGS),
    attributes=BODY_ATTRIBUTES,
    url_schemes={"http", "https", "mailto"},
    clean_content_tags={"script", "style"},
    link_rel="noopener noreferrer",
    strip_comments=True,
)


def sanitise_body(html: str) -> str:
    """The body with only a small set of text tags kept.

    Everything else is stripped (its text kept), ``<script>`` and ``<style>`` with their
    content, every attribute but ``href`` on links (http, https, mailto and relative only,
    so no ``javascript:``) and table spans; links get ``rel="noopener noreferrer"``.
    Admin forms that edit a body directly should pass it through here too.
    """
    return _cleaner.clean(html or "").strip()


# ---- who may do what ---------------------------------------------------------------------------


def is_reviewer(user) -> bool:
    """Index administrators (and superusers) with the change permission review and award."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.has_perm("cases.change_showcasecase")
        and (user.is_superuser or has_role(user, INDEX_ADMIN))
    )


def _ensure_author(by) -> None:
    if by is None or not by.is_authenticated or not by.has_perm("cases.add_showcasecase"):
        raise PermissionDenied(_("Your role does not allow you to put forward showcase cases."))


def _ensure_reviewer(by) -> None:
    if not is_reviewer(by):
        raise PermissionDenied(_("Only index administrators review and award showcase cases."))


def _awardees_in_scope(by, insurers, org_units) -> bool:
    if is_reviewer(by):
        return True
    insurer_ids = {i.pk for i in insurers}
    unit_ids = {u.pk for u in org_units}
    seen_insurers = insurer_list(user=by).filter(pk__in=insurer_ids).count() if insurer_ids else 0
    seen_units = visible_units(user=by).filter(pk__in=unit_ids).count() if unit_ids else 0
    return seen_insurers == len(insurer_ids) and seen_units == len(unit_ids)


def case_in_scope(user, case: ShowcaseCase) -> bool:
    """A reviewer reaches every case; staff the cases of an insurer or unit in their scope."""
    if is_reviewer(user):
        return True
    if not user.is_authenticated:
        return False
    return (
        insurer_list(user=user).filter(showcase_cases=case).exists()
        or visible_units(user=user).filter(showcase_cases=case).exists()
    )


def _ensure_may_edit(by, case: ShowcaseCase) -> None:
    """Authors edit drafts in their scope; reviewers edit anything not rejected."""
    if is_reviewer(by):
        if case.status == ShowcaseStatus.REJECTED:
            raise ValidationError(
                {"status": _("A rejected case can no longer be changed.")}, code="closed"
            )
        return
    _ensure_author(by)
    if not by.has_perm("cases.change_showcasecase") or not case_in_scope(by, case):
        raise PermissionDenied(_("This case is outside your scope."))
    if case.status != ShowcaseStatus.DRAFT:
        raise ValidationError(
            {"status": _("Only a draft can be changed; this case is “%(status)s”.")
             % {"status": case.get_status_display()}},
            code="not_draft",
        )  # fmt: skip


# ---- validating and writing the fields ---------------------------------------------------------

CASE_FIELDS = frozenset(
    {
        "title", "summary", "body", "year", "programme", "category", "is_demo_text",
        "insurers", "org_units", "tags", "figures",
    }
)  # fmt: skip
_SCALARS = ("title", "summary", "year", "programme", "category", "is_demo_text")


def _add(errors: dict, field: str, message) -> None:
    errors.setdefault(field, []).append(message)


def _tag_names(raw, errors: dict) -> list[str]:
    if isinstance(raw, str):
        raw = raw.replace("，", ",").split(",")
    names: list[str] = []
    for value in raw or ():
        name = (value.name if isinstance(value, Tag) else str(value)).strip()
        if not name or name in names:
            continue
        if len(name) > Tag._meta.get_field("name").max_length:
            _add(errors, "tags", _("A tag has at most 30 characters: “%(tag)s”.") % {"tag": name})
        names.append(name)
    if len(names) > MAX_TAGS:
        _add(errors, "tags", _("At most %(max)d tags.") % {"max": MAX_TAGS})
    return names


def _figures(raw, errors: dict) -> list[KeyFigure]:
    figures: list[KeyFigure] = []
    for n, row in enumerate(raw or (), start=1):
        if isinstance(row, KeyFigure):
            row = {"label": row.label, "value": row.value, "unit": row.unit}
        try:
            value = Decimal(str(row.get("value", "")).strip())
        except InvalidOperation:
            _add(errors, "figures", _("Key figure %(n)d: the value is not a number.") % {"n": n})
            continue
        figure = KeyFigure(
            label=str(row.get("label", "")).strip(),
            value=value,
            unit=str(row.get("unit") or "").strip(),
            order=n,
        )
        try:
            figure.full_clean(exclude=["case"])
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    _add(
                        errors,
                        "figures",
                        _("Key figure %(n)d, %(field)s: %(message)s")
                        % {
                            "n": n,
                            "field": KeyFigure._meta.get_field(field).verbose_name,
                            "message": message,
                        },
                    )
            continue
        figures.append(figure)
    if len(figures) > MAX_FIGURES:
        _add(errors, "figures", _("At most %(max)d key figures.") % {"max": MAX_FIGURES})
    return figures


def _awardees(fields: dict, case: ShowcaseCase, errors: dict):
    insurers = list(fields.get("insurers", case.insurers.all() if case.pk else ()))
    org_units = list(fields.get("org_units", case.org_units.all() if case.pk else ()))
    for insurer in insurers:
        if not isinstance(insurer, Insurer):
            raise TypeError("insurers must be Insurer instances")
    for unit in org_units:
        if not isinstance(unit, OrgUnit):
            raise TypeError("org_units must be OrgUnit instances")
        if unit.level != Level.GROUP and unit.insurer_id is None:
            _add(errors, "org_units", _("Name a group or an insurer's unit."))
    return insurers, org_units


def _apply(case: ShowcaseCase, fields: dict, *, by, creating: bool, trusted: bool = False):
    """Set and validate every given field; return the related rows to write after saving.

    ``trusted`` skips the actor's scope checks (loading published cases, no actor).
    """
    unknown = set(fields) - CASE_FIELDS
    if unknown:
        raise ValueError(f"unexpected fields: {sorted(unknown)}")
    errors: dict[str, list] = {}
    for name in _SCALARS:
        if name in fields:
            value = fields[name]
            if isinstance(value, str):
                value = value.strip()
            setattr(case, name, value)
    if "body" in fields:
        raw = fields["body"] or ""
        if len(raw) > BODY_MAX:
            _add(
                errors,
                "body",
                _("The text is too long: at most %(max)s characters (it has %(n)s).")
                % {"max": f"{BODY_MAX:,}", "n": f"{len(raw):,}"},
            )
        else:
            case.body = sanitise_body(raw)
    programme: AwardProgramme | None = case.programme
    if case.year in (None, "") and programme is not None:
        case.year = programme.year
    if isinstance(case.year, int) and not YEAR_MIN <= case.year <= timezone.localdate().year + 1:
        _add(errors, "year", _("Enter a year between %(min)d and next year.") % {"min": YEAR_MIN})
    category: AwardCategory | None = case.category
    if category is not None and (programme is None or category.programme_id != programme.pk):
        _add(errors, "category", _("Choose a category of the chosen award programme."))
    insurers, org_units = _awardees(fields, case, errors)
    if creating and not trusted and not is_reviewer(by) and not (insurers or org_units):
        _add(errors, "insurers", _("Name the insurer (or group) the case is about."))
    if not trusted and not _awardees_in_scope(by, insurers, org_units):
        _add(errors, "insurers", _("You may only put forward cases of insurers in your scope."))
    tags = _tag_names(fields["tags"], errors) if "tags" in fields else None
    figures = _figures(fields["figures"], errors) if "figures" in fields else None
    try:
        case.full_clean(exclude=["slug", "status", *errors])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            for message in messages:
                _add(errors, field, message)
    if errors:
        raise ValidationError(errors)
    return {
        "insurers": insurers if "insurers" in fields or creating else None,
        "org_units": org_units if "org_units" in fields or creating else None,
        "tags": tags,
        "figures": figures,
    }


def _tags(names: list[str]) -> list[Tag]:
    existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    tags = []
    for name in names:
        tag = existing.get(name)
        if tag is None:
            base = slugify(name, allow_unicode=True)[:34] or "tag"
            slug, n = base, 2
            while Tag.objects.filter(slug=slug).exists():
                slug, n = f"{base}-{n}", n + 1
            tag = Tag.objects.create(name=name, slug=slug)
        tags.append(tag)
    return tags


def _write_related(case: ShowcaseCase, related: dict) -> None:
    if related["insurers"] is not None:
        case.insurers.set(related["insurers"])
    if related["org_units"] is not None:
        case.org_units.set(related["org_units"])
    if related["tags"] is not None:
        case.tags.set(_tags(related["tags"]))
    if related["figures"] is not None:
        case.figures.all().delete()
        for figure in related["figures"]:
            figure.case = case
        KeyFigure.objects.bulk_create(related["figures"])


def slug_for(*, year: int, title: str) -> str:
    """A unique, readable slug: the year and the title (Chinese kept), numbered if taken."""
    base = slugify(title, allow_unicode=True)[:SLUG_TITLE_CHARS].strip("-") or "case"
    stem = f"{year}-{base}"
    slug, n = stem, 2
    while ShowcaseCase.objects.filter(slug=slug).exists():
        slug, n = f"{stem}-{n}", n + 1
    return slug


def _save(case: ShowcaseCase, by, reason: str = "") -> None:
    """Save with the actor and the step (or a rejection's reason) in the history row.

    Step names are stored untranslated so the audit trail reads the same in any language.
    """
    case._history_user = by
    if reason:
        case._change_reason = reason[:REASON_MAX]
    try:
        with transaction.atomic():
            case.save()
    except ConcurrentTransition as exc:
        raise ValidationError(
            {"status": _("Someone else changed this case just now; reload and try again.")}
        ) from exc


# ---- authoring ---------------------------------------------------------------------------------


def _insert(case: ShowcaseCase, related: dict, by, reason: str) -> ShowcaseCase:
    for attempt in range(3):
        case.slug = slug_for(year=case.year, title=case.title)
        try:
            with transaction.atomic():
                _save(case, by, reason)
            break
        except IntegrityError:  # a concurrent writer took the slug between check and save
            if attempt == 2:
                raise
            case.pk = None
    _write_related(case, related)
    return case


@transaction.atomic
def showcase_create(*, by, **fields) -> ShowcaseCase:
    """A new draft. ``insurers``/``org_units`` take model instances, ``tags`` names and
    ``figures`` rows of ``{"label", "value", "unit"}``; ``year`` defaults to the programme's."""
    _ensure_author(by)
    case = ShowcaseCase()
    related = _apply(case, fields, by=by, creating=True)
    return _insert(case, related, by, "created")


@transaction.atomic
def showcase_load_awarded(*, awarded_at=None, **fields) -> ShowcaseCase:
    """Record a case already awarded elsewhere, as published in an award announcement.

    For loaders run by the operator (``seed_demo``), not for people: there is no actor and
    no review, because the award was decided outside this system. Validation and body
    sanitising are those of every other write.
    """
    case = ShowcaseCase(status=ShowcaseStatus.AWARDED, awarded_at=awarded_at)
    related = _apply(case, fields, by=None, creating=True, trusted=True)
    return _insert(case, related, None, "loaded from a public award announcement")


@transaction.atomic
def showcase_update(*, case: ShowcaseCase, by, **fields) -> ShowcaseCase:
    """Change a case's fields (the slug stays, so shared links keep working)."""
    _ensure_may_edit(by, case)
    related = _apply(case, fields, by=by, creating=False)
    _save(case, by, "edited")
    _write_related(case, related)
    return case


# ---- the workflow ------------------------------------------------------------------------------


def _move(case: ShowcaseCase, name: str) -> None:
    method = getattr(case, name)
    if not can_proceed(method):
        raise ValidationError(
            {
                "status": _("A case that is “%(status)s” cannot do this.")
                % {"status": case.get_status_display()}
            },
            code="invalid_transition",
        )
    method()


def _ready_for_review(case: ShowcaseCase) -> None:
    errors: dict[str, list] = {}
    if case.programme_id is None:
        _add(errors, "programme", _("Choose the award programme before submitting."))
    if case.category_id is None:
        _add(errors, "category", _("Choose the award category before submitting."))
    if not case.summary.strip():
        _add(errors, "summary", _("Write a summary before submitting."))
    if not (case.insurers.exists() or case.org_units.exists()):
        _add(errors, "insurers", _("Name the insurer (or group) the case is about."))
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def showcase_submit(*, case: ShowcaseCase, by) -> ShowcaseCase:
    """Staff put a finished draft forward for review."""
    _ensure_author(by)
    if not is_reviewer(by) and not case_in_scope(by, case):
        raise PermissionDenied(_("This case is outside your scope."))
    _move(case, "submit")
    _ready_for_review(case)
    case.submitted_by = by
    _save(case, by, "submitted")
    return case


@transaction.atomic
def showcase_start_review(*, case: ShowcaseCase, by) -> ShowcaseCase:
    _ensure_reviewer(by)
    _move(case, "review")
    case.reviewed_by = by
    _save(case, by, "review started")
    return case


@transaction.atomic
def showcase_award(*, case: ShowcaseCase, by) -> ShowcaseCase:
    """Award the case: from now on it is public in the gallery and the API."""
    _ensure_reviewer(by)
    _move(case, "award")
    case.reviewed_by = by
    case.awarded_at = timezone.now()
    _save(case, by, "awarded")
    return case


@transaction.atomic
def showcase_reject(*, case: ShowcaseCase, by, reason: str) -> ShowcaseCase:
    """Reject the case, recording why (also as the history's change reason, shortened)."""
    _ensure_reviewer(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the case is rejected.")})
    if len(reason) > REJECTION_MAX:
        raise ValidationError({"reason": _("At most %(max)d characters.") % {"max": REJECTION_MAX}})
    _move(case, "reject")
    case.reviewed_by = by
    case.rejection_reason = reason
    _save(case, by, reason)
    return case


def showcase_rejection_reason(case: ShowcaseCase) -> str:
    """The reason given when the case was rejected ("" if it was not)."""
    return case.rejection_reason if case.status == ShowcaseStatus.REJECTED else ""


# ---- images ------------------------------------------------------------------------------------


def image_errors(upload) -> list[str]:
    """What is wrong with an uploaded image (empty list if nothing): size, format, pixels.

    Public so that admin forms can give the same field errors as the service."""
    size = getattr(upload, "size", None)
    if size is None or size == 0:
        return [_("The file is empty.")]
    if size > IMAGE_MAX_BYTES:
        return [
            _("The image is too large: at most %(max)d MB (this one is %(size).1f MB).")
            % {"max": IMAGE_MAX_BYTES // (1024 * 1024), "size": size / (1024 * 1024)}
        ]
    not_an_image = _("This file is not an image we can read: upload a JPEG, PNG, WebP or GIF.")
    try:
        upload.seek(0)
        with Image.open(upload) as img:
            kind, (width, height) = img.format, img.size
            if width > IMAGE_MAX_SIDE or height > IMAGE_MAX_SIDE:
                return [
                    _("The image is %(w)d×%(h)d pixels; at most %(max)d×%(max)d.")
                    % {"w": width, "h": height, "max": IMAGE_MAX_SIDE}
                ]
            img.verify()  # reads the whole file: a truncated or forged image fails here
    except Image.DecompressionBombError:
        return [_("The image has far too many pixels.")]
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return [not_an_image]
    finally:
        upload.seek(0)
    if kind not in IMAGE_FORMATS:
        return [not_an_image]
    return []


@transaction.atomic
def showcase_image_add(
    *, case: ShowcaseCase, by, upload, alt: str, caption: str = "", order: int = 0
) -> ShowcaseImage:
    """Attach an image after checking it is a real image of a sensible size.

    Pillow opens and verifies the upload: a renamed text file or a truncated image is
    refused, and so is anything over 5 MB or 4000 pixels a side.
    """
    _ensure_may_edit(by, case)
    errors: dict[str, list] = {}
    problems = image_errors(upload)
    if problems:
        errors["image"] = problems
    image = ShowcaseImage(
        case=case,
        image=upload,
        alt=(alt or "").strip(),
        caption=(caption or "").strip(),
        order=order,
    )
    try:
        image.full_clean(exclude=["case", *errors])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    image.save()
    case._history_user = by
    _save(case, by, "image added")
    return image
