"""Complaints (投诉), their pauses, extensions, timeline, notifications and attachments.

Data and invariants only. Every workflow step is a function in ``services.py``; the state
field is protected, so nothing else can move a complaint.
"""

import datetime
import uuid

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.validators import MaxLengthValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from insurers.models import Insurer, OrgUnit
from sqi.history import HistoricalRecords

NARRATIVE_MAX = 5000


class PrivateStorage(FileSystemStorage):
    """Files under ``PRIVATE_MEDIA_ROOT``: outside MEDIA_ROOT and without any URL, so nothing
    stored here is reachable except through views that check the user's scope."""

    @property
    def base_location(self):
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self):
        return str(settings.PRIVATE_MEDIA_ROOT)

    def url(self, name):
        raise ValueError("private files have no URL")


private_storage = PrivateStorage()
PHONE_VALIDATOR = RegexValidator(
    r"^(1\d{10}|0\d{2,3}-?\d{7,8})$",
    _("Enter a mainland mobile number (11 digits) or a landline with its area code."),
)


class ProductLine(models.TextChoices):
    MOTOR = "motor", _("Motor (车险)")
    COMMERCIAL_PROPERTY = "commercial_property", _("Commercial property (企财险)")
    HOME = "home", _("Home (家财险)")
    LIABILITY = "liability", _("Liability (责任险)")
    AGRICULTURE = "agriculture", _("Agricultural (农险)")
    LIFE = "life", _("Life (寿险)")
    ACCIDENT = "accident", _("Accident (意外险)")
    HEALTH = "health", _("Health (健康险)")
    OTHER = "other", _("Other (其他)")


class Category(models.TextChoices):
    SALES = "sales", _("Sales dispute")
    CLAIMS = "claims", _("Claims dispute")
    SURRENDER = "surrender", _("Surrender dispute")
    UNDERWRITING = "underwriting", _("Underwriting dispute")
    POLICY_SERVICE = "policy_service", _("Policy service")
    ATTITUDE = "attitude", _("Service attitude")
    PRIVACY = "privacy", _("Personal information protection")
    INTERNET = "internet", _("Internet insurance")
    OTHER = "other", _("Other")


class Subcategory(models.TextChoices):
    MIS_SELLING = "mis_selling", _("Mis-selling")
    CLAIM_DENIED = "claim_denied", _("Claim denied")
    CLAIM_DELAY = "claim_delay", _("Claim handling time")
    CLAIM_AMOUNT = "claim_amount", _("Claim amount")


# The two-level taxonomy: which second-level categories belong to which first-level one.
SUBCATEGORIES: dict[str, tuple[str, ...]] = {
    Category.SALES: (Subcategory.MIS_SELLING,),
    Category.CLAIMS: (Subcategory.CLAIM_DENIED, Subcategory.CLAIM_DELAY, Subcategory.CLAIM_AMOUNT),
}


class Channel(models.TextChoices):
    REGULATOR = "regulator", _("Referred by the regulator (12378)")
    HOTLINE = "hotline", _("Customer service hotline")
    ONLINE = "online", _("Online (app, mini program, website)")
    COUNTER = "counter", _("Service counter")
    LETTER_VISIT = "letter_visit", _("Letter or visit")
    MEDIA = "media", _("Media")


class Status(models.TextChoices):
    RECEIVED = "received", _("Received")
    ACCEPTED = "accepted", _("Accepted")
    INVESTIGATING = "investigating", _("Investigating")
    EXTENDED = "extended", _("Extended")
    DECIDED = "decided", _("Decided")
    CLOSED = "closed", _("Closed")
    DECLINED = "declined", _("Declined")
    ESCALATED = "escalated", _("Escalated to mediation")
    UNDER_REVIEW = "under_review", _("Under review")


OPEN_STATES = (
    Status.RECEIVED,
    Status.ACCEPTED,
    Status.INVESTIGATING,
    Status.EXTENDED,
    Status.UNDER_REVIEW,
)
# States in which the decision clock runs.
CLOCK_STATES = OPEN_STATES


class DeclineReason(models.TextChoices):
    DUPLICATE = "duplicate", _("Duplicate of another complaint")
    OUTSIDE_SCOPE = "outside_scope", _("Outside the scope of complaint handling")
    ANONYMOUS = "anonymous", _("Anonymous, with no way to contact the complainant")
    OTHER = "other", _("Other")


