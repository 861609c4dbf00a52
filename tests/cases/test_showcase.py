"""Showcase cases: the award workflow and who may run it, body sanitising, bad input, images,
the public selectors (awarded only, filters, search, facets) and the demo loader."""

import io
import json
import os
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import translation
from django.utils.html import strip_tags
from PIL import Image

from cases import showcase
from cases import showcase_selectors as selectors
from cases.demo import DATA_FILE, DEMO_MARK, load_seed, showcase_demo_build
from cases.models import (
    BODY_MAX,
    AwardCategory,
    AwardProgramme,
    ShowcaseCase,
    ShowcaseImage,
    ShowcaseStatus,
)
from complaints.models import Complaint
from insurers import roles
from insurers.models import Insurer, Level, OrgUnit
from tests.factories import UserFactory, user_in

pytestmark = pytest.mark.django_db

S = ShowcaseStatus
EVIL_BODY = (
    '<p onclick="steal()">理赔<strong>很快</strong></p>'
    "<script>alert('xss')</script>"
    '<img src="x" onerror="alert(1)">'
    '<a href="javascript:alert(2)">点我</a>'
    '<a href="https://example.org/case">原文</a>'
    "<style>body{display:none}</style>"
    '<iframe src="https://evil.example"></iframe>'
)


# ---- fixtures (also used by test_showcase_pages.py) ----------------------------------------------


@pytest.fixture
def programme(db):
    prog = AwardProgramme.objects.create(
        name="示例年度服务创新案例", organiser="示例报社", year=2021, announced="2022-03"
    )
    AwardCategory.objects.create(programme=prog, name="金融业适老服务典型案例")
    AwardCategory.objects.create(programme=prog, name="年度影响力赔案")
    return prog


@pytest.fixture
def make_case(people, tree, programme):
    """``make_case(state, **fields)``: a case moved through the real services to ``state``."""

    def make(state=S.DRAFT, by=None, **fields):
        by = by or people.staff
        data = {
            "title": "长辈专属理赔服务",
            "programme": programme,
            "category": programme.categories.get(name="金融业适老服务典型案例"),
            "summary": "为老年客户提供上门理赔服务。",
            "body": "<p>客户无需奔波，理赔人员上门收取材料。</p>",
            "insurers": [tree.insurer_a],
            "tags": ["适老"],
            "figures": [{"label": "理赔时效", "value": "5.4", "unit": "天"}],
        }
        data.update(fields)
        case = showcase.showcase_create(by=by, **data)
        if state == S.DRAFT:
            return case
        showcase.showcase_submit(case=case, by=by)
        if state == S.SUBMITTED:
            return case
        showcase.showcase_start_review(case=case, by=people.index_admin)
        if state == S.IN_REVIEW:
            return case
        if state == S.AWARDED:
            showcase.showcase_award(case=case, by=people.index_admin)
        else:
            showcase.showcase_reject(case=case, by=people.index_admin, reason="材料不全")
        return case

    return make


