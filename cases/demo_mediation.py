"""Demo mediation: fictional mediation organisations (示例…调解中心), their mediators, and
cases in every state opened from the demo complaints that were escalated.

Complaints still escalated get a mediation under way (applied, accepted, in mediation);
complaints closed after their escalation get a concluded one (settled, failed, refused,
withdrawn) dated on the day they closed, as the services would have done. The rows are
written in bulk with their timelines and sessions. Deterministic for
a seed. No history rows are written for demo data.
"""

import datetime
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from complaints.models import Complaint, Status
from insurers import roles

from .models import (
    CaseEvent,
    CaseReferenceCounter,
    CaseStatus,
    MediationCase,
    MediationOrganization,
    MediationSession,
    Mediator,
    SessionMode,
)

MARK = "示例"
ORGANISATIONS = [
    ("示例上海银行业保险业纠纷调解中心", "310000", "上海市示例路 1 号（演示）"),
    ("示例北京银行业保险业纠纷调解中心", "110000", "北京市示例街 2 号（演示）"),
    ("示例广东银行业保险业纠纷调解中心", "440000", "广州市示例大道 3 号（演示）"),
]
EXTRA_MEDIATORS = ["demo_mediator_bj", "demo_mediator_gd"]
# The order cases are dealt in: every state appears, settlements most often.
OPEN_STATES = [CaseStatus.APPLIED, CaseStatus.ACCEPTED, CaseStatus.IN_MEDIATION]
CONCLUDED = [
    CaseStatus.SETTLED,
    CaseStatus.SETTLED,
    CaseStatus.FAILED,
    CaseStatus.SETTLED,
    CaseStatus.WITHDRAWN,
    CaseStatus.REFUSED,
]
OUTCOMES = {
    CaseStatus.FAILED: "双方对赔付金额分歧较大，未能达成调解协议（演示数据）",
    CaseStatus.WITHDRAWN: "申请人与保险公司自行和解，撤回调解申请（演示数据）",
}
REFUSAL = "争议已进入诉讼程序，不属于调解受理范围（演示数据）"
TERMS = "保险公司于协议签署后 10 个工作日内一次性支付调解金额，双方就本争议再无其他纠纷（演示数据）"


def mediation_demo_present() -> bool:
    return MediationCase.objects.filter(organization__name__startswith=MARK).exists()


@transaction.atomic
def mediation_demo_remove() -> int:
    """Remove demo mediation cases (before their complaints go) and organisations."""
    cases = MediationCase.objects.filter(organization__name__startswith=MARK)
    count = cases.count()
    cases.delete()
    Mediator.objects.filter(organization__name__startswith=MARK).delete()
    MediationOrganization.objects.filter(name__startswith=MARK).delete()
    return count


def _mediator_users() -> list:
    User = get_user_model()
    base = User.objects.filter(username="demo_mediator").first()
    if base is None:
        return []
    group = Group.objects.get(name=roles.MEDIATOR)
    users = [base]
    for name in EXTRA_MEDIATORS:
        user, _created = User.objects.get_or_create(
            username=name,
            defaults={
                "password": base.password,  # the demo password, already hashed
                "is_staff": True,
                "last_name": "调解员",
                "first_name": name.rsplit("_", 1)[-1].upper(),
                "email": f"{name}@example.invalid",
            },
        )
        user.groups.add(group)
        users.append(user)
    return users


def _organisation_for(complaint: Complaint, orgs: list[MediationOrganization], rng) -> int:
    region = complaint.org_unit.region[:2]
    for index, org in enumerate(orgs):
        if org.region[:2] == region:
            return index
    return rng.randrange(len(orgs))


