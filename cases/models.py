"""Mediation (纠纷调解) and the showcase-case library (服务创新 / 典型案例).

Data and invariants only; every workflow step is a function in ``services.py``.
"""

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from complaints.models import PHONE_VALIDATOR, Complaint
from insurers.models import Insurer, OrgUnit
from sqi.history import HistoricalRecords

REGION = RegexValidator(r"^\d{6}$", _("A region code is six digits (GB/T 2260)."))


class MediationOrganization(models.Model):
    """A mediation organisation, e.g. a regional 银行业保险业纠纷调解中心."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    region = models.CharField(_("region code"), max_length=6, validators=[REGION])
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("mediation organisation")
        verbose_name_plural = _("mediation organisations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Mediator(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="mediator",
    )
    organization = models.ForeignKey(
        MediationOrganization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="mediators",
    )
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("mediator")
        verbose_name_plural = _("mediators")

    def __str__(self) -> str:
        return f"{self.user.get_full_name() or self.user.get_username()} · {self.organization}"


class CaseStatus(models.TextChoices):
    APPLIED = "applied", _("Applied")
    ACCEPTED = "accepted", _("Accepted")
    REFUSED = "refused", _("Refused")
    IN_MEDIATION = "in_mediation", _("In mediation")
    SETTLED = "settled", _("Settled")
    FAILED = "failed", _("Failed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


OPEN_CASE_STATES = (CaseStatus.APPLIED, CaseStatus.ACCEPTED, CaseStatus.IN_MEDIATION)
CONCLUDED_STATES = (CaseStatus.SETTLED, CaseStatus.FAILED)


class CaseReferenceCounter(models.Model):
    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class MediationCase(ConcurrentTransitionMixin, models.Model):
    """A dispute before a mediation organisation: from a complaint's escalation, or applied
    for directly. The parties are the consumer (the complainant, or the applicant) and the
    insurer (through the org unit that handles it)."""

    reference = models.CharField(_("case reference"), max_length=20, unique=True, editable=False)
    organization = models.ForeignKey(
        MediationOrganization,
        verbose_name=_("mediation organisation"),
        on_delete=models.PROTECT,
        related_name="cases",
    )
    complaint = models.OneToOneField(
        Complaint,
        verbose_name=_("complaint"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mediation_case",
    )
    insurer = models.ForeignKey(
        Insurer, verbose_name=_("insurer"), on_delete=models.PROTECT, related_name="mediation_cases"
    )
    org_unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("insurer's unit"),
        on_delete=models.PROTECT,
        related_name="mediation_cases",
    )
    # A direct applicant's own details; for an escalated complaint the complainant's are
    # the complaint's and are not copied here.
    applicant_name = models.CharField(_("applicant's name"), max_length=100, blank=True)
    applicant_phone = models.CharField(
        _("applicant's phone"), max_length=20, blank=True, validators=[PHONE_VALIDATOR]
    )
    claimed_amount = models.DecimalField(
        _("amount claimed (CNY)"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    summary = models.TextField(_("what the dispute is about"), max_length=5000)
    status = FSMField(
        _("status"), default=CaseStatus.APPLIED, choices=CaseStatus.choices, protected=True
    )
    applied_at = models.DateTimeField(_("applied at"), db_index=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    concluded_at = models.DateTimeField(_("concluded at"), null=True, blank=True)
    refusal_reason = models.TextField(_("reason for refusing"), blank=True)
    outcome_note = models.TextField(_("outcome"), blank=True)
    settlement_amount = models.DecimalField(
        _("settlement amount (CNY)"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    settlement_terms = models.TextField(_("settlement terms"), blank=True)
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    judicially_confirmed = models.BooleanField(_("judicial confirmation (司法确认)"), default=False)
    court = models.CharField(_("court"), max_length=200, blank=True)
    confirmed_on = models.DateField(_("confirmed on"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("mediation case")
        verbose_name_plural = _("mediation cases")
        ordering = ["-applied_at"]
        permissions = [("mediate_mediationcase", _("Can run the steps of a mediation"))]
        indexes = [models.Index(fields=["organization", "status"], name="case_org_status")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=CaseStatus.SETTLED)
                | Q(settlement_amount__isnull=False, signed_on__isnull=False),
                name="case_settled_has_settlement",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @transition(field=status, source=CaseStatus.APPLIED, target=CaseStatus.ACCEPTED)
    def accept(self):
        pass

    @transition(field=status, source=CaseStatus.APPLIED, target=CaseStatus.REFUSED)
    def refuse(self):
        pass

    @transition(field=status, source=CaseStatus.ACCEPTED, target=CaseStatus.IN_MEDIATION)
    def start(self):
        pass

    @transition(field=status, source=CaseStatus.IN_MEDIATION, target=CaseStatus.SETTLED)
    def settle(self):
        pass

    @transition(field=status, source=CaseStatus.IN_MEDIATION, target=CaseStatus.FAILED)
    def fail(self):
        pass

    @transition(
        field=status,
        source=[CaseStatus.APPLIED, CaseStatus.ACCEPTED, CaseStatus.IN_MEDIATION],
        target=CaseStatus.WITHDRAWN,
    )
    def withdraw(self):
        pass


class SessionMode(models.TextChoices):
    ONLINE = "online", _("Online")
    OFFLINE = "offline", _("In person")


class MediationSession(models.Model):
    case = models.ForeignKey(MediationCase, on_delete=models.CASCADE, related_name="sessions")
    date = models.DateField(_("date"))
    mode = models.CharField(_("mode"), max_length=8, choices=SessionMode.choices)
    attendees = models.CharField(_("attendees"), max_length=500)
    notes = models.TextField(_("notes"), blank=True, max_length=5000)
    next_step = models.CharField(_("next step"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("mediation session")
        verbose_name_plural = _("mediation sessions")
        ordering = ["date", "pk"]

    def __str__(self) -> str:
        return f"{self.case} · {self.date}"


class CaseEvent(models.Model):
    """The case's timeline."""

    case = models.ForeignKey(MediationCase, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    from_status = models.CharField(max_length=16, choices=CaseStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=CaseStatus.choices, blank=True)
    text = models.TextField(_("text"), blank=True)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.case} {self.at:%Y-%m-%d}"


