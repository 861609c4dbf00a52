"""The admin of the index's inputs: statistics saved through the services, read-only records,
methodologies checked by the model, scoped for officers, constant query counts."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sqi.models import (
    ComplaintStatistic,
    IndexRun,
    Methodology,
    OperatingStatistic,
    Period,
    RawClaim,
    Source,
    StatisticsImport,
)
from tests.factories import InsurerFactory

from .conftest import client_for

pytestmark = pytest.mark.django_db

ADMIN = "/admin/sqi/"


def grow(n, *, periods, people):
    """n insurers, each with one statistic, raw claim and complaint statistic, and n imports."""
    for i, insurer in enumerate(InsurerFactory.create_batch(n)):
        record = StatisticsImport.objects.create(
            kind="claims", by=people.index_admin, file_name=f"{i}.csv", sha256=f"{i:064d}", rows=1
        )
        OperatingStatistic.objects.create(
            insurer=insurer,
            period=periods["2025"],
            product_line="motor",
            premium_cny=1000,
            source=Source.IMPORT,
            source_import=record,
        )
        RawClaim.objects.create(
            insurer=insurer,
            claim_no=f"C{i}",
            product_line="motor",
            incident_date=dt.date(2025, 3, 1),
            report_date=dt.date(2025, 3, 2),
            close_date=dt.date(2025, 3, 5),
            outcome="paid",
            source_import=record,
        )
        ComplaintStatistic.objects.create(
            insurer=insurer,
            period=periods["2025"],
            product_line="motor",
            complaints=3,
            elder_complaints=1,
            computed_at=timezone.now(),
        )


@pytest.mark.parametrize(
    "model",
    [
        "operatingstatistic",
        "rawclaim",
        "statisticsimport",
        "complaintstatistic",
        "period",
        "methodology",
    ],
)
def test_changelist_queries_are_constant(people, periods, model):
    url = f"{ADMIN}{model}/"

    def queries():
        client = client_for(people.index_admin)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    grow(2, periods=periods, people=people)
    small = queries()
    grow(12, periods=periods, people=people)
    assert queries() == small


def test_index_admin_adds_a_statistic_through_the_service(people, tree, periods):
    client = client_for(people.index_admin)
    response = client.post(
        f"{ADMIN}operatingstatistic/add/",
        {
            "insurer": tree.insurer_a.pk,
            "period": periods["2025"].pk,
            "product_line": "motor",
            "claims_closed": "10",
            "claims_paid": "9",
            "premium_cny": "1000.00",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    statistic = OperatingStatistic.objects.get()
    assert statistic.source == Source.ADMIN
    assert statistic.history.get().history_user == people.index_admin


@pytest.mark.parametrize(
    ("figures", "field"),
    [
        ({"claims_closed": "10", "claims_paid": "11"}, "claims_paid"),
        ({"premium_cny": "0"}, "premium_cny"),
        ({"claims_reported": "-3"}, "claims_reported"),
    ],
)
def test_admin_form_names_the_field(people, tree, periods, figures, field):
    client = client_for(people.index_admin)
    data = {"insurer": tree.insurer_a.pk, "period": periods["2025"].pk, "product_line": "motor"}
    response = client.post(f"{ADMIN}operatingstatistic/add/", {**data, **figures})

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not OperatingStatistic.objects.exists()


def test_officers_see_only_their_insurers_statistics(people, tree, periods):
    for insurer in (tree.insurer_a, tree.insurer_c):
        OperatingStatistic.objects.create(
            insurer=insurer, period=periods["2025"], product_line="motor", source="demo"
        )
    people.officer.is_staff = True
    people.officer.save()
    response = client_for(people.officer).get(f"{ADMIN}operatingstatistic/")

    assert response.status_code == 200
    shown = {s.insurer for s in response.context["cl"].result_list}
    assert shown == {tree.insurer_a}


def test_imports_and_complaint_statistics_are_read_only(people, periods):
    grow(1, periods=periods, people=people)
    client = client_for(people.index_admin)
    for model, obj in (
        ("statisticsimport", StatisticsImport.objects.get()),
        ("complaintstatistic", ComplaintStatistic.objects.get()),
    ):
        assert client.get(f"{ADMIN}{model}/add/").status_code == 403
        page = client.get(f"{ADMIN}{model}/{obj.pk}/change/")
        assert page.status_code == 200 and page.context["has_change_permission"] is False
        assert client.post(f"{ADMIN}{model}/{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    assert StatisticsImport.objects.count() == 1


def test_raw_claims_cannot_be_added_by_hand(people):
    assert client_for(people.index_admin).get(f"{ADMIN}rawclaim/add/").status_code == 403


def test_period_admin_derives_everything_from_the_code(people):
    client = client_for(people.index_admin)
    assert client.post(f"{ADMIN}period/add/", {"code": "2026H2"}).status_code == 302
    period = Period.objects.get()
    assert (period.kind, period.year, period.half, period.start) == (
        "half",
        2026,
        2,
        dt.date(2026, 7, 1),
    )
    response = client.post(f"{ADMIN}period/add/", {"code": "26"})
    assert "code" in response.context["adminform"].form.errors


# ---- methodologies ------------------------------------------------------------------------


def methodology_form(**overrides) -> dict:
    default = Methodology.objects.get(is_default=True)
    data = {
        "version": "SQI-TEST",
        "title": "test",
        "scoring": default.scoring,
        "scoring_floor": "50",
        "weighting": "fixed",
        "indicators": json.dumps(default.indicators),
        "dimensions": json.dumps(default.dimensions),
        "weights": json.dumps(default.weights),
        "winsorize": "null",
        "notes": "",
    }
    data.update(overrides)
    return data


def test_methodology_weights_not_summing_to_one_are_refused_naming_field_and_group(people):
    weights = Methodology.objects.get(is_default=True).weights
    weights["life"]["surrender_rate"] = 0.05  # life now sums to 0.9
    client = client_for(people.index_admin)
    response = client.post(
        f"{ADMIN}methodology/add/", methodology_form(weights=json.dumps(weights))
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["weights"]
    assert "life" in errors["weights"][0] and "sum to 1" in errors["weights"][0]
    assert not Methodology.objects.filter(version="SQI-TEST").exists()


def test_a_good_methodology_is_saved_with_history(people):
    client = client_for(people.index_admin)
    response = client.post(f"{ADMIN}methodology/add/", methodology_form())

    assert response.status_code == 302, response.context["adminform"].form.errors
    methodology = Methodology.objects.get(version="SQI-TEST")
    assert methodology.history.count() == 1


def test_the_model_refuses_weights_not_summing_to_one():
    methodology = Methodology.objects.get(is_default=True)
    methodology.weights["property"]["claim_payment_rate"] = 0.3
    with pytest.raises(Exception) as caught:
        methodology.full_clean()
    assert list(caught.value.message_dict) == ["weights"]
    assert caught.value.message_dict["weights"][0].startswith("property:")


def test_a_methodology_that_has_runs_is_frozen(people, periods):
    methodology = Methodology.objects.get(is_default=True)
    IndexRun.objects.create(period=periods["2025"], peer_group="property", methodology=methodology)
    page = client_for(people.index_admin).get(f"{ADMIN}methodology/{methodology.pk}/change/")

    form = page.context["adminform"].form
    assert set(form.fields) == {"is_default", "notes"}