def png(width=20, height=10, name="photo.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def status_in_db(case) -> str:
    return ShowcaseCase.objects.values_list("status", flat=True).get(pk=case.pk)


# ---- authoring ---------------------------------------------------------------------------------


def test_staff_create_a_draft_with_tags_figures_and_an_audited_history(make_case, people):
    case = make_case()
    assert case.status == S.DRAFT
    assert case.year == 2021  # the programme's
    assert case.slug == "2021-长辈专属理赔服务"
    assert [t.name for t in case.tags.all()] == ["适老"]
    assert case.tags.get().slug == "适老"
    figure = case.figures.get()
    assert (figure.label, str(figure.value), figure.unit) == ("理赔时效", "5.40", "天")
    first = case.history.earliest()
    assert first.history_user == people.staff and first.history_change_reason == "created"


def test_slugs_stay_unique_and_readable(make_case):
    first, second = make_case(), make_case()
    assert second.slug == first.slug + "-2"
    assert make_case(title="Online claims: 24/7!").slug == "2021-online-claims-247"


@pytest.mark.parametrize("role", [roles.OFFICER, roles.MEDIATOR])
def test_roles_without_the_add_permission_cannot_author(role, tree, programme):
    user = user_in(tree.branch_a1, role)
    with pytest.raises(PermissionDenied):
        showcase.showcase_create(by=user, title="x", summary="y", programme=programme)
    assert not ShowcaseCase.objects.exists()


def test_staff_name_only_insurers_in_their_scope(people, tree, programme):
    with pytest.raises(ValidationError) as exc:
        showcase.showcase_create(
            by=people.staff,
            title="别家的案例",
            summary="……",
            programme=programme,
            insurers=[tree.insurer_c],
        )
    assert "insurers" in exc.value.message_dict
    assert not ShowcaseCase.objects.exists()


def test_category_must_belong_to_the_programme(people, tree, programme):
    other = AwardProgramme.objects.create(name="另一个奖项", year=2023)
    wrong = AwardCategory.objects.create(programme=other, name="其他类别")
    with pytest.raises(ValidationError) as exc:
        showcase.showcase_create(
            by=people.staff,
            title="案例",
            summary="摘要",
            programme=programme,
            category=wrong,
            insurers=[tree.insurer_a],
        )
    assert list(exc.value.message_dict) == ["category"]


def test_bad_fields_are_all_named_and_nothing_is_saved(people, tree, programme):
    with pytest.raises(ValidationError) as exc:
        showcase.showcase_create(
            by=people.staff,
            title="",
            summary="",
            programme=programme,
            insurers=[tree.insurer_a],
            body="x" * (BODY_MAX + 1),
            figures=[{"label": "时效", "value": "很快", "unit": "天"}, {"label": "", "value": 1}],
            tags=["这是一个远远超过三十个字符长度限制的标签名称用来测试字段校验是否生效"],
        )
    errors = exc.value.message_dict
    assert {"title", "summary", "body", "figures", "tags"} <= set(errors)
    assert "50,000" in errors["body"][0]
    assert len(errors["figures"]) == 2
    assert not ShowcaseCase.objects.exists()


def test_an_oversized_body_is_refused_on_update_and_the_old_body_stays(make_case, people):
    case = make_case()
    with pytest.raises(ValidationError) as exc:
        showcase.showcase_update(case=case, by=people.staff, body="长" * (BODY_MAX + 1))
    assert list(exc.value.message_dict) == ["body"]
    assert (
        ShowcaseCase.objects.get(pk=case.pk).body == "<p>客户无需奔波，理赔人员上门收取材料。</p>"
    )


# ---- sanitising ----------------------------------------------------------------------------------


def test_the_body_is_sanitised_on_create(make_case):
    body = make_case(body=EVIL_BODY).body
    for bad in ("<script", "alert(", "onclick", "onerror", "javascript:", "<img", "<style",
                "<iframe", "display:none"):  # fmt: skip
        assert bad not in body, bad
    assert "<p>理赔<strong>很快</strong></p>" in body
    assert '<a href="https://example.org/case" rel="noopener noreferrer">原文</a>' in body
    assert "点我" in body  # the text of a bad link stays, without its href


def test_the_body_is_sanitised_on_update_too(make_case, people):
    case = make_case()
    showcase.showcase_update(case=case, by=people.staff, body=EVIL_BODY)
    stored = ShowcaseCase.objects.get(pk=case.pk).body
    assert "<script" not in stored and "alert(" not in stored and "javascript:" not in stored


def test_sanitiser_keeps_the_allowed_text_tags():
    html = (
        "<h3>做法</h3><h4>细节</h4><ul><li>一</li></ul><ol><li>二</li></ol><blockquote>引用"
        "</blockquote><p>a<br>b<em>c</em></p><table><caption>表</caption><thead><tr>"
        '<th scope="col">列</th></tr></thead><tbody><tr><td colspan="2">值</td></tr></tbody>'
        "</table>"
    )
    assert showcase.sanitise_body(html) == html
    assert showcase.sanitise_body("<h1>大标题</h1><div class='x'>块</div>") == "大标题块"


# ---- the workflow --------------------------------------------------------------------------------

ALLOWED = {
    (S.DRAFT, "submit"): S.SUBMITTED,
    (S.SUBMITTED, "start_review"): S.IN_REVIEW,
    (S.IN_REVIEW, "award"): S.AWARDED,
    (S.IN_REVIEW, "reject"): S.REJECTED,
}
STEPS = {
    "submit": (showcase.showcase_submit, "staff", {}),
    "start_review": (showcase.showcase_start_review, "index_admin", {}),
    "award": (showcase.showcase_award, "index_admin", {}),
    "reject": (showcase.showcase_reject, "index_admin", {"reason": "不符合评选条件"}),
}


@pytest.mark.parametrize("state", [S.DRAFT, S.SUBMITTED, S.IN_REVIEW, S.AWARDED, S.REJECTED])
@pytest.mark.parametrize("step", sorted(STEPS))
def test_every_transition_allowed_or_refused(state, step, make_case, people):
    case = make_case(state)
    service, actor, extra = STEPS[step]
    target = ALLOWED.get((state, step))
    if target is None:
        with pytest.raises(ValidationError) as exc:
            service(case=case, by=getattr(people, actor), **extra)
        assert list(exc.value.message_dict) == ["status"]
        assert status_in_db(case) == state
        return
    service(case=case, by=getattr(people, actor), **extra)
    assert status_in_db(case) == target
    latest = case.history.latest()
    assert latest.status == target and latest.history_user == getattr(people, actor)


def test_the_whole_path_records_who_did_what(make_case, people):
    case = make_case(S.AWARDED)
    case = ShowcaseCase.objects.get(pk=case.pk)
    assert case.submitted_by == people.staff
    assert case.reviewed_by == people.index_admin
    assert case.awarded_at is not None
    trail = []
    for h in case.history.order_by("history_date", "history_id"):
        assert h.history_user == (
            people.staff if h.status in ("draft", "submitted") else people.index_admin
        )
        if not trail or trail[-1] != (h.status, h.history_change_reason):  # m2m writes add rows
            trail.append((h.status, h.history_change_reason))
    assert trail == [
        (S.DRAFT, "created"),
        (S.SUBMITTED, "submitted"),
        (S.IN_REVIEW, "review started"),
        (S.AWARDED, "awarded"),
    ]


@pytest.mark.parametrize("step", ["start_review", "award", "reject"])
def test_staff_cannot_review_award_or_reject(step, make_case, people):
    state = S.SUBMITTED if step == "start_review" else S.IN_REVIEW
    case = make_case(state)
    service, _actor, extra = STEPS[step]
    for user in (people.staff, people.head_staff, people.head_officer, people.mediator):
        with pytest.raises(PermissionDenied):
            service(case=case, by=user, **extra)
    assert status_in_db(case) == state


def test_index_admin_and_superuser_award(make_case, people):
    make_case(S.IN_REVIEW)  # by the index administrator in make_case's path
    case = make_case(S.IN_REVIEW, title="第二个案例")
    showcase.showcase_award(case=case, by=UserFactory(is_superuser=True))
    assert status_in_db(case) == S.AWARDED


def test_an_index_admin_without_the_change_permission_cannot_award(make_case, people):
    case = make_case(S.IN_REVIEW)
    user = UserFactory()  # no role at all
    with pytest.raises(PermissionDenied):
        showcase.showcase_award(case=case, by=user)


def test_an_officer_cannot_submit(make_case, people):
    case = make_case()
    for user in (people.branch_officer, people.head_officer, people.mediator):
        with pytest.raises(PermissionDenied):
            showcase.showcase_submit(case=case, by=user)
    assert status_in_db(case) == S.DRAFT


def test_staff_outside_the_cases_scope_cannot_submit_it(make_case, tree):
    case = make_case()
    with pytest.raises(PermissionDenied):
        showcase.showcase_submit(case=case, by=user_in(tree.branch_c1, roles.STAFF))
    assert status_in_db(case) == S.DRAFT


def test_submitting_needs_programme_and_category(people, tree):
    case = showcase.showcase_create(
        by=people.staff, title="未完成", summary="摘要", year=2024, insurers=[tree.insurer_a]
    )
    with pytest.raises(ValidationError) as exc:
        showcase.showcase_submit(case=case, by=people.staff)
    assert set(exc.value.message_dict) == {"programme", "category"}
    assert status_in_db(case) == S.DRAFT


def test_rejecting_needs_a_reason_which_the_history_keeps(make_case, people):
    case = make_case(S.IN_REVIEW)
    for reason in ("", "   ", "太长" * 1001):
        with pytest.raises(ValidationError) as exc:
            showcase.showcase_reject(case=case, by=people.index_admin, reason=reason)
        assert list(exc.value.message_dict) == ["reason"]
    assert status_in_db(case) == S.IN_REVIEW
    long_reason = "缺少可核实的成效，" * 20  # longer than the history's 100-character column
    showcase.showcase_reject(case=case, by=people.index_admin, reason=long_reason)
    stored = ShowcaseCase.objects.get(pk=case.pk)
    assert showcase.showcase_rejection_reason(stored) == long_reason
    assert stored.history.first().history_change_reason == long_reason[:100]


def test_who_may_edit_in_which_state(make_case, people):
    draft = make_case()
    showcase.showcase_update(case=draft, by=people.staff, summary="新的摘要")
    assert ShowcaseCase.objects.get(pk=draft.pk).summary == "新的摘要"
    submitted = make_case(S.SUBMITTED, title="已提交")
    with pytest.raises(ValidationError) as exc:
        showcase.showcase_update(case=submitted, by=people.staff, summary="改不了")
    assert list(exc.value.message_dict) == ["status"]
    awarded = make_case(S.AWARDED, title="已获奖")
    showcase.showcase_update(case=awarded, by=people.index_admin, summary="更正错字")
    slug = awarded.slug
    showcase.showcase_update(case=awarded, by=people.index_admin, title="已获奖（更正）")
    assert ShowcaseCase.objects.get(pk=awarded.pk).slug == slug  # shared links keep working
    rejected = make_case(S.REJECTED, title="已驳回")
    with pytest.raises(ValidationError):
        showcase.showcase_update(case=rejected, by=people.index_admin, summary="不行")
    with pytest.raises(PermissionDenied):
        showcase.showcase_update(case=draft, by=people.branch_officer, summary="不行")


# ---- images --------------------------------------------------------------------------------------


def test_a_real_image_is_stored_with_its_size(make_case, people, media):
    case = make_case()
    image = showcase.showcase_image_add(
        case=case, by=people.staff, upload=png(40, 30), alt="上门理赔现场"
    )
    image.refresh_from_db()
    assert (image.width, image.height) == (40, 30)
    assert Path(image.image.path).is_file()
    assert case.history.latest().history_change_reason == "image added"


@pytest.mark.parametrize(
    "upload, fragment",
    [
        (SimpleUploadedFile("photo.png", b"not an image at all", "image/png"), "not an image"),
        (SimpleUploadedFile("photo.jpg", b"\xff\xd8\xff\xe0" + b"0" * 200, "image/jpeg"), "not"),
        (SimpleUploadedFile("empty.png", b"", "image/png"), "empty"),
    ],
)
def test_a_file_that_is_not_an_image_is_refused(upload, fragment, make_case, people, media):
    case = make_case()
    with pytest.raises(ValidationError) as exc, translation.override("en"):
        showcase.showcase_image_add(case=case, by=people.staff, upload=upload, alt="图")
    assert list(exc.value.message_dict) == ["image"]
    assert fragment in exc.value.message_dict["image"][0]
    assert not ShowcaseImage.objects.exists()
    assert not any(media.rglob("*.*"))


def test_an_oversized_image_is_refused(make_case, people, media):
    case = make_case()
    noise = Image.frombytes("RGB", (1400, 1400), os.urandom(1400 * 1400 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG", compress_level=0)
    big = SimpleUploadedFile("big.png", buffer.getvalue(), "image/png")
    assert big.size > showcase.IMAGE_MAX_BYTES
    with pytest.raises(ValidationError) as exc:
        showcase.showcase_image_add(case=case, by=people.staff, upload=big, alt="大图")
    assert list(exc.value.message_dict) == ["image"] and "5 MB" in exc.value.messages[0]
    with pytest.raises(ValidationError) as exc:
        showcase.showcase_image_add(case=case, by=people.staff, upload=png(4001, 10), alt="宽图")
    assert list(exc.value.message_dict) == ["image"] and "4001" in exc.value.messages[0]
    assert not ShowcaseImage.objects.exists()


def test_an_image_needs_a_text_alternative(make_case, people, media):
    with pytest.raises(ValidationError) as exc:
        showcase.showcase_image_add(case=make_case(), by=people.staff, upload=png(), alt=" ")
    assert list(exc.value.message_dict) == ["alt"]


def test_images_of_a_submitted_case_are_for_reviewers(make_case, people, media):
    case = make_case(S.SUBMITTED)
    with pytest.raises(ValidationError):
        showcase.showcase_image_add(case=case, by=people.staff, upload=png(), alt="图")
    showcase.showcase_image_add(case=case, by=people.index_admin, upload=png(), alt="图")


# ---- the public selectors ------------------------------------------------------------------------


@pytest.fixture
def gallery(make_case, programme, tree, people):
    """One case in each state, and three awarded ones that differ in every filter."""
    other = AwardProgramme.objects.create(name="示例2023年度优秀案例", year=2023)
    other_category = AwardCategory.objects.create(programme=other, name="优秀案例")
    claims = programme.categories.get(name="年度影响力赔案")
    cases = {state: make_case(state, title=f"状态{state}") for state in S.values}
    cases["elder"] = make_case(
        S.AWARDED,
        title="长辈服务专属通道",
        body="<p>在柜面为老年客户开设绿色通道，线上理赔也有人工协助。</p>",
        tags=["适老"],
    )
    cases["online"] = make_case(
        S.AWARDED,
        title="Claims in three minutes",
        summary="Fully automated online claims.",
        body="<p>全流程无人工理赔，最快三分钟结案。</p>",
        category=claims,
        tags=["线上理赔", "科技"],
    )
    cases["group"] = showcase.showcase_create(
        by=people.index_admin,
        title="集团消保宣教纪录片",
        programme=other,
        category=other_category,
        summary="以纪录片讲述一线服务。",
        org_units=[tree.group],
        tags=["消保宣教"],
    )
    showcase.showcase_submit(case=cases["group"], by=people.index_admin)
    showcase.showcase_start_review(case=cases["group"], by=people.index_admin)
    showcase.showcase_award(case=cases["group"], by=people.index_admin)
    cases["b"] = make_case(
        S.AWARDED,
        by=user_in(tree.head_b, roles.STAFF),
        title="寿险保全线上办",
        insurers=[tree.insurer_b],
        tags=[],
    )
    return cases


def titles(qs) -> set[str]:
    return {c.title for c in qs}


def test_only_awarded_cases_are_public(gallery):
    public = titles(selectors.public_showcases())
    assert public == {
        f"状态{S.AWARDED}",
        "长辈服务专属通道",
        "Claims in three minutes",
        "集团消保宣教纪录片",
        "寿险保全线上办",
    }
    for state in (S.DRAFT, S.SUBMITTED, S.IN_REVIEW, S.REJECTED):
        assert selectors.showcase_get_public(gallery[state].slug) is None
    assert selectors.showcase_get_public(gallery["online"].slug) == gallery["online"]


def test_filters(gallery, programme, tree):
    online, group = gallery["online"], gallery["group"]
    assert titles(selectors.public_showcases({"year": 2023})) == {group.title}
    assert group.title not in titles(selectors.public_showcases({"programme": programme.pk}))
    assert titles(selectors.public_showcases({"category": online.category_id})) == {online.title}
    assert titles(selectors.public_showcases({"tag": "线上理赔"})) == {online.title}
    assert titles(selectors.public_showcases({"insurer": tree.insurer_b.pk})) == {"寿险保全线上办"}
    # a group: cases awarded to the group itself and to every insurer in it
    assert len(selectors.public_showcases({"group": tree.group.pk})) == 5
    assert titles(selectors.public_showcases({"tag": "适老", "year": 2021})) == {
        f"状态{S.AWARDED}",
        "长辈服务专属通道",
    }


@pytest.mark.parametrize(
    "q, expected",
    [
        (
            "理赔",
            {"长辈服务专属通道", "Claims in three minutes", f"状态{S.AWARDED}", "寿险保全线上办"},
        ),
        ("绿色通道", {"长辈服务专属通道"}),  # from the middle of a body
        ("三分钟", {"Claims in three minutes"}),
        ("automated", {"Claims in three minutes"}),  # an English word of a summary
        ("CLAIMS", {"Claims in three minutes"}),
        ("纪录片", {"集团消保宣教纪录片"}),
        ("没有这个词", set()),
    ],
)
def test_search_in_chinese_and_english(gallery, q, expected):
    assert titles(selectors.public_showcases({"q": q})) == expected


def test_search_never_reaches_a_draft(gallery):
    assert titles(selectors.public_showcases({"q": f"状态{S.DRAFT}"})) == set()


@pytest.mark.postgres
def test_postgres_full_text_and_contains_search(gallery):
    assert connection.vendor == "postgresql"
    assert titles(selectors.public_showcases({"q": "理赔"})) >= {
        "长辈服务专属通道",
        "Claims in three minutes",
    }
    assert titles(selectors.public_showcases({"q": "绿色通道"})) == {"长辈服务专属通道"}
    # websearch syntax: two English words anywhere, in any order
    assert titles(selectors.public_showcases({"q": "online automated"})) == {
        "Claims in three minutes"
    }
    assert titles(selectors.public_showcases({"q": "automated -online"})) == set()
    assert titles(selectors.public_showcases({"q": "minutes"})) == {"Claims in three minutes"}


def test_facets_count_the_other_filters_only(gallery, tree):
    facets = selectors.showcase_facets({"year": 2021})
    years = {o.value: o.count for o in facets["year"]}
    assert years == {"2021": 4, "2023": 1}  # the year facet ignores the year filter
    assert [o.selected for o in facets["year"]] == [False, True]
    tags = {o.label: o.count for o in facets["tag"]}
    assert tags == {"适老": 2, "线上理赔": 1, "科技": 1}  # only 2021's
    groups = {o.label: o.count for o in facets["group"]}
    assert groups == {"示例集团": 4}
    assert {o.label for o in facets["insurer"]} == {
        tree.insurer_a.short_name,
        tree.insurer_b.short_name,
    }


def test_figure_text():
    from decimal import Decimal

    assert selectors.figure_text(Decimal("5.70")) == "5.7"
    assert selectors.figure_text(Decimal("800.00")) == "800"
    assert selectors.figure_text(Decimal("0.14")) == "0.14"


# ---- the demo loader -----------------------------------------------------------------------------


def test_demo_builder_loads_every_case_of_the_data_file_once():
    data = load_seed()
    first = showcase_demo_build()
    assert first.created == len(data["cases"]) == 16
    assert ShowcaseCase.objects.filter(status=S.AWARDED).count() == len(data["cases"])
    again = showcase_demo_build()
    assert again.created == again.insurers == again.programmes == 0
    assert ShowcaseCase.objects.count() == len(data["cases"])  # no demo people: no drafts
    for row in data["cases"]:
        case = ShowcaseCase.objects.get(title=row["title"], programme__name=row["programme"])
        assert case.category.name == row["category"]
        assert case.year == case.programme.year
        assert sorted(t.name for t in case.tags.all()) == sorted(row["tags"])
        figures = [(f.label, float(f.value), f.unit) for f in case.figures.all()]
        assert figures == [(f["label"], float(f["value"]), f["unit"]) for f in row["figures"]]
        assert case.is_demo_text
        assert case.summary.endswith(DEMO_MARK)
        assert strip_tags(case.body).endswith(DEMO_MARK)
        awardees = [i.short_name for i in case.insurers.all()] + [
            u.name for u in case.org_units.all()
        ]
        assert awardees == [row["insurer"]]
    for programme in data["programmes"]:
        stored = AwardProgramme.objects.get(name=programme["name"])
        assert stored.year == programme["year"]
        assert sorted(stored.categories.values_list("name", flat=True)) == sorted(
            programme["categories"]
        )


def test_demo_builder_creates_the_real_insurers_plainly():
    showcase_demo_build()
    data = load_seed()
    for row in data["insurers"]:
        insurer = Insurer.objects.get(name_zh=row["name"])
        assert insurer.short_name == row["short_name"]
        assert insurer.licence_type == row["licence"]
        assert insurer.credit_code is None
        assert insurer.group.name == row["group"] and insurer.group.level == Level.GROUP
        head = OrgUnit.objects.get(insurer=insurer, level=Level.HEAD_OFFICE)
        assert OrgUnit.objects.get_parent(head) == insurer.group
    real = Insurer.objects.filter(name_zh__in=[r["name"] for r in data["insurers"]])
    assert not Complaint.objects.filter(insurer__in=real).exists()
    assert not OrgUnit.objects.filter(insurer__in=real, level=Level.BRANCH).exists()


def test_demo_builder_adds_fictional_cases_in_each_workflow_state(tree):
    tree.insurer_a.name_zh = "示例甲财产保险股份有限公司"  # a fictional demo insurer
    tree.insurer_a.save()
    user_in(tree.branch_a1, roles.STAFF, username="demo_staff")
    UserFactory(username="demo_index_admin", roles=[roles.INDEX_ADMIN])
    showcase_demo_build()
    fictional = ShowcaseCase.objects.filter(title__startswith="示例")
    assert sorted(fictional.values_list("status", flat=True)) == sorted(
        [S.DRAFT, S.SUBMITTED, S.REJECTED]
    )
    assert all(c.insurers.get() == tree.insurer_a for c in fictional)
    assert not titles(selectors.public_showcases()) & set(fictional.values_list("title", flat=True))
    showcase_demo_build()
    assert ShowcaseCase.objects.filter(title__startswith="示例").count() == 3
    # after ``seed_demo --reset`` removes the 示例 insurers the invented cases are rebuilt
    ShowcaseCase.insurers.through.objects.filter(insurer=tree.insurer_a).delete()
    showcase_demo_build()
    assert (
        ShowcaseCase.objects.filter(title__startswith="示例", insurers=tree.insurer_a).count() == 3
    )


def test_the_repo_copy_of_the_data_file_matches_the_projects():
    shared = Path(__file__).resolve().parents[3] / "shared" / "data" / "showcase_seed.json"
    if not shared.exists():
        pytest.skip("no shared/ beside this clone")
    assert json.loads(DATA_FILE.read_text("utf-8")) == json.loads(shared.read_text("utf-8"))


def test_seed_demo_loads_the_cases_and_reset_keeps_the_real_ones():
    from django.core.management import call_command

    call_command("seed_demo", stdout=io.StringIO())
    real = dict(
        ShowcaseCase.objects.filter(status=S.AWARDED).values_list("slug", "pk").order_by("slug")
    )
    insurers = set(Insurer.objects.exclude(name_zh__startswith="示例").values_list("pk", flat=True))
    assert len(real) == 16 and len(insurers) == 5
    fictional = ShowcaseCase.objects.filter(title__startswith="示例")
    assert sorted(fictional.values_list("status", flat=True)) == sorted(
        [S.DRAFT, S.SUBMITTED, S.REJECTED]
    )
    call_command("seed_demo", "--reset", stdout=io.StringIO())
    # the real insurers and awarded cases stay as they were (same rows, same links) ...
    assert (
        dict(
            ShowcaseCase.objects.filter(status=S.AWARDED).values_list("slug", "pk").order_by("slug")
        )
        == real
    )
    assert (
        set(Insurer.objects.exclude(name_zh__startswith="示例").values_list("pk", flat=True))
        == insurers
    )
    # ... and the invented cases are rebuilt for the new 示例 insurer of demo_staff
    assert fictional.count() == 3
    assert all(c.insurers.get().name_zh.startswith("示例") for c in fictional)
