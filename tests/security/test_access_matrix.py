"""Who may open which record: every staff page and API endpoint that takes an object, as
every role, in the record's own unit and in the sibling unit.

The addresses come from the URL resolver and the OpenAPI schema (``crawl.routes`` and
``crawl.api_get_paths``); each parameter is filled with a record that belongs to branch A1
(or, for market-wide records, to nobody's subtree). The expected answer of each
(address, user) pair follows from DESIGN §1: in scope 200; out of scope 404 (never 403,
never 200); a role without the permission 403; anonymous a login redirect or 401/403.
"""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.shortcuts import resolve_url
from django.urls import NoReverseMatch, reverse

from cases import services as case_services
from cases.models import MediationOrganization, Mediator
from complaints import services as complaint_services
from insurers import roles
from insurers import services as insurer_services
from sqi.models import OperatingStatistic, Period
from tests.complaints.conftest import intake
from tests.factories import Tree, UserFactory, user_in

from .crawl import api_get_paths, routes, text_of

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class World:
    def __init__(self):
        tree = self.tree = Tree()
        a1, a2 = tree.branch_a1, tree.branch_a2
        self.users = {
            "staff_a1": user_in(a1, roles.STAFF),
            "staff_a2": user_in(a2, roles.STAFF),
            "staff_head_a": user_in(tree.head_a, roles.STAFF),
            "officer_a1": user_in(a1, roles.OFFICER, officer=True),
            "officer_a2": user_in(a2, roles.OFFICER, officer=True),
            "officer_head_a": user_in(tree.head_a, roles.OFFICER, officer=True),
            "staff_b": user_in(tree.head_b, roles.STAFF),
            "index_admin": UserFactory(roles=[roles.INDEX_ADMIN]),
            "superuser": UserFactory(is_superuser=True),
            "no_role_a1": user_in(a1),
        }
        sh = MediationOrganization.objects.create(name="示例上海调解中心", region="310000")
        bj = MediationOrganization.objects.create(name="示例北京调解中心", region="110000")
        for key, org in (("mediator_sh", sh), ("mediator_bj", bj)):
            user = UserFactory(roles=[roles.MEDIATOR])
            Mediator.objects.create(user=user, organization=org)
            self.users[key] = user
        staff = self.users["staff_a1"]

        def complaint():
            return complaint_services.complaint_create(
                by=staff,
                insurer=a1.insurer,
                org_unit=a1,
                **intake(complainant_name="欧阳矩阵", complainant_phone="13912340000"),
            )

        self.complaint = complaint()
        complaint_services.complaint_accept(complaint=self.complaint, by=staff)
        complaint_services.complaint_extend(complaint=self.complaint, by=staff, reason="复杂")
        self.extension = complaint_services.complaint_extend(
            complaint=self.complaint, by=staff, reason="特别复杂", complainant_notice="需鉴定"
        )
        self.attachment = complaint_services.attachment_add(
            complaint=self.complaint,
            by=staff,
            upload=SimpleUploadedFile("bill.pdf", PDF, content_type="application/pdf"),
        )
        escalated = complaint()
        complaint_services.complaint_accept(complaint=escalated, by=staff)
        self.case = case_services.case_open_from_complaint(
            complaint=escalated, organization=sh, by=staff
        )
        officer = a1.officers.get(user=self.users["officer_a1"])
        self.reception_day = insurer_services.reception_day_log(
            officer=officer, date=dt.date(2026, 2, 3), place="营业厅", consumers_met=7
        )
        self.officer = officer
        period, _ = Period.objects.get_or_create(code="2025")
        self.statistic = OperatingStatistic.objects.create(
            insurer=a1.insurer,
            period=period,
            product_line="motor",
            premium_cny=Decimal("1000000000"),
            policies_in_force=100000,
            source="admin",
        )

    def values(self, name: str) -> dict[str, str]:
        """The A1 record for each parameter of the address called ``name``."""
        is_case = "mediation" in name or name.startswith("cases:case") or "session" in name
        pk = {
            "complaints:attachment_download": self.attachment.pk,
            "complaint-attachment-download": self.attachment.pk,
            "complaints:extension_approve": self.extension.pk,
            "insurers:reception_day_edit": self.reception_day.pk,
            "reception-day-detail": self.reception_day.pk,
            "service-officer-detail": self.officer.pk,
            "org-unit-detail": self.tree.branch_a1.pk,
            "insurer-detail": self.tree.insurer_a.pk,
            "sqi-statistic-detail": self.statistic.pk,
        }.get(name)
        return {
            "reference": self.case.reference if is_case else self.complaint.reference,
            "complaint_reference": self.complaint.reference,
            "pk": str(pk) if pk else None,
            "id": str(pk) if pk else None,
            "unit_id": str(self.tree.branch_a1.pk),
            "month": "2026-03",
            "fmt": "csv",
            "action": "accept",
            "name": "accept",
        }


