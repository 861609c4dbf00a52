"""Showcase cases for the demo: real award announcements, plus a few invented drafts.

``data/showcase_seed.json`` lists award programmes, categories and awarded cases exactly as
public announcements (2022-03 and 2024-04) published them: titles, awardees and key figures
are facts. The insurers named there are real companies and are created under their real
names, with their groups, and nothing else: no credit code we cannot verify, no statistics,
no complaints, no staff. The summaries and texts below are ours, written for the demo: each
case is flagged ``is_demo_text`` and each text ends with （演示文字）.

A few invented cases of a 示例 insurer (from the fictional demo data) sit in draft, submitted
and rejected, under an invented programme, so that the workflow has something to show;
none of them is ever public.

Idempotent: programmes, categories, insurers and cases are looked up by name (a case by
title and programme) and only what is missing is created. ``seed_demo --reset`` removes only
fictional (示例) data, so the real insurers and awarded cases stay; the invented cases lose
their 示例 insurer with it and are rebuilt by the next run.
"""

import datetime
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.html import escape

from insurers import services as insurer_services
from insurers.models import Insurer, Level, OrgUnit
from insurers.selectors import insurer_list

from . import showcase
from .models import AwardCategory, AwardProgramme, ShowcaseCase, ShowcaseStatus
from .showcase_selectors import figure_text

DATA_FILE = Path(__file__).parent / "data" / "showcase_seed.json"
DEMO_MARK = "（演示文字）"
CLOSING = "本页摘要与正文为演示而写；标题、奖项与关键数据来自公开的获奖公告。" + DEMO_MARK

