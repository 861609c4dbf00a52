"""Mediation aggregates for the officer dashboard (issue 6).

The dashboard's mediation figures for a scope (a tree ``path`` prefix on the case's insurer
unit, with the dashboard's filters) and a period: the cases *applied for* in ``start..end``
(Asia/Shanghai days).

- ``escalations``: of those, the cases opened by escalating a complaint;
- ``settled`` / ``failed``: of those cases, how many ended so (by now);
- ``settlement_rate``: settled / (settled + failed), None while none has concluded;
- ``median_days_to_settle``: over the settled ones, calendar days from the application day
  to the day the agreement was signed (``signed_on``).

A product-line or channel filter keeps only cases behind a complaint of that line or channel
(a direct application has neither); an insurer filter applies to every case.
"""

import datetime
import statistics

from django.db.models import Count, Q
from django.utils import timezone

from .models import CaseStatus, MediationCase


def day_start(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of ``day`` in Asia/Shanghai."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def _cases(*, path, start, end, product_line=None, channel=None, insurer_id=None):
    # A range of moments rather than the day of each: the index on applied_at serves it.
    qs = MediationCase.objects.filter(
        org_unit__path__startswith=path,
        applied_at__gte=day_start(start),
        applied_at__lt=day_start(end + datetime.timedelta(days=1)),
    )
    if product_line:
        qs = qs.filter(complaint__product_line=product_line)
    if channel:
        qs = qs.filter(complaint__channel=channel)
    if insurer_id:
        qs = qs.filter(insurer_id=insurer_id)
    return qs.order_by()


def mediation_dashboard_figures(
    *,
    path: str,
    start: datetime.date,
    end: datetime.date,
    product_line: str | None = None,
    channel: str | None = None,
    insurer_id: int | None = None,
) -> dict:
    """{escalations, settled, failed, settlement_rate, median_days_to_settle}. Two queries."""
    qs = _cases(
        path=path,
        start=start,
        end=end,
        product_line=product_line,
        channel=channel,
        insurer_id=insurer_id,
    )
    counts = qs.aggregate(
        escalations=Count("pk", filter=Q(complaint__isnull=False)),
        settled=Count("pk", filter=Q(status=CaseStatus.SETTLED)),
        failed=Count("pk", filter=Q(status=CaseStatus.FAILED)),
    )
    days = [
        (signed - timezone.localtime(applied).date()).days
        for applied, signed in qs.filter(
            status=CaseStatus.SETTLED, signed_on__isnull=False
        ).values_list("applied_at", "signed_on")
    ]
    concluded = counts["settled"] + counts["failed"]
    return {
        **counts,
        "settlement_rate": counts["settled"] / concluded if concluded else None,
        "median_days_to_settle": statistics.median(days) if days else None,
    }
