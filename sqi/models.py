"""The index's data: periods, operating statistics, methodology versions, runs and results.

The computation itself lives in :mod:`sqi.methodology` (pure Python); these models hold what
it reads and what it produced, so that every published number can be traced back to the
inputs and the methodology version it came from.
"""

import datetime
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import FSMField, transition

from complaints.models import ProductLine
from insurers.models import ConstraintErrorsOnFields, Insurer
from sqi.history import HistoricalRecords

from . import methodology as method

PERIOD_CODE = re.compile(r"^(?P<year>\d{4})(?:H(?P<half>[12]))?$")


class PeerGroup(models.TextChoices):
    PROPERTY = "property", _("Property insurers")
    LIFE = "life", _("Life insurers")
    HEALTH = "health", _("Health insurers")


# DESIGN §3: the index is computed on auto insurance for property insurers and on the life,
# accident and health lines for life and health insurers.
INDEX_LINES: dict[str, tuple[str, ...]] = {
    PeerGroup.PROPERTY: (ProductLine.MOTOR,),
    PeerGroup.LIFE: (ProductLine.LIFE, ProductLine.ACCIDENT, ProductLine.HEALTH),
    PeerGroup.HEALTH: (ProductLine.LIFE, ProductLine.ACCIDENT, ProductLine.HEALTH),
}


class PeriodKind(models.TextChoices):
    ANNUAL = "annual", _("Annual")
    HALF = "half", _("Half-year")


def period_bounds(code: str) -> tuple[str, int, int | None, datetime.date, datetime.date]:
    """(kind, year, half, start, end) for ``2025`` or ``2025H1``; ValueError otherwise."""
    match = PERIOD_CODE.match(code or "")
    if not match:
        raise ValueError(code)
    year = int(match["year"])
    half = int(match["half"]) if match["half"] else None
    if half is None:
        return PeriodKind.ANNUAL, year, None, datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    if half == 1:
        return PeriodKind.HALF, year, 1, datetime.date(year, 1, 1), datetime.date(year, 6, 30)
    return PeriodKind.HALF, year, 2, datetime.date(year, 7, 1), datetime.date(year, 12, 31)


class Period(models.Model):
    """An accounting period the index is computed for: a year (``2025``) or half (``2025H1``)."""

    code = models.CharField(
        _("code"),
        max_length=6,
        unique=True,
        help_text=_("A year such as 2025, or a half-year such as 2025H1."),
    )
    kind = models.CharField(_("kind"), max_length=8, choices=PeriodKind.choices, editable=False)
    year = models.PositiveSmallIntegerField(_("year"), editable=False)
    half = models.PositiveSmallIntegerField(_("half"), null=True, blank=True, editable=False)
    start = models.DateField(_("start"), editable=False)
    end = models.DateField(_("end"), editable=False)

    class Meta:
        verbose_name = _("period")
        verbose_name_plural = _("periods")
        ordering = ["-end", "kind"]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs) -> None:
        self.kind, self.year, self.half, self.start, self.end = period_bounds(self.code)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        try:
            self.kind, self.year, self.half, self.start, self.end = period_bounds(self.code)
        except ValueError:
            raise ValidationError(
                {"code": _("Write a year such as 2025 or a half-year such as 2025H1.")}
            ) from None

    @property
    def previous_code(self) -> str:
        """The same kind of period a year earlier: the year-on-year indicators compare to it."""
        return f"{self.year - 1}" + (f"H{self.half}" if self.half else "")


class StatisticsImport(models.Model):
    """One accepted file of statistics or raw claim records: who, when, which file, how many."""

    class Kind(models.TextChoices):
        STATISTICS = "statistics", _("Operating statistics")
        CLAIMS = "claims", _("Raw claim records")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    file_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    rows = models.PositiveIntegerField(_("rows"))

    class Meta:
        verbose_name = _("statistics import")
        verbose_name_plural = _("statistics imports")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.rows})"


