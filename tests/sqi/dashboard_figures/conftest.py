"""Hand-built fixtures for the dashboard figures: complaints driven through the real services
on a frozen clock, so that states, due dates, first decisions and timeline events are exactly
what the product writes.

The clock starts at 2026-03-02 09:00 (Asia/Shanghai); ``Stories`` moves it to each step's
day. Handling steps are taken by a superuser (the figures do not care who handles), the
second extension is approved by the service officer one level up as the rules require.
"""

import datetime as dt
from decimal import Decimal

import pytest

from cases import services as case_services
from cases.models import MediationOrganization, Mediator
from complaints import services
from insurers import roles
from insurers import services as insurer_services
from tests.complaints.conftest import clock, intake, people
from tests.factories import UserFactory

D = dt.date


class Stories:
    def __init__(self, tree, people, clock):
        self.tree, self.people, self.clock = tree, people, clock
        self.admin = UserFactory(is_superuser=True, username="figures-admin")
        self.org = MediationOrganization.objects.create(
            name="示例上海银行业保险业纠纷调解中心", region="310000"
        )
        self.mediator = UserFactory(roles=[roles.MEDIATOR])
        Mediator.objects.create(user=self.mediator, organization=self.org)

    def at(self, day: dt.date, hour: int = 9) -> None:
        self.clock.move_to(day, hour)

    def complaint(
        self,
        received: dt.date,
        *,
        unit=None,
        accept: bool = True,
        decline: bool = False,
        extend: int = 0,
        extend_on: dt.date | None = None,
        pause: tuple[dt.date, dt.date] | None = None,
        decide: dt.date | None = None,
        decision: str = "upheld",
        close: tuple[dt.date, str] | None = None,
        review: tuple[dt.date, dt.date | None, str] | None = None,
        hour: int = 9,
        **overrides,
    ):
        """A complaint received on ``received`` at ``unit`` (branch A1 by default) and taken
        through the steps given, each on its day (steps are done at ``hour`` o'clock)."""
        unit = unit or self.tree.branch_a1
        by = self.admin
        self.at(received, hour)
        c = services.complaint_create(
            by=by, insurer=unit.insurer, org_unit=unit, **intake(**overrides)
        )
        if decline:
            return services.complaint_decline(complaint=c, by=by, reason="duplicate")
        if not accept:
            return c
        c = services.complaint_accept(complaint=c, by=by)
        if pause:
            self.at(pause[0], hour)
            services.complaint_pause(complaint=c, by=by, kind="appraisal", reason="司法鉴定")
            self.at(pause[1], hour)
            c = services.complaint_resume(complaint=c, by=by)
        for step in range(1, extend + 1):
            self.at(extend_on or received + dt.timedelta(days=5), hour)
            if step == 1:
                services.complaint_extend(complaint=c, by=by, reason="案情复杂")
            else:
                ext = services.complaint_extend(
                    complaint=c, by=by, reason="需要补充调查", complainant_notice="延长至60日"
                )
                approver = services.extension_approver(complaint=c)
                services.extension_approve(extension=ext, by=approver.user)
            c.refresh_from_db()
        if decide:
            self.at(decide, hour)
            c = services.complaint_decide(complaint=c, by=by, decision=decision, reply="答复")
        if close:
            self.at(close[0], hour)
            c = services.complaint_close(complaint=c, by=by, satisfaction=close[1])
        if review:
            asked, decided, second = review
            self.at(asked, hour)
            c = services.complaint_request_review(complaint=c, by=by, reason="不服")
            if decided:
                self.at(decided, hour)
                c = services.complaint_decide(complaint=c, by=by, decision=second, reply="核查")
        c.refresh_from_db()
        return c

    def escalate(self, complaint, day: dt.date, *, settle: dt.date | None = None,
                 fail: dt.date | None = None, signed: dt.date | None = None):  # fmt: skip
        self.at(day)
        case = case_services.case_open_from_complaint(
            complaint=complaint, organization=self.org, by=self.admin
        )
        if settle or fail:
            case = case_services.case_accept(case=case, by=self.mediator)
            case = case_services.case_start(case=case, by=self.mediator)
        if settle:
            self.at(settle)
            case = case_services.case_settle(
                case=case,
                by=self.mediator,
                amount=Decimal("1000"),
                terms="赔付",
                signed_on=signed or settle,
            )
        if fail:
            self.at(fail)
            case = case_services.case_fail(case=case, by=self.mediator, note="未达成")
        return case

    def apply(self, unit, day: dt.date, *, settle: dt.date | None = None):
        """A direct application (no complaint behind it)."""
        self.at(day)
        case = case_services.case_apply(
            organization=self.org,
            insurer=unit.insurer,
            org_unit=unit,
            applicant_name="李四",
            applicant_phone="13900000000",
            summary="直接申请调解",
            by=self.mediator,
        )
        if settle:
            case = case_services.case_accept(case=case, by=self.mediator)
            case = case_services.case_start(case=case, by=self.mediator)
            self.at(settle)
            case = case_services.case_settle(
                case=case, by=self.mediator, amount=Decimal("10"), terms="和解", signed_on=settle
            )
        return case

    def reception(self, officer_user, unit, day: dt.date, met: int, open_: int = 0):
        officer = unit.officers.get(user=officer_user, ended__isnull=True)
        return insurer_services.reception_day_log(
            officer=officer, date=day, place="营业厅", consumers_met=met, follow_ups_open=open_
        )


@pytest.fixture
def stories(tree, people, clock):
    return Stories(tree, people, clock)


__all__ = ["D", "Stories", "clock", "people"]
