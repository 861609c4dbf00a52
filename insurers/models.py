"""Insurers, their organisation tree, service officers and reception days.

Data and invariants only: what may be written and by whom is decided in ``services.py``
and ``rules.py``; what a user may see is decided in ``selectors.visible_units``.
"""

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node

from sqi.history import HistoricalRecords

from . import credit_code

CREDIT_CODE_MESSAGES = {
    "length": _("A unified social credit code has exactly 18 characters."),
    "alphabet": _(
        "A unified social credit code uses only digits and the capital letters "
        "A–Y except I, O, S, V and Z."
    ),
    "checksum": _("The check character (the 18th) does not match; please check the code."),
}


def validate_credit_code(value: str) -> None:
    reason = credit_code.problem(value)
    if reason is not None:
        raise ValidationError(CREDIT_CODE_MESSAGES[reason], code=f"credit_code_{reason}")


class ConstraintErrorsOnFields(models.Model):
    """Report conditional-constraint violations beside the field they are about.

    Django reports a conditional ``UniqueConstraint`` or a ``CheckConstraint`` as a
    form-wide error; a person filling in the admin or the API wants it next to the field.
    ``constraint_error_fields`` maps a constraint's ``violation_error_code`` to that field.
    """

    constraint_error_fields: dict[str, str] = {}

    class Meta:
        abstract = True

    def validate_constraints(self, exclude=None):
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as exc:
            moved: dict[str, list] = {}
            for field, errors in exc.error_dict.items():
                for error in errors:
                    target = self.constraint_error_fields.get(error.code, field)
                    moved.setdefault(target, []).append(error)
            raise ValidationError(moved) from exc


class LicenceType(models.TextChoices):
    PROPERTY = "property", _("Property insurance")
    LIFE = "life", _("Life insurance")
    HEALTH = "health", _("Health insurance")
    PENSION = "pension", _("Pension insurance")


class Level(models.TextChoices):
    GROUP = "group", _("Group")
    HEAD_OFFICE = "head_office", _("Head office")
    BRANCH = "branch", _("Branch")
    SUB_BRANCH = "sub_branch", _("Central sub-branch")


# The parent level each level must sit under; ``None`` means "may be a root".
ALLOWED_PARENT_LEVELS: dict[str, frozenset[str | None]] = {
    Level.GROUP: frozenset({None}),
    Level.HEAD_OFFICE: frozenset({None, Level.GROUP}),
    Level.BRANCH: frozenset({Level.HEAD_OFFICE}),
    Level.SUB_BRANCH: frozenset({Level.BRANCH}),
}