# Our own words for each awarded case: (summary, opening paragraph, ideas worth borrowing).
# They describe what the title says and repeat only the announcement's figures.
TEXTS: dict[str, tuple[str, str, list[str]]] = {
    "以“太保服务”纪录片创新与消费者的沟通方式": (
        "用纪录片讲述一线服务人员的工作，以真实的服务场景代替条款式的说教，让消费者更直观地"
        "了解保险服务和自己的权益。",
        "这一案例把消费者权益保护宣传从条款解读转向影像叙事：镜头对准一线服务人员，呈现保险"
        "服务中普通人看得懂的环节。",
        ["用故事说明服务，降低理解门槛", "让一线服务人员成为宣教的讲述者",
         "把消保宣教与日常的服务沟通结合起来"],
    ),
    "消保宣教创新案例": (
        "围绕金融消费者权益保护宣传教育探索新的形式与内容，帮助消费者识别风险、了解自己的"
        "权利和维权渠道。",
        "消保宣教的难点，在于让消费者从“知道”变成“会用”。这一案例以宣教创新为主题，关注"
        "宣教内容是否贴近消费者的实际需要。",
        ["从消费者常见的疑问出发设计内容", "把权利和维权渠道讲清楚", "把宣教做成持续的工作"],
    ),
    "《养老金发展指数（2020）》": (
        "以指数的方式观察养老金发展状况，为公众理解养老储备、提升养老金融素养提供参考。",
        "这份指数报告是研究型的消保宣教成果：它不推销产品，而是帮助公众和行业看清养老金发展"
        "的整体状况。",
        ["用指标帮助公众建立养老储备意识", "为行业讨论提供共同的参照",
         "以研究成果支撑长期的金融教育"],
    ),
    "《居民养老规划与风险管理白皮书》": (
        "以白皮书梳理居民在养老规划和风险管理方面的需求与问题，为适老化服务提供依据。",
        "白皮书关注居民如何为养老做准备、可能面临哪些风险，以及保险服务可以在哪些环节提供"
        "帮助。",
        ["以客户需求研究为适老服务打基础", "把养老规划与风险管理放在一起看",
         "让研究结论服务于产品和服务改进"],
    ),
    "“长辈服务”专属适老品牌": (
        "为老年客户打造专属的服务品牌，把适老化要求集中落实到面向长辈的各项服务中。",
        "适老化服务不只是把字放大。这一案例以“长辈服务”为品牌，把面向老年客户的服务要求集中"
        "起来，便于持续落实，也便于老年客户识别。",
        ["以专属品牌统一适老服务的要求", "关注老年客户在各个服务环节遇到的实际困难",
         "让老年客户知道去哪里找帮助"],
    ),
    "智慧助老，服务适老——打造老年人专属服务": (
        "把数字化工具与有温度的人工服务结合起来，为老年客户提供更容易使用的专属服务。",
        "“智慧助老”和“服务适老”相互补充：技术用来减少老年客户的操作负担，人工服务则照顾到"
        "技术够不着的地方。",
        ["数字化服务为老年人做减法", "保留人工服务作为兜底", "把老年客户的反馈用于持续改进"],
    ),
    "“风险雷达”精准风险管理服务": (
        "借助数据和技术识别客户面临的风险并提前提示，把保险服务从事后赔付延伸到事前防范。",
        "“风险雷达”的思路是防患于未然：在自然灾害等风险到来之前识别风险、提醒客户，帮助客户"
        "减少损失。",
        ["把服务前移到出险之前", "用数据和技术让风险提示更精准", "防灾减损与理赔服务相互衔接"],
    ),
    "数字化驱动服务“芯”体验": (
        "以数字化改造保全等日常服务，让客户在线上就能办理，并在关键节点得到主动服务。",
        "保全服务（如信息变更、续期等）办理频繁，最能体现服务是否便捷。这一案例以数字化为"
        "抓手，提升客户办理日常业务的体验。",
        ["让常办业务在线上办得成、办得快", "在服务的关键节点主动联系客户",
         "以数字化手段衡量服务效果"],
    ),
    "云南野生动物肇事公众责任创新服务案例": (
        "以公众责任保险为野生动物肇事造成的损失提供补偿，在保护野生动物与保障群众利益之间"
        "找到平衡。",
        "野生动物肇事造成的损失，过去往往难以及时得到补偿。这一案例以公众责任保险为工具，"
        "并以线上方式便利受损群众报案和理赔。",
        ["用保险机制化解人与野生动物的矛盾", "理赔流程贴近基层群众的实际", "让补偿更及时、更透明"],
    ),
    "长期百万医疗理赔案例：让普通家庭不再为高额治疗费而担忧": (
        "通过长期医疗保险的理赔服务，帮助罹患重病的客户家庭减轻高额医疗费用的负担。",
        "高额的治疗费用是许多家庭的担忧。这一案例讲述长期医疗保险如何在客户最需要的时候"
        "发挥保障作用。",
        ["让保障在客户最需要时兑现", "理赔服务关注家庭的实际困难",
         "以理赔案例帮助公众理解医疗保险"],
    ),
    "异地冷链配送，守护客户“生命线”——跨省市冷链配送药品案例": (
        "为需要特殊药品的客户安排跨省市冷链配送，把健康保险服务从赔付延伸到用药保障。",
        "一些特殊药品需要全程冷链保存。这一案例中，保险公司为身处异地的客户协调跨省市的冷链"
        "配送，保障客户按时用药。",
        ["把服务延伸到客户的实际用药需求", "跨地区协调资源解决具体困难",
         "以服务细节体现健康保险的价值"],
    ),
    "提醒报案主动赔": (
        "在客户可能符合理赔条件时主动提醒报案，把“客户来找”变为“主动服务”。",
        "理赔中常见的问题是客户不知道自己可以申请理赔，或者忘记了申请。这一案例在客户可能"
        "符合条件时主动提醒，帮助客户及时获得赔付。",
        ["主动发现客户可能的理赔需求", "用提醒减少“应赔未赔”", "以时效数据衡量服务效果"],
    ),
    "全流程无人工理赔": (
        "借助规则判定和自动化处理，让符合条件的理赔案件从申请到结案全程无需人工干预。",
        "对于事实清楚、金额适中的理赔案件，自动化处理可以大大缩短客户的等待。这一案例以大量"
        "判定规则支撑全流程的自动理赔。",
        ["让简单案件自动、快速结案", "以规则保证判定一致", "把人工留给更复杂的案件"],
    ),
    "“四位一体”柜面服务": (
        "以“四位一体”的思路提升柜面服务，让到柜面的客户获得更完整的服务体验。",
        "柜面仍是许多客户、特别是老年客户办理业务的首选。这一案例以柜面为阵地，开展大量柜面"
        "活动并关注客户满意度。",
        ["发挥柜面贴近客户的优势", "把业务办理与宣教、关怀结合起来", "以客户满意度检验服务"],
    ),
    "特色适老化服务": (
        "结合老年客户的需求开展适老化服务和改造，让老年人办理保险业务更方便。",
        "这一案例把适老化当作一项系统工作：既有面向老年客户的服务，也有逐项推进的适老化改造"
        "任务。",
        ["把适老化拆成可落实的改造任务", "服务覆盖老年客户常办的业务", "持续跟踪适老化服务的规模"],
    ),
    "在线理赔工厂": (
        "以集中化、线上化的理赔作业方式提升理赔效率，缩短客户等待理赔的时间。",
        "“理赔工厂”把分散的理赔作业集中到线上，以标准化的流程处理案件，提高效率。",
        ["以线上集中作业提升理赔效率", "用标准流程保证服务质量", "以时效和产能衡量改进效果"],
    ),
}  # fmt: skip

