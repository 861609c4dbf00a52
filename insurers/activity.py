"""Service officers' activity for the officer dashboard (issue 6): who holds each child
unit's post, and the reception days (接待日) held in each child's subtree.

Three queries whatever the number of child units: the children themselves, their active
officers, and the reception days grouped by the child's path prefix.
"""

import datetime

from django.db.models import Count, Sum
from django.db.models.functions import Substr

from .models import OrgUnit, ReceptionDay, ServiceOfficer


def child_units(*, unit: OrgUnit, insurer_id: int | None = None) -> list[OrgUnit]:
    """The direct children of ``unit`` ordered by name (only ``insurer_id``'s, if given)."""
    qs = OrgUnit.objects.filter(path__startswith=unit.path, depth=unit.depth + 1)
    if insurer_id:
        qs = qs.filter(insurer_id=insurer_id)
    return list(qs.order_by("name", "path"))


def officer_name(user) -> str:
    return user.get_full_name() or user.get_username()


def active_officers(*, units: list[OrgUnit]) -> dict[int, str]:
    """{unit id: display name of its active service officer}; a vacant post is absent."""
    officers = ServiceOfficer.objects.filter(
        org_unit__in=[u.pk for u in units], ended__isnull=True
    ).select_related("user")
    return {o.org_unit_id: officer_name(o.user) for o in officers}


def reception_by_child(
    *, unit: OrgUnit, start: datetime.date, end: datetime.date
) -> dict[str, dict[str, int]]:
    """{child path: {reception_days, consumers_met, follow_ups_open}} over the reception
    days dated ``start..end`` held by officers anywhere in each child's subtree."""
    length = len(unit.path) + OrgUnit.steplen
    rows = (
        ReceptionDay.objects.filter(
            officer__org_unit__path__startswith=unit.path,
            officer__org_unit__depth__gt=unit.depth,
            date__gte=start,
            date__lte=end,
        )
        .annotate(child=Substr("officer__org_unit__path", 1, length))
        .values("child")
        .annotate(
            reception_days=Count("pk"),
            consumers_met=Sum("consumers_met"),
            follow_ups_open=Sum("follow_ups_open"),
        )
        .order_by()
    )
    return {
        row["child"]: {
            "reception_days": row["reception_days"],
            "consumers_met": row["consumers_met"] or 0,
            "follow_ups_open": row["follow_ups_open"] or 0,
        }
        for row in rows
    }


def officer_activity_by_child(
    *,
    unit: OrgUnit,
    start: datetime.date,
    end: datetime.date,
    insurer_id: int | None = None,
) -> list[dict]:
    """One row per direct child of ``unit`` (by name): {"unit", "officer" (display name or
    None when the post is vacant), "reception_days", "consumers_met", "follow_ups_open"}."""
    children = child_units(unit=unit, insurer_id=insurer_id)
    if not children:
        return []
    officers = active_officers(units=children)
    reception = reception_by_child(unit=unit, start=start, end=end)
    none = {"reception_days": 0, "consumers_met": 0, "follow_ups_open": 0}
    return [
        {"unit": child, "officer": officers.get(child.pk), **reception.get(child.path, none)}
        for child in children
    ]
