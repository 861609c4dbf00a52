"""Summary tables behind the officer dashboard (issue 6): complaint counts per org-unit
subtree, month, product line and channel, kept equal to the live aggregate.

Why: a group's dashboard aggregates tens or hundreds of thousands of complaints, twice (the
period and the one before) and again per child unit; read live that is several hundred
milliseconds on a million complaints. The figures are additive, so they are kept
pre-aggregated at the grain the dashboard asks for: one row per *large subtree* — a group or
a head office, i.e. a whole insurer (a complaint counts in the rows of its head office and,
if the insurer belongs to one, its group) — calendar month, product line and channel; the
two histograms (by category, by days to decision) leave the channel out, which keeps them a
fraction of the size (a channel filter reads those two live). Branches and sub-branches are
small scopes and read live.

What maintains them, and how they stay equal to the live aggregate: see
``complaints/summaries.py``.

Imported by ``complaints/models.py`` so that Django sees the models.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from insurers.models import OrgUnit

# The counters of ComplaintSummary, in the order of its columns. By month of *receipt*:
RECEIPT_COUNTERS = (
    "received",
    "accepted",
    "decided",  # has a first decision
    "on_time",  # … made on or before the deadline then in force
    "upheld",  # … whose decision now is upheld or partly upheld
    "reviews_requested",
    "reviews_decided",
    "reviews_upheld_original",
    "satisfied",
    "neutral",
    "dissatisfied",
    "unreachable",
    "elder_received",
    "elder_decided",
    "elder_on_time",
)
# By month of the event itself:
EVENT_COUNTERS = (
    "first_decisions",  # first decisions made in the month
    "missed_deadlines",  # deadlines falling in the month and not met (or not met yet)
)
COUNTERS = RECEIPT_COUNTERS + EVENT_COUNTERS
KEY_FIELDS = ("org_unit", "month", "product_line", "channel")
DETAIL_KEY_FIELDS = ("org_unit", "month", "product_line")  # the histograms have no channel


class SummaryKey(models.Model):
    org_unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"))  # its first day
    product_line = models.CharField(_("product line"), max_length=24)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.org_unit_id} · {self.month:%Y-%m} · {self.product_line}"


class ComplaintSummary(SummaryKey):
    """Complaint counts of one subtree × month × product line × channel."""

    channel = models.CharField(_("channel"), max_length=16)

    # See RECEIPT_COUNTERS and EVENT_COUNTERS for what each counts.
    received = models.IntegerField(default=0)
    accepted = models.IntegerField(default=0)
    decided = models.IntegerField(default=0)
    on_time = models.IntegerField(default=0)
    upheld = models.IntegerField(default=0)
    reviews_requested = models.IntegerField(default=0)
    reviews_decided = models.IntegerField(default=0)
    reviews_upheld_original = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)
    neutral = models.IntegerField(default=0)
    dissatisfied = models.IntegerField(default=0)
    unreachable = models.IntegerField(default=0)
    elder_received = models.IntegerField(default=0)
    elder_decided = models.IntegerField(default=0)
    elder_on_time = models.IntegerField(default=0)
    first_decisions = models.IntegerField(default=0)
    missed_deadlines = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("complaint summary")
        verbose_name_plural = _("complaint summaries")
        constraints = [
            models.UniqueConstraint(fields=KEY_FIELDS, name="complaint_summary_key"),
        ]


class ComplaintCategorySummary(SummaryKey):
    """Complaints received, by category."""

    category = models.CharField(_("category"), max_length=24)
    count = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("complaint summary by category")
        verbose_name_plural = _("complaint summaries by category")
        constraints = [
            models.UniqueConstraint(
                fields=[*DETAIL_KEY_FIELDS, "category"], name="complaint_summary_category_key"
            ),
        ]


class ComplaintDecisionDaysSummary(SummaryKey):
    """Complaints received and decided, by calendar days from receipt to first decision: a
    histogram, so that medians and percentiles stay exact."""

    days = models.IntegerField(_("days from receipt to first decision"))
    count = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("complaint summary by days to decision")
        verbose_name_plural = _("complaint summaries by days to decision")
        constraints = [
            models.UniqueConstraint(
                fields=[*DETAIL_KEY_FIELDS, "days"], name="complaint_summary_days_key"
            ),
        ]


class ComplaintSummaryState(models.Model):
    """One row once the summaries have been built (``summaries_rebuild``): until then, and
    whenever the org tree changed shape since, the dashboard reads live.

    ``tree_units`` and ``tree_signature`` fingerprint who was whose parent at the build (the
    units up to ``tree_units``, by id): moving a unit changes the signature; adding units
    (which treebeard may renumber siblings for) does not."""

    built_at = models.DateTimeField(_("built at"))
    tree_units = models.BigIntegerField(default=0)
    tree_signature = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("complaint summary state")
        verbose_name_plural = _("complaint summary states")

    def __str__(self) -> str:
        return f"{self.built_at:%Y-%m-%d %H:%M}"