# Invented, clearly fictional cases that show the workflow (never public).
DEMO_PROGRAMME = {
    "name": "示例·年度消保服务案例征集（演示）",
    "organiser": "示例保险行业协会（演示）",
    "year": 2025,
    "announced": "",
}
DEMO_CATEGORY = "示例·消保服务创新类"
DEMO_CASES = [
    ("示例：社区长辈保险知识课堂", ShowcaseStatus.DRAFT, ["适老", "消保宣教"], ""),
    ("示例：理赔材料一次告知", ShowcaseStatus.SUBMITTED, ["线上理赔"], ""),
    (
        "示例：夜间报案快速响应",
        ShowcaseStatus.REJECTED,
        ["科技"],
        "示例：缺少可核实的服务成效，请补充后再次申报。",
    ),
]


@dataclass
class ShowcaseDemoResult:
    programmes: int = 0
    insurers: int = 0
    awarded: int = 0
    created: int = 0
    workflow: int = 0


def load_seed() -> dict:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


def _body(opening: str, figures: list[dict], ideas: list[str]) -> str:
    parts = [f"<p>{escape(opening)}</p>"]
    if figures:
        shown = "；".join(
            f"{f['label']} {figure_text(Decimal(str(f['value'])))}{f['unit']}" for f in figures
        )
        parts.append(f"<p>获奖公告披露的关键数据：{escape(shown)}。</p>")
    parts.append("<h3>可以借鉴的思路</h3>")
    parts.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in ideas) + "</ul>")
    parts.append(f"<p>{CLOSING}</p>")
    return "".join(parts)


def _group(name: str) -> OrgUnit:
    unit = OrgUnit.objects.filter(level=Level.GROUP, name=name).first()
    return unit or insurer_services.org_unit_create(name=name, level=Level.GROUP)


#: Registered English names of the real insurers in the seed file (which is a verbatim copy
#: of the shared reference data, so they are kept here): they also give the public profile
#: addresses readable slugs.
ENGLISH_NAMES = {
    "中国太平洋财产保险股份有限公司": "China Pacific Property Insurance Co., Ltd.",
    "中国太平洋人寿保险股份有限公司": "China Pacific Life Insurance Co., Ltd.",
    "太平洋健康保险股份有限公司": "Pacific Health Insurance Co., Ltd.",
    "长江养老保险股份有限公司": "Changjiang Pension Insurance Co., Ltd.",
    "中国人寿保险股份有限公司": "China Life Insurance Company Limited",
}


def _real_insurer(row: dict, result: ShowcaseDemoResult) -> Insurer:
    group = _group(row["group"]) if row.get("group") else None
    insurer = Insurer.objects.filter(name_zh=row["name"]).first()
    if insurer is None:
        insurer = insurer_services.insurer_create(
            name_zh=row["name"],
            name_en=ENGLISH_NAMES.get(row["name"], ""),
            short_name=row["short_name"],
            licence_type=row["licence"],
            group=group,
        )
        result.insurers += 1
    if not OrgUnit.objects.filter(insurer=insurer, level=Level.HEAD_OFFICE).exists():
        insurer_services.org_unit_create(
            name=f"{insurer.short_name}总公司",
            level=Level.HEAD_OFFICE,
            insurer=insurer,
            parent=insurer.group,
        )
    return insurer


