"""``POST /api/v1/sqi/what-if/``: the same answer as the methodology, for the insurer's own
people and index administrators only; bad input is a 400 naming the field; nothing saved."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from sqi import methodology as m
from sqi.models import IndexResult, IndexRun
from tests.factories import InsurerFactory, UserFactory

URL = "/api/v1/sqi/what-if/"
CHANGES = {
    "payment_cycle_days": {"delta": -1},
    "complaints_per_100m_premium": {"percent": -10},
}


def ask(user, body: dict | None = None, **overrides):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    payload = {"period": "2025", "peer_group": "life", "insurer": "L01", "changes": CHANGES}
    payload.update(body or {})
    payload.update(overrides)
    return client.post(URL, payload, format="json")


@pytest.mark.django_db
def test_answer_is_the_methodology_what_if(published, org):
    response = ask(org.officer1)
    assert response.status_code == 200, response.json()
    data = response.json()
    expected = m.what_if(published.inputs, "L01", CHANGES)
    assert data["period"] == "2025" and data["peer_group"] == "life" and data["insurer"] == "L01"
    assert data["ranked"] == expected["ranked"] == 7
    assert data["before"] == expected["before"]
    assert data["after"] == expected["after"]
    assert data["changes"] == expected["changes"]
    assert data["derived"] == expected["derived"]
    assert set(data["derived"]) == {"payment_cycle_yoy_improvement", "complaints_yoy_improvement"}
    stored = IndexResult.objects.get(run=published, insurer=org.l01)
    assert data["before"]["rank"] == stored.rank
    assert Decimal(repr(data["before"]["total"])) == stored.total


@pytest.mark.django_db
def test_no_change_answers_the_published_result(published, org):
    data = ask(org.officer1, changes={}).json()
    assert data["before"] == data["after"]
    assert data["changes"] == {} and data["derived"] == {}


@pytest.mark.django_db
def test_nothing_is_saved(published, org):
    counts = IndexRun.objects.count(), IndexResult.objects.count()
    with CaptureQueriesContext(connection) as ctx:
        assert ask(org.officer1).status_code == 200
    writes = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []
    assert (IndexRun.objects.count(), IndexResult.objects.count()) == counts


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["officer1", "staff1", "chief", "admin"])
def test_the_insurers_people_and_index_admins_may_ask(published, org, who):
    assert ask(getattr(org, who)).status_code == 200


@pytest.mark.django_db
def test_others_are_turned_away(published, org):
    assert ask(None).status_code == 403
    assert ask(org.mediator).status_code == 403
    assert ask(UserFactory()).status_code == 403  # signed in, no role
    # L02's officer works for another insurer: as if L01 did not exist
    assert ask(org.officer2).status_code == 404
    assert ask(org.officer1, insurer="no-such-insurer").status_code == 404


@pytest.mark.django_db
def test_nothing_published_is_404(life_market, org):
    assert ask(org.admin).status_code == 404
    assert ask(org.admin, period="2024").status_code == 404


@pytest.mark.django_db
def test_bad_input_is_400_naming_the_field(published, org):
    def errors(**body):
        response = ask(org.admin, **body)
        assert response.status_code == 400, response.content
        return response.json()

    assert "speed" in errors(changes={"speed": {"delta": 1}})["changes"]
    got = errors(changes={"payment_cycle_days": {"delta": "soon"}})
    assert "delta" in got["changes"]["payment_cycle_days"]
    got = errors(changes={"complaints_per_100m_premium": {"percent": -101}})
    assert "percent" in got["changes"]["complaints_per_100m_premium"]
    got = errors(changes={"payment_cycle_days": {"delta": -1, "percent": 5}})
    assert "payment_cycle_days" in got["changes"]
    got = errors(changes={"payment_cycle_days": {"delta": -1000}})
    assert "payment_cycle_days" in got["changes"]
    assert "period" in errors(period="last year")
    assert "peer_group" in errors(peer_group="banks")
    assert "changes" in errors(changes="faster")


@pytest.mark.django_db
def test_insurer_not_in_the_run_is_400(published, org):
    """An insurer the user may see but that the run does not score."""
    newcomer = InsurerFactory(licence_type="life", group=org.group)
    from insurers.models import Level
    from tests.factories import unit

    unit(Level.HEAD_OFFICE, insurer=newcomer, parent=org.group)
    response = ask(org.chief, insurer=newcomer.slug)
    assert response.status_code == 400
    assert "insurer" in response.json()


@pytest.mark.django_db
def test_schema_documents_the_endpoint_without_warnings():
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