class Insurer(models.Model):
    name_zh = models.CharField(_("legal name (Chinese)"), max_length=200, unique=True)
    name_en = models.CharField(_("legal name (English)"), max_length=200, blank=True)
    short_name = models.CharField(_("short name"), max_length=50)
    # The public profile's address (/insurers/<slug>/): stable, readable, and never an id
    # that invites walking the table. Filled from the English name when left blank.
    slug = models.SlugField(
        _("slug"), max_length=80, unique=True, blank=True, help_text=_("Used in public URLs.")
    )
    licence_type = models.CharField(
        _("licence type"), max_length=16, choices=LicenceType.choices, db_index=True
    )
    # Optional: a real insurer named in public material (an award announcement) is recorded
    # without a code we cannot verify here, rather than with an invented one.
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_credit_code],
        help_text=_("18 characters; the last is a check character."),
    )
    group = models.ForeignKey(
        "OrgUnit",
        verbose_name=_("group"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="group_insurers",
        limit_choices_to={"level": Level.GROUP},
    )
    established = models.DateField(_("established"), null=True, blank=True)
    is_agricultural = models.BooleanField(
        _("agricultural insurer"),
        default=False,
        help_text=_("Specialised agricultural insurers are outside the index's peer groups."),
    )
    active = models.BooleanField(_("active"), default=True, db_index=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("insurer")
        verbose_name_plural = _("insurers")
        ordering = ["licence_type", "short_name"]

    def __str__(self) -> str:
        return self.short_name

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            self.slug = unique_insurer_slug(self)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        self.credit_code = (self.credit_code or "").strip().upper() or None
        if not self.slug:
            self.slug = unique_insurer_slug(self)
        if self.group_id is not None and self.group.level != Level.GROUP:
            raise ValidationError({"group": _("The group must be an org unit at group level.")})


def unique_insurer_slug(insurer: Insurer) -> str:
    """A free slug from the English name (or the credit code), numbered when taken."""
    base = (
        slugify(insurer.name_en)[:70]
        or slugify(insurer.credit_code or "")[:70]
        # a Chinese name alone slugifies to nothing: a short stable digest of it instead
        or "insurer-" + hashlib.sha256(insurer.name_zh.encode()).hexdigest()[:8]
    )
    taken = set(
        Insurer.objects.filter(slug__startswith=base)
        .exclude(pk=insurer.pk)
        .values_list("slug", flat=True)
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


class OrgUnit(ConstraintErrorsOnFields, MP_Node):
    """One node of the organisation tree: group → head office → branch → central sub-branch.

    A materialised path (treebeard) makes "this unit and everything below it" a single
    indexed ``path LIKE 'prefix%'`` query, which every scoped read relies on.
    """

    name = models.CharField(_("name"), max_length=200)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices, db_index=True)
    insurer = models.ForeignKey(
        Insurer,
        verbose_name=_("insurer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="org_units",
    )
    region = models.CharField(
        _("region code"),
        max_length=6,
        blank=True,
        validators=[RegexValidator(r"^\d{6}$", _("A region code is six digits (GB/T 2260)."))],
        help_text=_("Province or city code, GB/T 2260, e.g. 310000 for Shanghai."),
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    node_order_by = ["name"]
    history = HistoricalRecords()
    constraint_error_fields = {"insurer_iff_not_group": "insurer", "one_head_office": "insurer"}

    class Meta:
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")
        constraints = [
            models.CheckConstraint(
                condition=(Q(level=Level.GROUP) & Q(insurer__isnull=True))
                | (~Q(level=Level.GROUP) & Q(insurer__isnull=False)),
                name="orgunit_insurer_iff_not_group",
                violation_error_code="insurer_iff_not_group",
                violation_error_message=_(
                    "A group-level unit has no insurer; every other unit has one."
                ),
            ),
            models.UniqueConstraint(
                fields=["insurer"],
                condition=Q(level=Level.HEAD_OFFICE),
                name="orgunit_one_head_office_per_insurer",
                violation_error_code="one_head_office",
                violation_error_message=_("This insurer already has a head office."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


def placement_errors(*, level: str, insurer: Insurer | None, parent: OrgUnit | None) -> dict:
    """Field errors for putting a unit of ``level`` and ``insurer`` under ``parent``.

    The tree's shape rules in one place, used by the service, the admin form and the API:
    a group is a root; a head office is a root or sits under a group (its insurer's group);
    a branch sits under a head office and a central sub-branch under a branch, both of the
    same insurer.
    """
    errors: dict[str, list] = {}
    parent_level = parent.level if parent is not None else None
    allowed = ALLOWED_PARENT_LEVELS.get(level)
    if allowed is None:
        return {"level": [_("Choose a level.")]}
    if parent_level not in allowed:
        if level == Level.GROUP:
            msg = _("A group-level unit must be at the top of the tree.")
        elif level == Level.HEAD_OFFICE:
            msg = _("A head office sits at the top of the tree or directly under a group.")
        elif level == Level.BRANCH:
            msg = _("A branch must sit directly under a head office.")
        else:
            msg = _("A central sub-branch must sit directly under a branch.")
        errors["parent"] = [msg]
        return errors
    same_insurer = parent is None or insurer is None or parent.insurer_id == insurer.pk
    if level in (Level.BRANCH, Level.SUB_BRANCH) and not same_insurer:
        errors["insurer"] = [_("A unit must belong to the same insurer as its parent.")]
    if level == Level.HEAD_OFFICE and insurer is not None:
        expected_group = parent.pk if parent is not None else None
        if insurer.group_id != expected_group:
            errors["parent"] = [
                _("A head office sits under its insurer's group, or at the top if it has none.")
            ]
    return errors


class OfficerTitle(models.TextChoices):
    CHIEF = "chief", _("Chief service officer")
    OFFICER = "officer", _("Service officer")


class ServiceOfficer(ConstraintErrorsOnFields, models.Model):
    """The appointment of a user as service officer (服务官) of one org unit."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="officer_appointments",
    )
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="officers"
    )
    title = models.CharField(_("title"), max_length=16, choices=OfficerTitle.choices)
    appointed = models.DateField(_("appointed on"))
    ended = models.DateField(_("ended on"), null=True, blank=True)

    history = HistoricalRecords()
    constraint_error_fields = {
        "one_active_officer": "org_unit",
        "ended_after_appointed": "ended",
    }

    class Meta:
        verbose_name = _("service officer")
        verbose_name_plural = _("service officers")
        ordering = ["org_unit__path", "-appointed"]
        constraints = [
            models.UniqueConstraint(
                fields=["org_unit"],
                condition=Q(ended__isnull=True),
                name="serviceofficer_one_active_per_unit",
                violation_error_code="one_active_officer",
                violation_error_message=_("This org unit already has an active service officer."),
            ),
            models.CheckConstraint(
                condition=Q(ended__isnull=True) | Q(ended__gte=models.F("appointed")),
                name="serviceofficer_ended_after_appointed",
                violation_error_code="ended_after_appointed",
                violation_error_message=_("An appointment cannot end before it starts."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user.get_full_name() or self.user.get_username()} · {self.org_unit}"

    @property
    def is_active(self) -> bool:
        return self.ended is None

    def clean(self) -> None:
        if self.org_unit_id is None or not self.title:
            return
        at_group = self.org_unit.level == Level.GROUP
        if at_group and self.title != OfficerTitle.CHIEF:
            raise ValidationError(
                {"title": _("The officer of a group-level unit is its chief service officer.")}
            )
        if not at_group and self.title == OfficerTitle.CHIEF:
            raise ValidationError(
                {"title": _("Only the officer of a group-level unit is a chief service officer.")}
            )


class UnitMembership(models.Model):
    """A staff user's place in the tree: they work in this unit and see its subtree."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="unit_memberships",
    )
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), on_delete=models.CASCADE, related_name="memberships"
    )
    created = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("unit membership")
        verbose_name_plural = _("unit memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "org_unit"], name="unitmembership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user.get_username()} @ {self.org_unit}"


class ReceptionDay(models.Model):
    """A reception day (接待日): an officer meets consumers in person."""

    officer = models.ForeignKey(
        ServiceOfficer,
        verbose_name=_("service officer"),
        on_delete=models.PROTECT,
        related_name="reception_days",
    )
    date = models.DateField(_("date"), db_index=True)
    place = models.CharField(_("place"), max_length=200)
    consumers_met = models.PositiveIntegerField(
        _("consumers met"), default=0, validators=[MinValueValidator(0)]
    )
    issues_raised = models.TextField(_("issues raised"), blank=True)
    follow_ups = models.TextField(_("follow-ups"), blank=True)
    follow_ups_open = models.PositiveIntegerField(_("follow-ups still open"), default=0)
    created = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("reception day")
        verbose_name_plural = _("reception days")
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"{self.date} · {self.place}"
