"""Reads of mediation cases: the scoped list, the board, and the figures dashboards need."""

import datetime
import statistics
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from insurers.selectors import visible_units

from .models import CONCLUDED_STATES, CaseStatus, MediationCase
from .services import mediator_organization_id


def scoped_cases(*, user) -> QuerySet[MediationCase]:
    """Cases of the user's mediation organisation, or of the org units in their scope."""
    if user.is_superuser:
        return MediationCase.objects.all()
    org = mediator_organization_id(user)
    if org is not None:
        return MediationCase.objects.filter(organization_id=org)
    if not user.has_perm("cases.view_mediationcase"):
        return MediationCase.objects.none()
    return MediationCase.objects.filter(org_unit__in=visible_units(user=user))


def case_list(*, user, filters: dict | None = None) -> QuerySet[MediationCase]:
    filters = filters or {}
    qs = scoped_cases(user=user).select_related("organization", "insurer", "org_unit", "complaint")
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("insurer"):
        qs = qs.filter(insurer=filters["insurer"])
    if filters.get("organization"):
        qs = qs.filter(organization=filters["organization"])
    if filters.get("applied_from"):
        qs = qs.filter(applied_at__date__gte=filters["applied_from"])
    if filters.get("applied_to"):
        qs = qs.filter(applied_at__date__lte=filters["applied_to"])
    if filters.get("q"):
        term = filters["q"].strip()
        qs = qs.filter(Q(reference__iexact=term) | Q(complaint__reference__iexact=term))
    return qs.order_by("-applied_at", "-pk")


def case_get(*, user, reference: str) -> MediationCase:
    return (
        scoped_cases(user=user)
        .select_related("organization", "insurer", "org_unit", "complaint")
        .get(reference=reference)
    )


def case_timeline(*, case: MediationCase):
    return case.events.select_related("actor").order_by("at", "pk")


def board(*, user, filters: dict | None = None, per_column: int = 30) -> list[dict]:
    """The mediation board: one column per state with its count and its oldest cases."""
    qs = case_list(user=user, filters=filters)
    counts = dict(qs.order_by().values_list("status").annotate(n=Count("pk")))
    now = timezone.now()
    columns = []
    for status in CaseStatus:
        cases = list(qs.filter(status=status).order_by("applied_at")[:per_column])
        for case in cases:
            case.age_days = (now - case.applied_at).days
        columns.append(
            {
                "status": status,
                "label": status.label,
                "count": counts.get(status, 0),
                "cases": cases,
            }
        )
    return columns


def cases_for(
    *,
    insurer=None,
    within=None,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
) -> QuerySet[MediationCase]:
    """Cases applied for in a period (inclusive dates), for an insurer and/or a unit's subtree."""
    qs = MediationCase.objects.all()
    if insurer is not None:
        qs = qs.filter(insurer=insurer)
    if within is not None:
        qs = qs.filter(org_unit__path__startswith=within.path)
    if start is not None:
        qs = qs.filter(applied_at__date__gte=start)
    if end is not None:
        qs = qs.filter(applied_at__date__lte=end)
    return qs


def _figures(by_state: dict, durations: list[float], amount) -> dict:
    settled = by_state.get(CaseStatus.SETTLED, 0)
    concluded = sum(by_state.get(state, 0) for state in CONCLUDED_STATES)
    return {
        "total": sum(by_state.values()),
        "by_state": {state.value: by_state.get(state, 0) for state in CaseStatus},
        "settled": settled,
        "concluded": concluded,
        "settlement_rate": (settled / concluded) if concluded else None,
        "median_days_to_conclusion": round(statistics.median(durations), 1) if durations else None,
        "amount_settled": amount or Decimal("0"),
    }


def _days(start, end) -> float:
    return (end - start).total_seconds() / 86400


def mediation_figures(*, cases: QuerySet[MediationCase]) -> dict:
    """Cases by state, settlement rate (settled / concluded), median days from application to
    conclusion, and the amount settled. Three queries whatever the number of cases."""
    by_state = dict(cases.order_by().values_list("status").annotate(n=Count("pk")))
    durations = [
        _days(start, end)
        for start, end in cases.filter(status__in=CONCLUDED_STATES, concluded_at__isnull=False)
        .order_by()
        .values_list("applied_at", "concluded_at")
    ]
    amount = cases.filter(status=CaseStatus.SETTLED).aggregate(s=Sum("settlement_amount"))["s"]
    return _figures(by_state, durations, amount)


def mediation_figures_by(*, cases: QuerySet[MediationCase], by: str) -> dict[int, dict]:
    """``mediation_figures`` per insurer (``by="insurer"``) or per handling unit
    (``by="org_unit"``), keyed by that object's id; three queries in all."""
    if by not in ("insurer", "org_unit"):
        raise ValueError("by is insurer or org_unit")
    key = f"{by}_id"
    states: dict[int, dict] = {}
    for group, status, n in cases.order_by().values_list(key, "status").annotate(n=Count("pk")):
        states.setdefault(group, {})[status] = n
    durations: dict[int, list[float]] = {}
    for group, start, end in (
        cases.filter(status__in=CONCLUDED_STATES, concluded_at__isnull=False)
        .order_by()
        .values_list(key, "applied_at", "concluded_at")
    ):
        durations.setdefault(group, []).append(_days(start, end))
    amounts = dict(
        cases.filter(status=CaseStatus.SETTLED)
        .order_by()
        .values_list(key)
        .annotate(s=Sum("settlement_amount"))
    )
    return {
        group: _figures(by_state, durations.get(group, []), amounts.get(group))
        for group, by_state in states.items()
    }


SESSION_STATES = (CaseStatus.ACCEPTED, CaseStatus.IN_MEDIATION)
MEDIATOR_STEPS = ("accept", "refuse", "start", "settle", "fail")


def available_case_actions(*, case: MediationCase, user) -> list[str]:
    """The steps ``user`` may take on ``case`` now: the state allows the move (django-fsm),
    and the role and scope allow the step — the mediation's own steps for the case's
    organisation's mediators, a withdrawal also for insurer staff in scope (as
    ``services.case_withdraw`` checks)."""
    if not user.has_perm("cases.view_mediationcase", case):
        return []
    moves = {t.name for t in case.get_available_status_transitions()}
    mediates = user.has_perm("cases.mediate_mediationcase", case)
    steps = [step for step in MEDIATOR_STEPS if mediates and step in moves]
    if "withdraw" in moves and (mediates or user.has_perm("cases.change_mediationcase", case)):
        steps.append("withdraw")
    return steps


def may_log_session(*, case: MediationCase, user) -> bool:
    return case.status in SESSION_STATES and user.has_perm("cases.mediate_mediationcase", case)