@transaction.atomic
def mediation_demo_build(*, size: str = "small", seed: int = 1) -> dict[str, int]:
    """A case for every demo complaint that was escalated and has none yet (``size`` is
    implied by the complaints already built; it is accepted for symmetry)."""
    rng = random.Random(seed)
    orgs = []
    for name, region, contact in ORGANISATIONS:
        org, _ = MediationOrganization.objects.get_or_create(
            name=name, defaults={"region": region, "contact": contact}
        )
        orgs.append(org)
    mediators = _mediator_users()
    for user, org in zip(mediators, orgs, strict=False):
        Mediator.objects.get_or_create(user=user, defaults={"organization": org})

    escalated = Complaint.objects.filter(
        escalated_at__isnull=False,
        insurer__name_zh__startswith=MARK,
        mediation_case__isnull=True,
    ).select_related("org_unit")
    # Still escalated: the mediation is under way. Closed since: it has concluded, on the day
    # the complaint was closed.
    open_complaints = list(escalated.filter(status=Status.ESCALATED).order_by("escalated_at", "pk"))
    done_complaints = list(escalated.filter(status=Status.CLOSED).order_by("escalated_at", "pk"))
    now = timezone.now()
    today = timezone.localdate()
    cases, plans = [], []
    for index, complaint in enumerate(open_complaints + done_complaints):
        concluded = complaint.closed_at if complaint.status == Status.CLOSED else None
        cycle = OPEN_STATES if concluded is None else CONCLUDED
        state = cycle[index % len(cycle)]
        org = orgs[_organisation_for(complaint, orgs, rng)]
        applied = complaint.escalated_at
        if concluded is not None:
            accepted = applied + (concluded - applied) / 4
        else:
            accepted = min(applied + datetime.timedelta(days=rng.randint(1, 4)), now)
        claimed = complaint.amount_in_dispute
        fields = {
            "organization": org,
            "complaint": complaint,
            "insurer_id": complaint.insurer_id,
            "org_unit_id": complaint.org_unit_id,
            "claimed_amount": claimed,
            "summary": complaint.narrative,
            "status": state,
            "applied_at": applied,
        }
        if state not in (CaseStatus.APPLIED, CaseStatus.REFUSED):
            fields["accepted_at"] = accepted
        if state == CaseStatus.SETTLED:
            base = claimed if claimed is not None else Decimal("5000")
            signed = timezone.localtime(concluded).date()
            fields.update(
                settlement_amount=(base * Decimal(rng.randint(50, 100)) / 100).quantize(
                    Decimal("0.01")
                ),
                settlement_terms=TERMS,
                signed_on=signed,
                concluded_at=concluded,
            )
            if rng.random() < 0.2:
                fields.update(
                    judicially_confirmed=True,
                    court="示例区人民法院（演示）",
                    confirmed_on=min(signed + datetime.timedelta(days=rng.randint(3, 15)), today),
                )
        elif state in OUTCOMES:
            fields.update(outcome_note=OUTCOMES[state], concluded_at=concluded)
        elif state == CaseStatus.REFUSED:
            fields.update(refusal_reason=REFUSAL, concluded_at=concluded)
        cases.append(MediationCase(**fields))
        plans.append((state, applied, accepted, concluded))

    _number(cases)
    MediationCase.objects.bulk_create(cases, batch_size=1000)
    sessions, case_events = [], []
    for case, (state, applied, accepted, concluded) in zip(cases, plans, strict=True):
        case_events.append(CaseEvent(case=case, at=applied, text="由投诉转入调解（演示数据）"))
        steps = []
        if state == CaseStatus.REFUSED:
            steps = [(CaseStatus.APPLIED, CaseStatus.REFUSED, concluded, REFUSAL)]
        elif state != CaseStatus.APPLIED:
            steps.append((CaseStatus.APPLIED, CaseStatus.ACCEPTED, accepted, ""))
            if state != CaseStatus.ACCEPTED:
                steps.append((CaseStatus.ACCEPTED, CaseStatus.IN_MEDIATION, accepted, ""))
            if state in (CaseStatus.SETTLED, CaseStatus.FAILED, CaseStatus.WITHDRAWN):
                steps.append(
                    (CaseStatus.IN_MEDIATION, state, concluded, OUTCOMES.get(state, TERMS))
                )
        for before, after, at, text in steps:
            case_events.append(
                CaseEvent(case=case, at=at, from_status=before, to_status=after, text=text)
            )
        if state in (CaseStatus.IN_MEDIATION, CaseStatus.SETTLED, CaseStatus.FAILED):
            last = concluded or timezone.now()
            for number in range(rng.randint(1, 2)):
                day = accepted + (last - accepted) * (number + 1) / 3
                sessions.append(
                    MediationSession(
                        case=case,
                        date=timezone.localtime(day).date(),
                        mode=rng.choice(SessionMode.values),
                        attendees="申请人、保险公司代表、调解员（演示数据）",
                        notes="双方陈述意见，调解员释明相关条款（演示数据）",
                        next_step="双方考虑调解方案" if number == 0 else "",
                    )
                )
    MediationSession.objects.bulk_create(sessions, batch_size=1000)
    CaseEvent.objects.bulk_create(case_events, batch_size=1000)
    return {"organisations": len(orgs), "cases": len(cases), "sessions": len(sessions)}


def _number(cases: list[MediationCase]) -> None:
    """Case references per year of application, in order."""
    by_year: dict[int, list[MediationCase]] = {}
    for case in sorted(cases, key=lambda c: c.applied_at):
        by_year.setdefault(timezone.localtime(case.applied_at).year, []).append(case)
    for year, items in by_year.items():
        CaseReferenceCounter.objects.get_or_create(year=year)
        CaseReferenceCounter.objects.filter(year=year).update(last=F("last") + len(items))
        last = CaseReferenceCounter.objects.values_list("last", flat=True).get(year=year)
        for number, case in enumerate(items, start=last - len(items) + 1):
            case.reference = f"TJ{year}-{number:06d}"