def _announced_at(announced: str | None) -> datetime.datetime | None:
    if not announced:
        return None
    year, month = (int(p) for p in announced.split("-"))
    return timezone.make_aware(datetime.datetime(year, month, 1))


def _awarded_cases(data: dict, result: ShowcaseDemoResult) -> None:
    programmes: dict[str, AwardProgramme] = {}
    categories: dict[tuple[str, str], AwardCategory] = {}
    for row in data["programmes"]:
        programme, created = AwardProgramme.objects.get_or_create(
            name=row["name"],
            defaults={
                "organiser": row.get("organiser") or "",
                "year": row["year"],
                "announced": row.get("announced") or "",
            },
        )
        result.programmes += created
        programmes[row["name"]] = programme
        for name in row["categories"]:
            categories[(row["name"], name)], _ = AwardCategory.objects.get_or_create(
                programme=programme, name=name
            )
    insurers = {row["short_name"]: _real_insurer(row, result) for row in data["insurers"]}
    groups = {row["group"] for row in data["insurers"] if row.get("group")}
    for row in data["cases"]:
        programme = programmes[row["programme"]]
        result.awarded += 1
        if ShowcaseCase.objects.filter(title=row["title"], programme=programme).exists():
            continue
        awardee = row["insurer"]
        if awardee in insurers:
            awardees = {"insurers": [insurers[awardee]]}
        elif awardee in groups:
            awardees = {"org_units": [_group(awardee)]}
        else:
            raise ValueError(f"{DATA_FILE.name}: unknown awardee {awardee!r}")
        summary, opening, ideas = TEXTS[row["title"]]
        showcase.showcase_load_awarded(
            title=row["title"],
            programme=programme,
            category=categories[(row["programme"], row["category"])],
            year=programme.year,
            summary=summary + DEMO_MARK,
            body=_body(opening, row["figures"], ideas),
            is_demo_text=True,
            tags=row["tags"],
            figures=row["figures"],
            awarded_at=_announced_at(programme.announced),
            **awardees,
        )
        result.created += 1


def _workflow_cases(result: ShowcaseDemoResult) -> None:
    """Invented cases of demo_staff's 示例 insurer, moved through the real services."""
    User = get_user_model()
    staff = User.objects.filter(username="demo_staff").first()
    reviewer = User.objects.filter(username="demo_index_admin").first()
    if staff is None or reviewer is None:
        return  # the fictional demo people are not there (yet)
    insurer = insurer_list(user=staff).filter(name_zh__startswith="示例").first()
    if insurer is None:
        return
    programme, _ = AwardProgramme.objects.get_or_create(
        name=DEMO_PROGRAMME["name"],
        defaults={k: v for k, v in DEMO_PROGRAMME.items() if k != "name"},
    )
    category, _ = AwardCategory.objects.get_or_create(programme=programme, name=DEMO_CATEGORY)
    # After ``seed_demo --reset`` the invented cases have lost their 示例 insurer: rebuild.
    ShowcaseCase.objects.filter(programme=programme, insurers__isnull=True).delete()
    for title, status, tags, reason in DEMO_CASES:
        result.workflow += 1
        if ShowcaseCase.objects.filter(title=title, programme=programme).exists():
            continue
        case = showcase.showcase_create(
            by=staff,
            title=title,
            programme=programme,
            category=category,
            summary=f"{insurer.short_name}的虚构案例，用来演示案例从起草、提交到评审的流程。"
            + DEMO_MARK,
            body=f"<p>这是虚构的示例案例，公司与内容均为演示而编写。</p><p>{DEMO_MARK}</p>",
            is_demo_text=True,
            insurers=[insurer],
            tags=tags,
        )
        if status == ShowcaseStatus.DRAFT:
            continue
        showcase.showcase_submit(case=case, by=staff)
        if status == ShowcaseStatus.REJECTED:
            showcase.showcase_start_review(case=case, by=reviewer)
            showcase.showcase_reject(case=case, by=reviewer, reason=reason)


@transaction.atomic
def showcase_demo_build() -> ShowcaseDemoResult:
    """Load the awarded cases of the data file and the invented workflow cases (idempotent)."""
    result = ShowcaseDemoResult()
    _awarded_cases(load_seed(), result)
    _workflow_cases(result)
    return result