class Decision(models.TextChoices):
    UPHELD = "upheld", _("Upheld")
    PARTLY_UPHELD = "partly_upheld", _("Partly upheld")
    NOT_UPHELD = "not_upheld", _("Not upheld")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    NEUTRAL = "neutral", _("Neutral")
    DISSATISFIED = "dissatisfied", _("Dissatisfied")
    UNREACHABLE = "unreachable", _("Unreachable")


class ReferenceCounter(models.Model):
    """The last reference number handed out in a year (TS2026-000123)."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


HISTORY_UNINDEXED = (
    "reference",
    "insurer",
    "org_unit",
    "complainant_phone",
    "is_elder",
    "status",
    "received_at",
    "due_date",
    "created_by",
)


class Complaint(ConcurrentTransitionMixin, models.Model):
    """A complaint. ``ConcurrentTransitionMixin`` makes a save fail when another request moved
    the state in between, so two handlers can never both, say, decide the same complaint."""

    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    # No index of their own: complaint_insurer_day and complaint_unit_status begin with them.
    insurer = models.ForeignKey(
        Insurer,
        verbose_name=_("insurer"),
        on_delete=models.PROTECT,
        related_name="complaints",
        db_index=False,
    )
    org_unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("handling unit"),
        on_delete=models.PROTECT,
        related_name="complaints",
        db_index=False,
    )
    product_line = models.CharField(_("product line"), max_length=24, choices=ProductLine.choices)
    category = models.CharField(_("category"), max_length=24, choices=Category.choices)
    subcategory = models.CharField(
        _("subcategory"), max_length=24, choices=Subcategory.choices, blank=True
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    amount_in_dispute = models.DecimalField(
        _("amount in dispute (CNY)"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    narrative = models.TextField(_("narrative"), validators=[MaxLengthValidator(NARRATIVE_MAX)])

    # The complainant. The ID number is kept only encrypted, with a keyed hash for exact
    # search and a masked form for display; see complaints/crypto.py.
    complainant_name = models.CharField(_("complainant's name"), max_length=100)
    complainant_phone = models.CharField(
        _("complainant's phone"), max_length=20, validators=[PHONE_VALIDATOR]
    )
    id_number_encrypted = models.TextField(_("ID number (encrypted)"), blank=True, editable=False)
    id_number_hash = models.CharField(max_length=64, blank=True, editable=False)
    id_number_masked = models.CharField(_("ID number"), max_length=18, blank=True, editable=False)
    is_elder = models.BooleanField(
        _("elder complainant (60 or over)"), default=False, editable=False
    )

    status = FSMField(_("status"), default=Status.RECEIVED, choices=Status.choices, protected=True)
    received_at = models.DateTimeField(_("received at"), db_index=True)
    received_on = models.DateField(_("received on"), editable=False)
    extensions = models.PositiveSmallIntegerField(_("extensions"), default=0)
    due_date = models.DateField(_("decision due"), null=True, blank=True, db_index=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    decline_reason = models.CharField(
        _("reason for declining"), max_length=16, choices=DeclineReason.choices, blank=True
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices, blank=True)
    remedy_amount = models.DecimalField(
        _("remedy amount (CNY)"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    reply = models.TextField(_("reply to the complainant"), blank=True)
    first_decided_at = models.DateTimeField(_("first decided at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    satisfaction = models.CharField(
        _("satisfaction"), max_length=16, choices=Satisfaction.choices, blank=True
    )
    review_requested_at = models.DateTimeField(_("review requested at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("logged by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    #: Received, and its contribution not yet in the dashboard's summary tables: the batched
    #: task ``complaints.tasks.complaints_received`` adds it (``summaries.summaries_catch_up``).
    #: Bookkeeping, not part of the complaint: left out of its history.
    summary_pending = models.BooleanField(_("summary pending"), default=False, editable=False)

    history = HistoricalRecords(
        excluded_fields=["id_number_encrypted", "id_number_hash", "summary_pending"],
        # The audit trail is read per complaint (id) and in time order: indexes on the
        # other columns would only cost every audited write (intake included) an entry each.
        no_db_index=HISTORY_UNINDEXED,
    )

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-received_at"]
        permissions = [
            ("reveal_personal_data", _("Can see a complainant's full ID number")),
            ("approve_extension", _("Can approve a second extension")),
            ("export_complaints", _("Can export complaint lists")),
        ]
        # Every index costs each intake an entry; each here answers a query the product asks.
        # Equality-only text columns get a plain index (a CharField's db_index would add a
        # second, pattern-matching one on PostgreSQL that no query uses).
        indexes = [
            models.Index(fields=["complainant_phone"], name="complaint_phone"),
            models.Index(fields=["id_number_hash"], name="complaint_id_number_hash"),
            models.Index(fields=["org_unit", "status"], name="complaint_unit_status"),
            models.Index(fields=["status", "due_date"], name="complaint_status_due"),
            models.Index(fields=["insurer", "received_on"], name="complaint_insurer_day"),
            # The index's complaint rollup reads a period's days and these columns only: on
            # PostgreSQL an index-only scan (1 M complaints, a year: 217 → 114 ms).
            models.Index(
                fields=["received_on", "insurer", "product_line", "status", "is_elder"],
                name="complaint_rollup_day",
            ),
            # The few complaints whose summary contribution is still owed (a second or so).
            models.Index(
                fields=["id"], name="complaint_summary_pending", condition=Q(summary_pending=True)
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(extensions__lte=2), name="complaint_at_most_two_extensions"
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def save(self, *args, **kwargs):
        # ``summary_pending`` is written at intake and cleared by the summaries' catch-up
        # (an UPDATE of its own); a later save of an object loaded before the catch-up must
        # not write the stale flag back, or the complaint's changes would stop reaching the
        # summary tables. So an update of a stored complaint never writes it.
        if not self._state.adding and kwargs.get("update_fields") is None:
            deferred = self.get_deferred_fields()  # as Django does: never load them to save
            kwargs["update_fields"] = [f for f in _SAVED_FIELDS if f not in deferred]
        super().save(*args, **kwargs)

    # The transitions below only move the state; the services around them check the actor,
    # the deadlines and the data, write the timeline, and save.
    @transition(field=status, source=Status.RECEIVED, target=Status.ACCEPTED)
    def accept(self):
        pass

    @transition(field=status, source=Status.RECEIVED, target=Status.DECLINED)
    def decline(self):
        pass

    @transition(field=status, source=Status.ACCEPTED, target=Status.INVESTIGATING)
    def investigate(self):
        pass

    @transition(
        field=status,
        source=[Status.ACCEPTED, Status.INVESTIGATING, Status.EXTENDED],
        target=Status.EXTENDED,
    )
    def extend(self):
        pass

    @transition(
        field=status,
        source=[Status.ACCEPTED, Status.INVESTIGATING, Status.EXTENDED, Status.UNDER_REVIEW],
        target=Status.DECIDED,
    )
    def decide(self):
        pass

    @transition(field=status, source=Status.DECIDED, target=Status.CLOSED)
    def close(self):
        pass

    @transition(
        field=status,
        source=[Status.ACCEPTED, Status.INVESTIGATING, Status.EXTENDED, Status.DECIDED],
        target=Status.ESCALATED,
    )
    def escalate(self):
        pass

    @transition(field=status, source=Status.ESCALATED, target=Status.CLOSED)
    def close_after_mediation(self):
        pass

    @transition(field=status, source=[Status.DECIDED, Status.CLOSED], target=Status.UNDER_REVIEW)
    def request_review(self):
        pass

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES

    @property
    def review_requested(self) -> bool:
        return self.review_requested_at is not None


#: What an update of a stored complaint writes: every field but ``summary_pending``.
_SAVED_FIELDS = tuple(
    f.attname
    for f in Complaint._meta.concrete_fields
    if not f.primary_key and f.name != "summary_pending"
)


class PauseReason(models.TextChoices):
    APPRAISAL = "appraisal", _("Waiting on an outside appraisal, test or assessment")
    MATERIALS = "materials", _("Waiting for the complainant's materials")


class Pause(models.Model):
    """Days the decision clock stands still (鉴定、检测、评估 and, where enabled, materials)."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="pauses")
    kind = models.CharField(_("kind"), max_length=16, choices=PauseReason.choices)
    reason = models.CharField(_("reason"), max_length=500)
    start = models.DateField(_("from"))
    end = models.DateField(_("until"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("pause")
        verbose_name_plural = _("pauses")
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")),
                name="pause_end_after_start",
            ),
            models.UniqueConstraint(
                fields=["complaint"], condition=Q(end__isnull=True), name="pause_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.start}–{self.end or '…'}"

    def as_tuple(self) -> tuple[datetime.date, datetime.date | None]:
        return (self.start, self.end)


class Extension(models.Model):
    """One extension step: to 30 days (reason), then to 60 (approval one level up + notice)."""

    complaint = models.ForeignKey(
        Complaint, on_delete=models.CASCADE, related_name="extension_steps"
    )
    step = models.PositiveSmallIntegerField(_("step"))
    reason = models.TextField(_("reason"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    complainant_notice = models.TextField(_("notice to the complainant"), blank=True)
    complainant_notified_at = models.DateTimeField(_("complainant told at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("extension")
        verbose_name_plural = _("extensions")
        constraints = [
            models.UniqueConstraint(fields=["complaint", "step"], name="extension_step_once"),
            models.CheckConstraint(condition=Q(step__in=[1, 2]), name="extension_step_1_or_2"),
            # A second step carries a notice, and is approved and notified together.
            models.CheckConstraint(
                condition=Q(step=1)
                | (
                    ~Q(complainant_notice="")
                    & Q(approved_by__isnull=True, complainant_notified_at__isnull=True)
                )
                | (
                    ~Q(complainant_notice="")
                    & Q(approved_by__isnull=False, complainant_notified_at__isnull=False)
                ),
                name="extension_second_step_notice_and_approval",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id} · {self.step}"


class EventKind(models.TextChoices):
    RECEIVED = "received", _("Received")
    TRANSITION = "transition", _("Status change")
    NOTE = "note", _("Note")
    PAUSE = "pause", _("Clock paused")
    RESUME = "resume", _("Clock resumed")
    EXTENSION = "extension", _("Deadline extended")
    REMINDER = "reminder", _("Deadline reminder")
    BREACH = "breach", _("Deadline breached, escalated")
    REVEAL = "reveal", _("Personal data revealed")
    ATTACHMENT = "attachment", _("Attachment added")
    EDIT = "edit", _("Details changed")


class Event(models.Model):
    """The complaint's timeline: every change, note, reminder and reveal, in order."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("at"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=EventKind.choices)
    from_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    text = models.TextField(_("text"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    # Makes a scheduled event (a reminder for one due date) happen at most once.
    dedupe_key = models.CharField(max_length=100, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{timezone.localtime(self.at):%Y-%m-%d %H:%M} {self.get_kind_display()}"


class Notification(models.Model):
    """An in-app notification (also sent by email)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    complaint = models.ForeignKey(
        Complaint, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.subject


class IdempotencyKey(models.Model):
    """A client's ``Idempotency-Key``: the first result is returned to every retry."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")
        ]

    def __str__(self) -> str:
        return self.key


def _attachment_path(instance, filename: str) -> str:
    # The stored name never reuses the uploader's file name (kept in ``original_name``).
    return f"complaints/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file attached to a complaint. Kept in private storage and only ever streamed to
    users who may see the complaint; never served from a public URL."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=_attachment_path, storage=private_storage, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created", "pk"]

    def __str__(self) -> str:
        return self.original_name


class ImportBatch(models.Model):
    """One file import: who, when, which file (by hash), how many rows, and the outcome."""

    class Outcome(models.TextChoices):
        IMPORTED = "imported", _("Imported")
        REJECTED = "rejected", _("Rejected, nothing imported")

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    file_name = models.CharField(_("file name"), max_length=200)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    errors = models.JSONField(_("errors"), default=list, blank=True)

    class Meta:
        verbose_name = _("complaint import")
        verbose_name_plural = _("complaint imports")
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created:%Y-%m-%d %H:%M})"


# The dashboard's summary tables live in their own module (issue 6).
from .models_summaries import (  # noqa: E402, F401
    ComplaintCategorySummary,
    ComplaintDecisionDaysSummary,
    ComplaintSummary,
    ComplaintSummaryState,
)
