"""Demo mediation: organisations, mediators and cases in every state, consistent with the
complaints behind them."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from cases import selectors
from cases.demo_mediation import mediation_demo_build, mediation_demo_present
from cases.models import CaseStatus, MediationCase, MediationSession
from complaints.models import Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(db):
    call_command("seed_demo", "--seed", "5")


def test_every_state_with_consistent_complaints(seeded):
    assert mediation_demo_present()
    states = set(MediationCase.objects.values_list("status", flat=True))
    assert states == set(CaseStatus.values)
    for case in MediationCase.objects.select_related("complaint"):
        concluded = case.status in (
            CaseStatus.SETTLED, CaseStatus.FAILED, CaseStatus.REFUSED, CaseStatus.WITHDRAWN
        )  # fmt: skip
        assert case.complaint.status == (Status.CLOSED if concluded else Status.ESCALATED)
        assert case.insurer_id == case.complaint.insurer_id
        assert (case.concluded_at is not None) == concluded
        if case.status == CaseStatus.SETTLED:
            assert case.settlement_amount is not None and case.signed_on is not None
            assert case.events.filter(to_status=CaseStatus.SETTLED).exists()
    assert MediationSession.objects.exists()
    references = list(MediationCase.objects.values_list("reference", flat=True))
    assert len(set(references)) == len(references)


def test_demo_mediator_sees_own_organisations_cases(seeded):
    mediator = get_user_model().objects.get(username="demo_mediator")
    mine = selectors.case_list(user=mediator)
    assert mine.exists()
    assert set(mine.values_list("organization__name", flat=True)) == {
        mediator.mediator.organization.name
    }


def test_rerun_adds_nothing_and_reset_rebuilds(seeded):
    before = MediationCase.objects.count()
    assert mediation_demo_build(size="small", seed=5)["cases"] == 0  # every escalation has a case
    call_command("seed_demo", "--seed", "5")
    assert MediationCase.objects.count() == before
    call_command("seed_demo", "--seed", "5", "--reset")
    assert MediationCase.objects.count() == before
