"""No public page or API response carries a complainant's name, phone or ID number.

The demo data set (5,000 complaints with names, phones and ID numbers, mediation cases in
every state, published showcase cases and index runs) plus a few complaints with
unmistakable names made through the services are loaded; then an anonymous client requests
every URL pattern and every GET operation of the OpenAPI schema (parameters filled with
records from the database), follows every same-site link (breadth first, bounded), tries
the status look-up with a wrong phone, and every body is searched for the personal data.
Staff addresses must never answer an anonymous visitor with 200.
"""

import io
from collections import Counter, deque

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import NoReverseMatch, reverse

from cases import services as case_services
from cases.models import MediationCase, MediationOrganization, ShowcaseCase
from complaints import crypto
from complaints import services as complaint_services
from complaints.models import Attachment, Complaint, Extension
from insurers.models import Insurer, OrgUnit, ReceptionDay
from sqi.models import IndexRun
from tests.complaints.conftest import People, intake
from tests.factories import Tree

from .crawl import PersonalData, api_get_paths, fill, links, routes, text_of

pytestmark = pytest.mark.django_db

MAX_PAGES = 400
MAX_VARIANTS_PER_PATH = 4  # query-string variants (sorting, paging, filters) of one path
SKIP_PREFIXES = ("/static/", "/media/", "/accounts/logout/", "/i18n/")
# What an anonymous visitor may read; everything else must turn them away.
PUBLIC = (
    "/index/",
    "/insurers/",
    "/methodology/",
    "/cases/",
    "/complaints/new/",
    "/complaints/status/",
    "/accounts/login/",
    "/admin/login/",
    "/prefs/elder/",
    "/api/schema/",
    "/api/docs/",
    "/api/v1/showcase-cases/",
    "/api/v1/sqi/results/",
    "/api/v1/sqi/what-if/",
    "/healthz/",  # "ok" for the load balancer
)
STAFF_PREFIXES = ("/index/runs/", "/index/statistics/", "/index/claims/")
DISTINCT_NAMES = ("欧阳泄露", "司马测试", "诸葛隐私", "上官保密")


def is_public(path: str) -> bool:
    path = path.split("?")[0]
    if path.startswith(STAFF_PREFIXES):
        return False
    return path == "/" or path.startswith(PUBLIC)


@pytest.fixture
def world(db):
    # The demo first: it renumbers the tree paths of units that exist before it runs.
    call_command("seed_demo", stdout=io.StringIO())
    tree = Tree()
    people = People(tree)
    org = MediationOrganization.objects.create(name="示例测试调解中心", region="310000")
    made = []
    for i, name in enumerate(DISTINCT_NAMES):
        unit = tree.branch_a1 if i % 2 else tree.branch_a2
        made.append(
            complaint_services.complaint_create(
                by=None,  # the public form
                insurer=unit.insurer,
                org_unit=unit,
                **intake(complainant_name=name, complainant_phone=f"1399876{i:04d}"),
            )
        )
    complaint_services.complaint_accept(complaint=made[1], by=people.staff)
    case_services.case_open_from_complaint(complaint=made[1], organization=org, by=people.staff)
    case_services.case_apply(
        organization=org,
        insurer=tree.insurer_a,
        org_unit=tree.branch_a1,
        applicant_name="慕容申请",
        applicant_phone="13655554444",
        summary="直接申请调解，车险理赔金额争议。",
    )
    return made


def personal_data() -> PersonalData:
    rows = Complaint.objects.values_list(
        "complainant_name", "complainant_phone", "id_number_encrypted"
    )
    names, phones, ids = set(), set(), set()
    for name, phone, encrypted in rows:
        names.add(name)
        phones.add(phone)
        if encrypted:
            ids.add(crypto.decrypt(encrypted))
    for name, phone in MediationCase.objects.values_list("applicant_name", "applicant_phone"):
        names.add(name)
        phones.add(phone)
    return PersonalData(names=names, phones=phones, id_numbers=ids)


def parameter_values() -> dict[str, list[str]]:
    """Real records for every URL parameter name the project uses."""
    complaints = list(Complaint.objects.order_by("-pk").values_list("reference", flat=True)[:2])
    cases = list(MediationCase.objects.order_by("-pk").values_list("reference", flat=True)[:2])
    showcase = list(ShowcaseCase.objects.order_by("status", "pk").values_list("slug", flat=True))
    insurers = list(Insurer.objects.exclude(slug="").values_list("slug", flat=True)[:3])
    runs = list(IndexRun.objects.filter(status="published").select_related("period")[:3])
    units = list(OrgUnit.objects.order_by("pk").values_list("pk", flat=True)[:2])

    def ids(model) -> list[str]:
        return [str(pk) for pk in model.objects.order_by("pk").values_list("pk", flat=True)[:1]]

    pks = (
        ["1"] + ids(Extension) + ids(Attachment) + ids(ReceptionDay) + [str(r.pk) for r in runs[:1]]
    )
    return {
        "reference": complaints + cases,
        "complaint_reference": complaints,
        "slug": showcase[:2] + showcase[-1:] + insurers,
        "pk": list(dict.fromkeys(pks)),
        "id": list(dict.fromkeys(pks)),
        "unit_id": [str(u) for u in units],
        "month": ["2026-03", "2025-12"],
        "period": [r.period.code for r in runs],
        "peer_group": list(dict.fromkeys(r.peer_group for r in runs)),
        "fmt": ["csv", "xlsx", "json"],
        "action": ["accept"],
        "name": ["accept"],
    }