class Source(models.TextChoices):
    IMPORT = "import", _("File import")
    API = "api", _("API")
    ADMIN = "admin", _("Admin")
    CLAIM_ROLLUP = "claim_rollup", _("Claim rollup")
    DEMO = "demo", _("Demo data")


_COUNT_FIELDS = (
    "claims_reported",
    "claims_closed",
    "claims_paid",
    "claims_declined",
    "payment_days_total",
    "policies_in_force",
    "insured_persons",
    "surrenders",
)


class OperatingStatistic(ConstraintErrorsOnFields, models.Model):
    """Claims and policy figures of one insurer, period and product line.

    Every figure is optional: claim figures may come later from the claim rollup, and an
    insurer missing an input the methodology needs is excluded with that reason, never
    scored on a guess. What is given must make sense (the constraints below).
    """

    insurer = models.ForeignKey(
        Insurer, verbose_name=_("insurer"), on_delete=models.PROTECT, related_name="statistics"
    )
    period = models.ForeignKey(
        Period, verbose_name=_("period"), on_delete=models.PROTECT, related_name="statistics"
    )
    product_line = models.CharField(_("product line"), max_length=24, choices=ProductLine.choices)
    claims_reported = models.PositiveBigIntegerField(_("claims reported"), null=True, blank=True)
    claims_closed = models.PositiveBigIntegerField(_("claims closed"), null=True, blank=True)
    claims_paid = models.PositiveBigIntegerField(_("claims paid"), null=True, blank=True)
    claims_declined = models.PositiveBigIntegerField(_("claims declined"), null=True, blank=True)
    payment_days_total = models.PositiveBigIntegerField(
        _("days from incident to payment, summed over paid claims"), null=True, blank=True
    )
    premium_cny = models.DecimalField(
        _("premium income (CNY)"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    policies_in_force = models.PositiveBigIntegerField(
        _("policies in force"), null=True, blank=True
    )
    insured_persons = models.PositiveBigIntegerField(_("insured persons"), null=True, blank=True)
    surrenders = models.PositiveBigIntegerField(_("surrenders"), null=True, blank=True)
    surrender_amount_cny = models.DecimalField(
        _("surrender amount (CNY)"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    source_import = models.ForeignKey(
        StatisticsImport,
        verbose_name=_("import"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="statistics",
    )
    updated = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords()
    # A second row for the same key is reported on the product line (the key's last part).
    constraint_error_fields = {"duplicate_key": "product_line"}

    class Meta:
        verbose_name = _("operating statistic")
        verbose_name_plural = _("operating statistics")
        ordering = ["period", "insurer", "product_line"]
        constraints = [
            models.UniqueConstraint(
                fields=["insurer", "period", "product_line"],
                name="statistic_one_row_per_key",
                violation_error_code="duplicate_key",
                violation_error_message=_(
                    "There are already statistics for this insurer, period and product line."
                ),
            ),
            models.CheckConstraint(
                condition=Q(claims_paid__isnull=True)
                | Q(claims_closed__isnull=True)
                | Q(claims_paid__lte=F("claims_closed")),
                name="statistic_paid_within_closed",
                violation_error_message=_("Paid claims cannot exceed closed claims."),
            ),
            models.CheckConstraint(
                condition=Q(premium_cny__isnull=True) | Q(premium_cny__gt=0),
                name="statistic_premium_positive",
                violation_error_message=_("Premium income must be more than zero."),
            ),
            models.CheckConstraint(
                condition=Q(surrender_amount_cny__isnull=True) | Q(surrender_amount_cny__gte=0),
                name="statistic_surrender_amount_not_negative",
                violation_error_message=_("The surrender amount cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.insurer} · {self.period} · {self.get_product_line_display()}"

    def clean(self) -> None:
        """Field-named errors for the rules the constraints also hold (forms, admin, API)."""
        errors: dict[str, list] = {}
        for name in _COUNT_FIELDS:
            value = getattr(self, name)
            if value is not None and value < 0:
                errors.setdefault(name, []).append(_("Cannot be negative."))
        paid, closed = self.claims_paid, self.claims_closed
        if paid is not None and closed is not None and paid > closed:
            errors.setdefault("claims_paid", []).append(
                _("Paid claims (%(paid)s) cannot exceed closed claims (%(closed)s).")
                % {"paid": paid, "closed": closed}
            )
        if self.premium_cny is not None and self.premium_cny <= 0:
            errors.setdefault("premium_cny", []).append(_("Premium income must be more than zero."))
        if self.surrender_amount_cny is not None and self.surrender_amount_cny < 0:
            errors.setdefault("surrender_amount_cny", []).append(_("Cannot be negative."))
        if errors:
            raise ValidationError(errors)


class ClaimOutcome(models.TextChoices):
    OPEN = "open", pgettext_lazy("claim outcome", "Open")
    PAID = "paid", pgettext_lazy("claim outcome", "Paid")
    DECLINED = "declined", pgettext_lazy("claim outcome", "Declined")


class RawClaim(models.Model):
    """One claim as the industry's claim registration platforms hold it.

    ``days_to_payment`` (incident to close, for paid claims) is derived when the row is
    written, so that the rollup is a plain SUM on every database.
    """

    insurer = models.ForeignKey(
        Insurer, verbose_name=_("insurer"), on_delete=models.PROTECT, related_name="raw_claims"
    )
    claim_no = models.CharField(_("claim number"), max_length=40)
    product_line = models.CharField(_("product line"), max_length=24, choices=ProductLine.choices)
    incident_date = models.DateField(_("incident date"))
    report_date = models.DateField(_("report date"))
    close_date = models.DateField(_("close date"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=8, choices=ClaimOutcome.choices)
    amount_cny = models.DecimalField(
        _("amount paid (CNY)"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    days_to_payment = models.PositiveIntegerField(
        _("days from incident to payment"), null=True, blank=True, editable=False
    )
    source_import = models.ForeignKey(
        StatisticsImport,
        verbose_name=_("import"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="claims",
    )

    class Meta:
        verbose_name = _("raw claim record")
        verbose_name_plural = _("raw claim records")
        ordering = ["insurer", "claim_no"]
        constraints = [
            models.UniqueConstraint(fields=["insurer", "claim_no"], name="rawclaim_unique_no"),
            models.CheckConstraint(
                condition=Q(report_date__gte=F("incident_date")),
                name="rawclaim_reported_after_incident",
                violation_error_message=_("A claim cannot be reported before the incident."),
            ),
            models.CheckConstraint(
                condition=(Q(outcome=ClaimOutcome.OPEN) & Q(close_date__isnull=True))
                | (~Q(outcome=ClaimOutcome.OPEN) & Q(close_date__gte=F("report_date"))),
                name="rawclaim_closed_iff_decided",
                violation_error_message=_(
                    "A paid or declined claim has a close date on or after its report date; "
                    "an open one has none."
                ),
            ),
        ]
        indexes = [
            models.Index(fields=["report_date"], name="rawclaim_report_date"),
            models.Index(fields=["close_date"], name="rawclaim_close_date"),
        ]

    def __str__(self) -> str:
        return self.claim_no

    def save(self, *args, **kwargs) -> None:
        self.derive()
        super().save(*args, **kwargs)

    def derive(self) -> None:
        self.days_to_payment = (
            (self.close_date - self.incident_date).days
            if self.outcome == ClaimOutcome.PAID and self.close_date
            else None
        )


class ComplaintStatistic(models.Model):
    """Accepted complaints per insurer, period and product line, counted by the rollup."""

    insurer = models.ForeignKey(
        Insurer, verbose_name=_("insurer"), on_delete=models.PROTECT, related_name="+"
    )
    period = models.ForeignKey(
        Period,
        verbose_name=_("period"),
        on_delete=models.PROTECT,
        related_name="complaint_statistics",
    )
    product_line = models.CharField(_("product line"), max_length=24, choices=ProductLine.choices)
    complaints = models.PositiveIntegerField(_("accepted complaints"))
    elder_complaints = models.PositiveIntegerField(_("from consumers aged 60 or over"))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("complaint statistic")
        verbose_name_plural = _("complaint statistics")
        ordering = ["period", "insurer", "product_line"]
        constraints = [
            models.UniqueConstraint(
                fields=["insurer", "period", "product_line"], name="complaintstat_one_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.insurer} · {self.period} · {self.product_line}: {self.complaints}"


class Methodology(models.Model):
    """One version of the index methodology, stored so that any run can be recomputed."""

    class Weighting(models.TextChoices):
        FIXED = "fixed", _("Fixed weights")
        ENTROPY = "entropy", _("Entropy weights")

    class Scoring(models.TextChoices):
        EFFICACY = method.EFFICACY, _("Efficacy coefficient")
        PERCENTILE = method.PERCENTILE, _("Percentile rank")

    version = models.CharField(_("version"), max_length=32, unique=True)
    title = models.CharField(pgettext_lazy("methodology", "title"), max_length=200, blank=True)
    scoring = models.CharField(_("scoring method"), max_length=32, choices=Scoring.choices)
    scoring_floor = models.DecimalField(
        _("scoring floor"),
        max_digits=5,
        decimal_places=2,
        default=50,
        help_text=_("The lowest score: 50 in SQI-2022, 0 for plain min–max, 60 classically."),
    )
    weighting = models.CharField(_("weighting"), max_length=16, choices=Weighting.choices)
    indicators = models.JSONField(_("indicators"), default=dict)
    dimensions = models.JSONField(_("dimensions"), default=dict)
    weights = models.JSONField(
        _("weights"),
        default=dict,
        blank=True,
        help_text=_("Per peer group: indicator → weight. Each peer group's weights sum to 1."),
    )
    winsorize = models.JSONField(
        _("winsorising percentiles"),
        null=True,
        blank=True,
        help_text=_("Optional [lower, upper] quantiles, e.g. [0.05, 0.95]."),
    )
    is_default = models.BooleanField(_("default"), default=False)
    notes = models.TextField(_("notes"), blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("methodology")
        verbose_name_plural = _("methodologies")
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_methodology"
            )
        ]

    def __str__(self) -> str:
        return self.version

    def clean(self) -> None:
        problems = method.methodology_problems(self.as_dict())
        if problems:
            raise ValidationError(problems)

    def as_dict(self) -> dict:
        """The methodology in the JSON format of ``sqi/data/sqi_methodology.json``."""
        data = {
            "version": self.version,
            "scoring": self.scoring,
            "scoring_floor": float(self.scoring_floor),
            "weighting": self.weighting,
            "indicators": self.indicators,
            "dimensions": self.dimensions,
            "weights": self.weights,
        }
        if self.winsorize:
            data["winsorize"] = self.winsorize
        return data


class RunStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    COMPUTING = "computing", _("Computing")
    VALIDATED = "validated", _("Validated")
    PUBLISHED = "published", _("Published")
    SUPERSEDED = "superseded", _("Superseded")
    FAILED = "failed", pgettext_lazy("index run", "Failed")


class IndexRun(models.Model):
    """One computation of the index for a period and peer group under a methodology version.

    At most one run per period and peer group is published; publishing another moves the
    previous one to ``superseded`` in the same transaction.
    """

    period = models.ForeignKey(
        Period, verbose_name=_("period"), on_delete=models.PROTECT, related_name="runs"
    )
    peer_group = models.CharField(_("peer group"), max_length=16, choices=PeerGroup.choices)
    methodology = models.ForeignKey(
        Methodology, verbose_name=_("methodology"), on_delete=models.PROTECT, related_name="runs"
    )
    status = FSMField(_("status"), default=RunStatus.PENDING, choices=RunStatus.choices)
    progress_done = models.PositiveSmallIntegerField(_("steps done"), default=0)
    progress_total = models.PositiveSmallIntegerField(_("steps"), default=0)
    task_id = models.CharField(_("Celery task id"), max_length=64, blank=True)
    fingerprint = models.CharField(_("fingerprint (SHA-256)"), max_length=64, blank=True)
    inputs = models.JSONField(_("canonical inputs"), null=True, blank=True)
    weights = models.JSONField(_("weights used"), null=True, blank=True)
    industry_index = models.DecimalField(
        _("industry index"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    excluded = models.JSONField(_("excluded insurers"), default=list, blank=True)
    validation = models.JSONField(_("validation report"), default=list, blank=True)
    timings = models.JSONField(_("timings (ms)"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created = models.DateTimeField(_("requested at"), auto_now_add=True)
    started = models.DateTimeField(_("started"), null=True, blank=True)
    finished = models.DateTimeField(_("finished"), null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("index run")
        verbose_name_plural = _("index runs")
        ordering = ["-created"]
        permissions = [("publish_indexrun", "Can publish index runs")]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "peer_group"],
                condition=Q(status="published"),
                name="one_published_run_per_period_peer_group",
            )
        ]
        indexes = [models.Index(fields=["status", "peer_group"], name="indexrun_status_peer")]

    def __str__(self) -> str:
        return f"{self.period} · {self.get_peer_group_display()} · #{self.pk}"

    # From ``computing`` too: a worker lost mid-run redelivers the task (acks_late), and the
    # run starts over with the same inputs, so the same fingerprint and results.
    @transition(
        field=status,
        source=[RunStatus.PENDING, RunStatus.COMPUTING, RunStatus.FAILED],
        target=RunStatus.COMPUTING,
    )
    def start(self) -> None:
        pass

    @transition(field=status, source=RunStatus.COMPUTING, target=RunStatus.VALIDATED)
    def validate(self) -> None:
        pass

    @transition(
        field=status,
        source=[RunStatus.PENDING, RunStatus.COMPUTING, RunStatus.VALIDATED],
        target=RunStatus.FAILED,
    )
    def fail(self) -> None:
        pass

    @transition(field=status, source=RunStatus.VALIDATED, target=RunStatus.PUBLISHED)
    def publish(self) -> None:
        pass

    @transition(field=status, source=RunStatus.PUBLISHED, target=RunStatus.SUPERSEDED)
    def supersede(self) -> None:
        pass

    @property
    def progress_percent(self) -> int:
        if not self.progress_total:
            return 0
        return round(100 * self.progress_done / self.progress_total)


class IndexResult(models.Model):
    """One insurer's result in a run: indicator values and scores, dimensions, total, rank."""

    run = models.ForeignKey(
        IndexRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="results"
    )
    insurer = models.ForeignKey(
        Insurer, verbose_name=_("insurer"), on_delete=models.PROTECT, related_name="index_results"
    )
    total = models.DecimalField(_("total score"), max_digits=5, decimal_places=2)
    rank = models.PositiveIntegerField(_("rank"))
    dimensions = models.JSONField(_("dimension scores"), default=dict)
    indicators = models.JSONField(_("indicator values and scores"), default=dict)
    premium_cny = models.DecimalField(_("premium income (CNY)"), max_digits=18, decimal_places=2)
    complaints = models.PositiveIntegerField(_("accepted complaints"))
    ratios = models.JSONField(_("complaint ratios"), default=dict)

    class Meta:
        verbose_name = _("index result")
        verbose_name_plural = _("index results")
        ordering = ["run", "rank", "insurer__short_name"]
        constraints = [
            models.UniqueConstraint(fields=["run", "insurer"], name="indexresult_one_per_insurer")
        ]

    def __str__(self) -> str:
        return f"{self.insurer} #{self.rank} {self.total}"

    @property
    def band(self) -> str:
        return method.band(float(self.total))


from .models_reports import UnitReport  # noqa: E402, F401
