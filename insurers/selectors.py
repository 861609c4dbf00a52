"""Reads for the insurers app, and the one answer to "which org units may this user see".

Every queryset that holds scoped data filters through ``visible_units``: a user sees the
units they belong to (staff memberships and active officer appointments) and everything
below them; superusers and index administrators see the whole tree.
"""

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Length, Substr

from .models import Insurer, OrgUnit, ReceptionDay, ServiceOfficer, UnitMembership
from .roles import sees_every_unit


def user_root_paths(user) -> tuple[str, ...]:
    """Tree paths of the units the user is placed in, without any that lie inside another.

    Cached on the user object, which lives for one request.
    """
    cached = getattr(user, "_sqi_root_paths", None)
    if cached is not None:
        return cached
    paths: set[str] = set()
    if user.is_authenticated and user.is_active:
        memberships = (
            UnitMembership.objects.filter(user=user).order_by().values_list("org_unit__path")
        )
        posts = (
            ServiceOfficer.objects.filter(user=user, ended__isnull=True)
            .order_by()
            .values_list("org_unit__path")
        )
        paths.update(path for (path,) in memberships.union(posts))  # one query
    roots = tuple(sorted(p for p in paths if not any(p != q and p.startswith(q) for q in paths)))
    user._sqi_root_paths = roots
    return roots


def visible_units(*, user) -> QuerySet[OrgUnit]:
    """The org units ``user`` may see: their own units and all their descendants."""
    if sees_every_unit(user):
        return OrgUnit.objects.all()
    roots = user_root_paths(user)
    if not roots:
        return OrgUnit.objects.none()
    condition = Q()
    for path in roots:
        condition |= Q(path__startswith=path)
    return OrgUnit.objects.filter(condition)


def unit_is_visible(*, user, unit: OrgUnit) -> bool:
    if sees_every_unit(user):
        return True
    return any(unit.path.startswith(root) for root in user_root_paths(user))


def user_top_units(*, user) -> QuerySet[OrgUnit]:
    """The topmost units a user sees: the tree's roots, or the user's own units."""
    if sees_every_unit(user):
        return OrgUnit.objects.filter(depth=1)
    return OrgUnit.objects.filter(path__in=user_root_paths(user))


def with_parent_id(queryset: QuerySet[OrgUnit]) -> QuerySet[OrgUnit]:
    """Annotate ``parent_id`` from the materialised path, in SQL (no query per row)."""
    steplen = OrgUnit.steplen
    parent = OrgUnit.objects.filter(
        path=Substr(OuterRef("path"), 1, Length(OuterRef("path")) - steplen)
    ).values("pk")[:1]
    return queryset.annotate(parent_id=Subquery(parent))


def org_unit_list(*, user, within: OrgUnit | None = None, filters: dict | None = None):
    """Visible units in tree order, optionally only ``within`` a unit's subtree (inclusive)."""
    qs = visible_units(user=user).select_related("insurer")
    if within is not None:
        qs = qs.filter(path__startswith=within.path)
    filters = filters or {}
    if filters.get("level"):
        qs = qs.filter(level=filters["level"])
    if filters.get("insurer"):
        qs = qs.filter(insurer=filters["insurer"])
    return with_parent_id(qs).order_by("path")


def insurer_list(*, user, filters: dict | None = None) -> QuerySet[Insurer]:
    """Insurers that own at least one unit the user sees (all of them for the market-wide)."""
    qs = Insurer.objects.select_related("group")
    if not sees_every_unit(user):
        qs = qs.filter(pk__in=visible_units(user=user).values("insurer_id"))
    filters = filters or {}
    if filters.get("licence_type"):
        qs = qs.filter(licence_type=filters["licence_type"])
    if filters.get("active") is not None:
        qs = qs.filter(active=filters["active"])
    return qs.order_by("licence_type", "short_name", "pk")


def service_officer_list(*, user, active: bool | None = None) -> QuerySet[ServiceOfficer]:
    qs = ServiceOfficer.objects.filter(org_unit__in=visible_units(user=user)).select_related(
        "user", "org_unit"
    )
    if active is not None:
        qs = qs.filter(ended__isnull=active)
    return qs.order_by("org_unit__path", "-appointed", "pk")


def reception_day_list(*, user) -> QuerySet[ReceptionDay]:
    return (
        ReceptionDay.objects.filter(officer__org_unit__in=visible_units(user=user))
        .select_related("officer__user", "officer__org_unit")
        .order_by("-date", "pk")
    )


def active_officer_of(*, user) -> ServiceOfficer | None:
    """The user's own active appointment, if they are a service officer."""
    return (
        ServiceOfficer.objects.filter(user=user, ended__isnull=True)
        .select_related("org_unit")
        .order_by("org_unit__path")
        .first()
    )