def seed_urls(values) -> list[str]:
    urls = ["/", "/index/", "/methodology/", "/cases/", "/complaints/status/", "/api/schema/"]
    for r in routes():
        kwargs_list = [{}]
        for p in r.params:
            kwargs_list = [dict(k, **{p: v}) for k in kwargs_list for v in values.get(p, [])[:3]]
        for kwargs in kwargs_list:
            try:
                urls.append(reverse(r.name, kwargs=kwargs))
            except NoReverseMatch:
                continue
    for path in api_get_paths():
        urls.extend(fill(path, values))
    # Public API lists answer more with their filters than without: the published ranking
    # of every run (it needs both parameters), and the showcase cases by year and insurer.
    for run in IndexRun.objects.filter(status="published").select_related("period")[:3]:
        urls.append(f"/api/v1/sqi/results/?period={run.period.code}&peer_group={run.peer_group}")
    for pk in Insurer.objects.order_by("pk").values_list("pk", flat=True)[:2]:
        urls.append(f"/api/v1/showcase-cases/?insurer={pk}")
    urls += ["/api/v1/showcase-cases/?year=2023", "/api/v1/showcase-cases/?page=2"]
    return list(dict.fromkeys(urls))


def test_anonymous_crawl_finds_no_personal_data(client, world):
    data = personal_data()
    assert {"欧阳泄露", "慕容申请"} <= data.names and len(data.id_numbers) > 1000
    queue = deque(seed_urls(parameter_values()))
    seen: set[str] = set(queue)
    variants: Counter[str] = Counter()
    leaks, staff_answered, statuses = [], [], Counter()
    fetched = 0
    while queue and fetched < MAX_PAGES:
        url = queue.popleft()
        response = client.get(url)
        fetched += 1
        statuses[response.status_code] += 1
        if url.startswith("/api/v1/sqi/results/?"):
            assert response.status_code == 200, url  # the ranking itself, not a 400
        if response.status_code == 200 and not is_public(url):
            staff_answered.append(url)
        text = text_of(response)
        if text is None:
            continue
        leaks.extend(f"{url}: {hit}" for hit in data.find(text))
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for link in links(text):
            base = link.split("?")[0]
            if link in seen or base.startswith(SKIP_PREFIXES):
                continue
            if "?" in link and variants[base] >= MAX_VARIANTS_PER_PATH:
                continue
            variants[base] += "?" in link
            seen.add(link)
            queue.append(link)

    # The status look-up: a real reference with a wrong phone, and a made-up one.
    own = world[0]
    for reference, phone in (
        (own.reference, "13000000000"),
        ("TS2026-999999", own.complainant_phone),
    ):
        response = client.post("/complaints/status/", {"reference": reference, "phone": phone})
        assert response.status_code in (200, 429)
        leaks.extend(f"status look-up {reference}: {h}" for h in data.find(text_of(response)))
        assert own.complainant_name not in response.content.decode()

    # With the right phone the complainant sees the status, but never the phone or the ID
    # number written back into the page.
    response = client.post(
        "/complaints/status/", {"reference": own.reference, "phone": own.complainant_phone}
    )
    assert response.status_code == 200 and own.reference in response.content.decode()
    own_hits = [h for h in data.find(text_of(response)) if not h.startswith("name")]
    leaks.extend(f"status look-up {own.reference} (right phone): {h}" for h in own_hits)

    # The search is not vacuous: the same search finds the data on a staff page.
    client.force_login(get_user_model().objects.filter(is_superuser=True).first())
    staff_page = text_of(client.get(f"/work/complaints/{own.reference}/"))
    assert any(own.complainant_name in hit for hit in data.find(staff_page))

    print(f"fetched {fetched} URLs, statuses {dict(statuses)}, queue left {len(queue)}")
    assert fetched > 100, fetched
    assert not leaks, "personal data in public responses:\n" + "\n".join(leaks[:50])
    assert not staff_answered, "staff pages answered an anonymous visitor:\n" + "\n".join(
        staff_answered
    )
