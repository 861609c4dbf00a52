# ruff: noqa: F811 - the fixtures are shared with test_showcase.py by importing them
"""The public gallery, case pages and API: awarded cases only (for everyone, signed in or
not), sanitised bodies, filters and search in the address, constant query counts, and the
admin's workflow actions."""

from urllib.parse import quote, urlencode

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from cases import showcase, views_showcase
from cases.models import ShowcaseCase, ShowcaseStatus
from tests.cases.test_showcase import (  # noqa: F401 - fixtures
    EVIL_BODY,
    gallery,
    make_case,
    media,
    png,
    programme,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

S = ShowcaseStatus
LIST = reverse("cases:showcase_list")
API = "/api/v1/showcase-cases/"
HIDDEN = (S.DRAFT, S.SUBMITTED, S.IN_REVIEW, S.REJECTED)


def page_url(case) -> str:
    return reverse("cases:showcase_detail", args=[case.slug])


def clients(people):
    """Anonymous, the case's author, an index administrator and a superuser."""
    made = {"anonymous": None}
    for name, user in (
        ("staff", people.staff),
        ("index_admin", people.index_admin),
        ("superuser", UserFactory(is_superuser=True)),
    ):
        made[name] = user
    return made


# ---- only awarded cases, for everyone -----------------------------------------------------------


def test_gallery_lists_awarded_cases_only(client, gallery):
    response = client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    for case in ("elder", "online", "group", "b", S.AWARDED):
        assert gallery[case].title in html
        assert page_url(gallery[case]) in html
    for state in HIDDEN:
        assert gallery[state].title not in html
        assert gallery[state].slug not in html
    assert response.context["page"].paginator.count == 5


@pytest.mark.parametrize("who", ["anonymous", "staff", "index_admin", "superuser"])
def test_no_unawarded_case_is_reachable_by_anyone(who, client, gallery, people):
    user = clients(people)[who]
    api = APIClient()
    if user is not None:
        client.force_login(user)
        api.force_authenticate(user)
    for state in HIDDEN:
        case = gallery[state]
        assert client.get(page_url(case)).status_code == 404, (who, state)
        assert api.get(f"{API}{case.slug}/").status_code == 404, (who, state)
        assert not listed(client.get(LIST, {"q": case.title}))
    in_api = {row["slug"] for row in api.get(API).json()["results"]}
    assert not in_api & {gallery[state].slug for state in HIDDEN}
    assert client.get(page_url(gallery["online"])).status_code == 200
    assert api.get(f"{API}{gallery['online'].slug}/").status_code == 200


def test_a_case_page_shows_the_case(client, gallery):
    case = gallery["online"]
    response = client.get(page_url(case))
    html = response.content.decode()
    assert response.status_code == 200
    assert case.title in html and case.summary in html
    assert "全流程无人工理赔" in html  # the body
    assert "5.4" in html and "5.40" not in html  # the key figure, without trailing zeros
    assert f"{LIST}?tag={quote('科技')}" in html  # tags link to the filtered gallery


def test_script_in_a_body_never_reaches_the_page_or_the_api(client, make_case, people):
    case = make_case(S.AWARDED, body=EVIL_BODY)
    stored = ShowcaseCase.objects.get(pk=case.pk).body
    assert "<script" not in stored and "onerror" not in stored and "javascript:" not in stored
    html = client.get(page_url(case)).content.decode()
    for bad in ("alert(", "steal()", "onerror", "onclick", "javascript:", "evil.example",
                "display:none"):  # fmt: skip
        assert bad not in html, bad
    assert "<strong>很快</strong>" in html
    body = APIClient().get(f"{API}{case.slug}/").json()["body"]
    assert "alert(" not in body and "javascript:" not in body


def test_a_body_written_around_the_services_is_still_sanitised_on_the_page(client, make_case):
    case = make_case(S.AWARDED)
    ShowcaseCase.objects.filter(pk=case.pk).update(body="<p>正文</p><script>alert(1)</script>")
    html = client.get(page_url(case)).content.decode()
    assert "alert(1)" not in html and "<p>正文</p>" in html


def test_a_demo_text_is_labelled(client, make_case):
    case = make_case(S.AWARDED, is_demo_text=True)
    assert "sc-demo-note" in client.get(page_url(case)).content.decode()


def test_images_are_shown_and_served_only_for_awarded_cases(client, make_case, people, media, rf):
    awarded = make_case(S.AWARDED)
    shown = showcase.showcase_image_add(
        case=awarded, by=people.index_admin, upload=png(40, 30), alt="上门理赔现场"
    )
    draft = make_case(title="草稿")
    hidden = showcase.showcase_image_add(case=draft, by=people.staff, upload=png(), alt="草稿图")
    html = client.get(page_url(awarded)).content.decode()
    assert 'alt="上门理赔现场"' in html and 'width="40" height="30"' in html
    response = views_showcase.showcase_image(rf.get("/"), awarded.slug, shown.pk)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    response.file_to_stream.close()  # not response.close(): that ends the "request"
    for slug, pk in ((draft.slug, hidden.pk), (awarded.slug, hidden.pk), (awarded.slug, 999)):
        with pytest.raises(Http404):
            views_showcase.showcase_image(rf.get("/"), slug, pk)
    images = APIClient().get(f"{API}{awarded.slug}/").json()["images"]
    assert [(i["alt"], i["width"], i["height"]) for i in images] == [("上门理赔现场", 40, 30)]


# ---- filters and search in the address ---------------------------------------------------------


def listed(response) -> set[str]:
    return {c.title for c in response.context["cases"]}


def test_gallery_filters_are_shareable_get_parameters(client, gallery, programme, tree):
    online = gallery["online"]
    assert listed(client.get(LIST, {"year": 2023})) == {"集团消保宣教纪录片"}
    assert "集团消保宣教纪录片" not in listed(client.get(LIST, {"programme": programme.pk}))
    assert listed(client.get(LIST, {"category": online.category_id})) == {online.title}
    assert listed(client.get(LIST, {"tag": "线上理赔"})) == {online.title}
    assert listed(client.get(LIST, {"insurer": tree.insurer_b.pk})) == {"寿险保全线上办"}
    assert len(listed(client.get(LIST, {"group": tree.group.pk}))) == 5
    response = client.get(LIST, {"tag": "适老", "year": 2021, "q": "绿色通道"})
    assert listed(response) == {"长辈服务专属通道"}
    html = response.content.decode()
    # the applied filters show as chips, each with a link that removes it
    without_tag = urlencode({"q": "绿色通道", "year": 2021}).replace("&", "&amp;")
    assert f'href="?{without_tag}"' in html  # the tag's chip removes the tag, keeps the rest
    assert 'aria-current="true"' in html  # the selected tag


@pytest.mark.parametrize(
    "q, expected",
    [("理赔", "Claims in three minutes"), ("绿色通道", "长辈服务专属通道"), ("automated", None)],
)
def test_gallery_search(client, gallery, q, expected):
    titles = listed(client.get(LIST, {"q": q}))
    assert (expected or "Claims in three minutes") in titles
    assert not titles & {gallery[s].title for s in HIDDEN}


def test_bad_filters_are_reported_and_left_out(client, gallery):
    response = client.get(LIST, {"year": "abc", "tag": "适老"})
    assert response.status_code == 200
    assert response.context["bad_filters"]
    assert listed(response) == {f"状态{S.AWARDED}", "长辈服务专属通道"}
    assert client.get(LIST, {"page": "999"}).status_code == 200


def test_nothing_found_says_so(client, gallery):
    response = client.get(LIST, {"q": "没有这个词"})
    assert response.status_code == 200 and "sc-empty" in response.content.decode()


def test_api_filters_and_search(gallery, tree):
    api = APIClient()
    titles = lambda **p: {r["title"] for r in api.get(API, p).json()["results"]}  # noqa: E731
    assert titles(year=2023) == {"集团消保宣教纪录片"}
    assert titles(tag="线上理赔") == {"Claims in three minutes"}
    assert titles(insurer=tree.insurer_b.pk) == {"寿险保全线上办"}
    assert titles(q="绿色通道") == {"长辈服务专属通道"}
    assert titles(q="automated") == {"Claims in three minutes"}
    assert len(titles(group=tree.group.pk)) == 5
    assert api.get(API, {"year": "abc"}).status_code == 400
    row = next(r for r in api.get(API, {"tag": "线上理赔"}).json()["results"])
    assert row["figures"] == [{"label": "理赔时效", "value": "5.40", "unit": "天"}]
    assert row["awardees"][0]["kind"] == "insurer"
    assert row["url"] == page_url(gallery["online"])
    group_row = api.get(API, {"year": 2023}).json()["results"][0]
    assert group_row["awardees"] == [
        {"kind": "group", "id": tree.group.pk, "name": "示例集团", "short_name": "示例集团"}
    ]


def test_api_is_read_only(gallery, people):
    api = APIClient()
    api.force_authenticate(people.index_admin)
    assert api.post(API, {"title": "x"}, format="json").status_code == 405
    slug = gallery["online"].slug
    assert api.delete(f"{API}{slug}/").status_code == 405


# ---- query counts ------------------------------------------------------------------------------


def _queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def _add_awarded(make_case, n: int, start: int) -> None:
    for i in range(start, start + n):
        make_case(
            S.AWARDED,
            title=f"案例{i}",
            tags=["适老", f"标签{i}"],
            figures=[{"label": "时效", "value": i, "unit": "天"}, {"label": "件数", "value": 2}],
        )


def test_gallery_and_api_query_counts_stay_constant(client, make_case, gallery):
    api = APIClient()
    pages = [
        lambda: client.get(LIST),
        lambda: client.get(LIST, {"tag": "适老", "q": "案例"}),
        lambda: api.get(API),
        lambda: api.get(API, {"q": "理赔", "year": 2021}),
        lambda: client.get(page_url(gallery["online"])),
    ]
    _add_awarded(make_case, 2, 0)
    before = [_queries(p) for p in pages]
    _add_awarded(make_case, 12, 100)
    after = [_queries(p) for p in pages]
    assert before == after
    assert max(after) <= 16, after


# ---- admin actions -----------------------------------------------------------------------------


def _action(client, action, cases, **extra):
    data = {"action": action, "_selected_action": [c.pk for c in cases], **extra}
    return client.post(reverse("admin:cases_showcasecase_changelist"), data, follow=True)


def test_admin_actions_run_the_workflow(client, make_case, people):
    draft, other = make_case(), make_case(title="另一个")
    client.force_login(people.staff)
    _action(client, "submit_showcases", [draft])
    assert ShowcaseCase.objects.get(pk=draft.pk).status == S.SUBMITTED
    # staff do not even see the reviewers' actions
    changelist = client.get(reverse("admin:cases_showcasecase_changelist")).content.decode()
    assert "submit_showcases" in changelist and "award_showcases" not in changelist
    response = _action(client, "award_showcases", [draft])
    assert ShowcaseCase.objects.get(pk=draft.pk).status == S.SUBMITTED
    client.force_login(people.index_admin)
    _action(client, "start_review_showcases", [draft])
    _action(client, "award_showcases", [draft, other])  # the draft one cannot: said per case
    assert ShowcaseCase.objects.get(pk=draft.pk).status == S.AWARDED
    assert ShowcaseCase.objects.get(pk=other.pk).status == S.DRAFT
    response = _action(client, "award_showcases", [other])
    messages = [str(m) for m in response.context["messages"]]
    assert any("另一个" in m for m in messages)


def test_admin_reject_asks_for_a_reason(client, make_case, people):
    case = make_case(S.IN_REVIEW)
    client.force_login(people.index_admin)
    response = _action(client, "reject_showcases", [case])
    assert response.status_code == 200 and 'name="reason"' in response.content.decode()
    assert ShowcaseCase.objects.get(pk=case.pk).status == S.IN_REVIEW
    response = _action(client, "reject_showcases", [case], apply="1", reason="")
    assert ShowcaseCase.objects.get(pk=case.pk).status == S.IN_REVIEW
    _action(client, "reject_showcases", [case], apply="1", reason="缺少成效数据")
    case = ShowcaseCase.objects.get(pk=case.pk)
    assert case.status == S.REJECTED
    assert showcase.showcase_rejection_reason(case) == "缺少成效数据"