IN_A1 = {"staff_a1", "staff_head_a", "officer_a1", "officer_head_a", "superuser"}
OUT_OF_SCOPE = {"staff_a2", "officer_a2", "staff_b"}
NO_ROLE = {"no_role_a1", "index_admin", "mediator_sh", "mediator_bj"}


def expect_complaint():
    return {**dict.fromkeys(IN_A1, 200), **dict.fromkeys(OUT_OF_SCOPE, 404)} | dict.fromkeys(
        NO_ROLE, 403
    )


def expect_case():
    # Mediators see the cases sent to their organisation; another organisation's is 404.
    return expect_complaint() | {"mediator_sh": 200, "mediator_bj": 404}


def expect_unit():
    # Index administrators see everything statistical, market-wide.
    return expect_complaint() | {"index_admin": 200}


def expect_insurer():
    # Insurer A itself: every unit of insurer A sees it; insurer B's staff do not.
    return expect_unit() | {"staff_a2": 200, "officer_a2": 200}


def expect_escalate():
    # Officers are read-mostly: no escalation for them, whatever the unit (403).
    return expect_complaint() | dict.fromkeys(("officer_a1", "officer_head_a", "officer_a2"), 403)


def expect_reception_edit():
    # Officers edit their own reception days only; staff only read them.
    return expect_unit() | dict.fromkeys(("staff_a1", "staff_head_a", "officer_head_a"), 403)


def expect_market_wide():
    # Index statistics belong to no subtree: index administrators only.
    everyone = IN_A1 | OUT_OF_SCOPE | NO_ROLE
    return dict.fromkeys(everyone, 403) | {"index_admin": 200, "superuser": 200}


# address label (URL name or OpenAPI path) → expected answers. Checked in this order; the
# first pattern that matches the label decides. An unclassified address fails the test.
EXPECTED = [
    (r"escalate", expect_escalate),
    (r"reception_day_edit", expect_reception_edit),
    (r"mediation|^cases:case|session", expect_case),
    (r"complaint", expect_complaint),
    (r"^sqi:(dashboard|unit_report|what_if)", expect_unit),
    (r"org-unit|service-officer|reception-day", expect_unit),
    (r"insurers/\{id\}|insurer-detail", expect_insurer),
    (r"statistic", expect_market_wide),
]
# Object addresses not in the matrix, and why.
NOT_IN_MATRIX = {
    "cases:showcase_detail": "public (crawled anonymously in test_no_personal_data_leaks)",
    "cases:showcase_image": "public",
    "showcase-case-detail": "public",
    "/api/v1/showcase-cases/{slug}/": "public",
    "sqi:run_detail": "index runs: market-wide, index administrators (tests/sqi/runs)",
    "sqi:run_progress": "index runs",
    "sqi:run_inputs": "index runs",
    "sqi:run_publish": "index runs",
}
# Parameters that name a format, not a record: such addresses are lists, checked below.
FORMAT_ONLY = {("fmt",)}


def object_addresses(world) -> dict[str, str]:
    """label → URL for every page and GET endpoint that takes a record as a parameter."""
    out = {}
    for r in routes():
        if not r.params or r.params in FORMAT_ONLY:
            continue
        if r.name.startswith(("sqi:ranking", "sqi:insurer_profile")):  # public index pages
            continue
        values = world.values(r.name)
        try:
            out[r.name] = reverse(r.name, kwargs={p: values[p] for p in r.params})
        except (KeyError, TypeError, NoReverseMatch):
            out[r.name] = None
    for path in api_get_paths():
        params = re.findall(r"{(\w+)}", path)
        if not params:
            continue
        values = world.values(_api_name(path))
        url = path
        for param in params:
            url = url.replace("{" + param + "}", values.get(param) or "\0")
        out[path] = None if "\0" in url else url
    return out