# ---- showcase cases --------------------------------------------------------------------------


class AwardProgramme(models.Model):
    """An award programme, e.g. 年度银行业保险业服务创新案例."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    organiser = models.CharField(_("organiser"), max_length=200, blank=True)
    year = models.PositiveSmallIntegerField(_("year"))
    announced = models.CharField(
        _("announced"), max_length=7, blank=True, help_text=_("Year and month, e.g. 2024-04.")
    )

    class Meta:
        verbose_name = _("award programme")
        verbose_name_plural = _("award programmes")
        ordering = ["-year", "name"]

    def __str__(self) -> str:
        return self.name


class AwardCategory(models.Model):
    programme = models.ForeignKey(
        AwardProgramme, on_delete=models.CASCADE, related_name="categories"
    )
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        verbose_name = _("award category")
        verbose_name_plural = _("award categories")
        ordering = ["programme", "name"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "name"], name="awardcategory_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=30, unique=True)
    slug = models.SlugField(_("slug"), max_length=40, unique=True, allow_unicode=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ShowcaseStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    IN_REVIEW = "in_review", _("In review")
    AWARDED = "awarded", _("Awarded")
    REJECTED = "rejected", _("Rejected")


BODY_MAX = 50_000


class ShowcaseCase(ConcurrentTransitionMixin, models.Model):
    """A service case put forward for an award; only awarded ones are public."""

    slug = models.SlugField(_("slug"), max_length=80, unique=True, allow_unicode=True)
    title = models.CharField(_("title"), max_length=200)
    programme = models.ForeignKey(
        AwardProgramme,
        verbose_name=_("award programme"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
    )
    category = models.ForeignKey(
        AwardCategory,
        verbose_name=_("award category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
    )
    year = models.PositiveSmallIntegerField(_("year"))
    summary = models.TextField(_("summary"), max_length=1000)
    body = models.TextField(_("body"), blank=True, max_length=BODY_MAX)
    insurers = models.ManyToManyField(
        Insurer, verbose_name=_("insurers"), blank=True, related_name="showcase_cases"
    )
    org_units = models.ManyToManyField(
        OrgUnit,
        verbose_name=_("awardee units"),
        blank=True,
        related_name="showcase_cases",
        help_text=_("For an award to a group rather than a licensed insurer."),
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="cases")
    status = FSMField(
        _("status"), default=ShowcaseStatus.DRAFT, choices=ShowcaseStatus.choices, protected=True
    )
    is_demo_text = models.BooleanField(
        _("demo text"),
        default=False,
        help_text=_("The summary and body were written for the demo, not taken from the award."),
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    awarded_at = models.DateTimeField(_("awarded at"), null=True, blank=True)
    rejection_reason = models.TextField(_("reason for rejecting"), blank=True, max_length=2000)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(m2m_fields=[insurers, org_units, tags])

    class Meta:
        verbose_name = _("showcase case")
        verbose_name_plural = _("showcase cases")
        ordering = ["-year", "title"]
        indexes = [models.Index(fields=["status", "year"], name="showcase_status_year")]

    def __str__(self) -> str:
        return self.title

    @transition(field=status, source=ShowcaseStatus.DRAFT, target=ShowcaseStatus.SUBMITTED)
    def submit(self):
        pass

    @transition(field=status, source=ShowcaseStatus.SUBMITTED, target=ShowcaseStatus.IN_REVIEW)
    def review(self):
        pass

    @transition(field=status, source=ShowcaseStatus.IN_REVIEW, target=ShowcaseStatus.AWARDED)
    def award(self):
        pass

    @transition(field=status, source=ShowcaseStatus.IN_REVIEW, target=ShowcaseStatus.REJECTED)
    def reject(self):
        pass


class KeyFigure(models.Model):
    """A figure the case is known for, e.g. 理赔时效 5.4 天."""

    case = models.ForeignKey(ShowcaseCase, on_delete=models.CASCADE, related_name="figures")
    label = models.CharField(_("label"), max_length=60)
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=2)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("key figure")
        verbose_name_plural = _("key figures")
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return f"{self.label} {self.value}{self.unit}"


class ShowcaseImage(models.Model):
    case = models.ForeignKey(ShowcaseCase, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(
        _("image"), upload_to="showcase/%Y/", width_field="width", height_field="height"
    )
    width = models.PositiveIntegerField(editable=False, default=0)
    height = models.PositiveIntegerField(editable=False, default=0)
    caption = models.CharField(_("caption"), max_length=200, blank=True)
    alt = models.CharField(_("text alternative"), max_length=200)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("image")
        verbose_name_plural = _("images")
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.alt