def _api_name(path: str) -> str:
    """The URL name whose record an OpenAPI path takes (for ``World.values``)."""
    for key, name in (
        ("attachments/{id}/download", "complaint-attachment-download"),
        ("reception-days/{", "reception-day-detail"),
        ("service-officers/{", "service-officer-detail"),
        ("org-units/{", "org-unit-detail"),
        ("insurers/{", "insurer-detail"),
        ("statistics/{", "sqi-statistic-detail"),
        ("mediation-cases/{", "mediation-case"),
    ):
        if key in path:
            return name
    return path


def get_as(client, user, url):
    client.logout()
    if user is not None:
        client.force_login(user)
    return client.get(url)


def anonymous_turned_away(response) -> bool:
    """A page sends an anonymous visitor to the login page; the API answers 401/403."""
    if response.status_code == 302:
        return response["Location"].startswith(resolve_url(settings.LOGIN_URL))
    return response.status_code in (401, 403, 405)


def test_every_object_address_answers_the_expected_matrix(client):
    world = World()
    addresses = object_addresses(world)
    assert len(addresses) > 40, addresses
    users = [("anonymous", None), *world.users.items()]
    table, wrong, unclassified = [], [], []
    for label, url in sorted(addresses.items()):
        if label in NOT_IN_MATRIX:
            continue
        expect = next((e() for pattern, e in EXPECTED if re.search(pattern, label)), None)
        if url is None or expect is None:
            unclassified.append(label)
            continue
        row = {}
        for who, user in users:
            response = get_as(client, user, url)
            got = row[who] = response.status_code
            if who == "anonymous":
                ok = anonymous_turned_away(response)
            else:
                # 405: a POST-only address, which answers GET alike for every record.
                ok = got == expect[who] or got == 405
            if not ok:
                wrong.append(f"{label} as {who}: {got}, expected {expect.get(who, 'login')}")
        table.append((label, row))
    matrix = format_matrix(table, [u for u, _ in users])
    assert not unclassified, f"object addresses with no A1 record or no expectation: {unclassified}"
    assert not wrong, "\n".join(wrong) + "\n\n" + matrix
    print(f"\n{len(table)} object addresses x {len(users)} users\n{matrix}")


def test_lists_and_exports_hide_a1_records_from_other_scopes(client):
    """Every staff page and GET endpoint without a record parameter (workbench, lists,
    exports, boards, API lists) as the sibling unit's staff and officer, insurer B's staff
    and the other organisation's mediator: branch A1's complaint and case never appear.
    The index administrator sees no complainant's name, phone or ID number anywhere."""
    world = World()
    secrets = [world.complaint.reference, world.case.reference, world.case.complaint.reference]
    personal = [world.complaint.complainant_name, world.complaint.complainant_phone]
    urls = []
    for r in routes():
        if r.params and r.params not in FORMAT_ONLY:
            continue
        kwargs = dict.fromkeys(r.params, "csv")
        urls.append(reverse(r.name, kwargs=kwargs))
    urls += [p for p in api_get_paths() if "{" not in p]
    urls = sorted(set(urls))
    seen, wrong = 0, []
    for who in ("staff_a2", "officer_a2", "staff_b", "mediator_bj", "index_admin", "staff_a1"):
        found_anywhere = False
        for url in urls:
            response = get_as(client, world.users[who], url)
            if response.status_code != 200:
                continue
            seen += 1
            body = text_of(response) or ""
            found = [s for s in (personal if who == "index_admin" else secrets) if s in body]
            found_anywhere |= bool(found)
            if found and who != "staff_a1":
                wrong.append(f"{url} as {who}: {found}")
        if who == "staff_a1":  # the search is not vacuous: A1's own staff do see them
            assert found_anywhere
    assert seen > 40, seen
    assert not wrong, "\n".join(wrong)


def format_matrix(table, users) -> str:
    head = f"{'address':<52}" + "".join(f"{u[:10]:>11}" for u in users)
    lines = [head]
    for label, row in table:
        lines.append(f"{label[:52]:<52}" + "".join(f"{row[u]:>11}" for u in users))
    return "\n".join(lines)
