"""Fictional demo complaints for ``seed_demo``: two years and more of them, in every state.

The complaints are spread over the demo insurers (``insurers.demo``) and their org units,
with product lines that fit each insurer's licence, the taxonomy's categories, every intake
channel, amounts, short narratives (each ending in ``（演示数据）``), invented complainants
(``1xx0000xxxx`` phone numbers, ID numbers made by ``idnumber.make``, encrypted like real
ones) and a timeline. Each complaint's story is simulated from its day of receipt — accepted,
investigated, perhaps paused for an appraisal or extended once or twice, decided on time or
late, closed, reviewed, escalated — and cut at the start of ``today``: whatever had not
happened by then has not happened, so recent complaints are open in every state, a few of
them overdue, and older ones are closed.

Speed decides the shape of the code. The large set (about 1,000,000 complaints and
5,000,000 timeline events) must load in minutes, and ``bulk_create`` alone took 80 s per
100,000 complaints here, four fifths of it preparing values field by field. So each chunk
of 20,000 complaints is simulated as plain rows that already hold what the columns store,
and written straight through the driver (``_Writer``: COPY on PostgreSQL, ``executemany``
on SQLite) with primary keys reserved up front, so the events can point at their complaint
without reading anything back. That also writes the FSM-protected ``status`` without going
through a transition, as a constructor would. References are allocated once per year for
the whole batch (``services.allocate_references``), and the complainants come from a pool of
identities, each encrypted once (complaining more than once is common). No
django-simple-history rows are written: demo data has no past versions to audit.

The same ``seed`` and the same ``today`` always give the same complaints (the ciphertexts
differ, Fernet tokens are salted; their keyed hashes and masked forms do not).
"""

import bisect
import contextlib
import datetime
import itertools
import json
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from insurers.demo import NAME_MARK
from insurers.models import Insurer, Level, LicenceType, OrgUnit, ServiceOfficer, UnitMembership

from . import crypto, deadlines, idnumber, services
from .models import (
    OPEN_STATES,
    Category,
    Channel,
    Complaint,
    Decision,
    DeclineReason,
    Event,
    EventKind,
    Extension,
    Pause,
    PauseReason,
    ProductLine,
    ReferenceCounter,
    Status,
    Subcategory,
)

DEMO_TEXT_MARK = "（演示数据）"
SIZES = {"small": 5_000, "large": 1_000_000}


def window_days(today: datetime.date) -> int:
    """The window: from 1 January two years before ``today``'s year up to ``today`` (so the
    index's statistics for both earlier calendar years have their complaints: 730 to 1,095
    days)."""
    return (today - datetime.date(today.year - 2, 1, 1)).days


CHUNK = 20_000  # complaints built, written and released together
BATCH = 2_000
SQLITE_CACHE_KIB = 512 * 1024  # while building, on SQLite only
ELDER_AGE = services.ELDER_AGE
RECENT_DAYS = 120  # where the demo wants its open, overdue and late cases to show

# ---- what complaints are about ------------------------------------------------------------

LINES_BY_LICENCE = {
    LicenceType.PROPERTY: {
        ProductLine.MOTOR: 52,
        ProductLine.COMMERCIAL_PROPERTY: 6,
        ProductLine.HOME: 6,
        ProductLine.LIABILITY: 6,
        ProductLine.AGRICULTURE: 5,
        ProductLine.ACCIDENT: 9,
        ProductLine.HEALTH: 11,
        ProductLine.OTHER: 5,
    },
    LicenceType.LIFE: {ProductLine.LIFE: 55, ProductLine.ACCIDENT: 12, ProductLine.HEALTH: 33},
    LicenceType.HEALTH: {ProductLine.HEALTH: 82, ProductLine.ACCIDENT: 18},
    LicenceType.PENSION: {ProductLine.LIFE: 60, ProductLine.HEALTH: 25, ProductLine.ACCIDENT: 15},
}
LIFE_LINES = {ProductLine.LIFE, ProductLine.HEALTH, ProductLine.ACCIDENT}
# Category weights for property lines and for life/health lines; claims disputes lead both.
CATEGORIES = {
    "property": {
        Category.CLAIMS: 52,
        Category.SALES: 7,
        Category.SURRENDER: 3,
        Category.UNDERWRITING: 9,
        Category.POLICY_SERVICE: 6,
        Category.ATTITUDE: 9,
        Category.PRIVACY: 4,
        Category.INTERNET: 6,
        Category.OTHER: 4,
    },
    "life": {
        Category.CLAIMS: 36,
        Category.SALES: 22,
        Category.SURRENDER: 16,
        Category.UNDERWRITING: 4,
        Category.POLICY_SERVICE: 7,
        Category.ATTITUDE: 6,
        Category.PRIVACY: 3,
        Category.INTERNET: 3,
        Category.OTHER: 3,
    },
}
SUBCATEGORY_WEIGHTS = {
    Category.CLAIMS: {
        Subcategory.CLAIM_DENIED: 35,
        Subcategory.CLAIM_DELAY: 35,
        Subcategory.CLAIM_AMOUNT: 30,
    },
    Category.SALES: {Subcategory.MIS_SELLING: 80, "": 20},
}
CHANNELS = {
    Channel.REGULATOR: 30,
    Channel.HOTLINE: 28,
    Channel.ONLINE: 21,
    Channel.COUNTER: 11,
    Channel.LETTER_VISIT: 8,
    Channel.MEDIA: 2,
}
LEVEL_WEIGHT = {Level.HEAD_OFFICE: 1.0, Level.BRANCH: 3.0, Level.SUB_BRANCH: 4.0}
# Typical disputed amounts (CNY): the median of a log-normal spread.
AMOUNT_MEDIAN = {
    ProductLine.MOTOR: 8_000,
    ProductLine.COMMERCIAL_PROPERTY: 120_000,
    ProductLine.HOME: 6_000,
    ProductLine.LIABILITY: 30_000,
    ProductLine.AGRICULTURE: 9_000,
    ProductLine.LIFE: 40_000,
    ProductLine.ACCIDENT: 15_000,
    ProductLine.HEALTH: 20_000,
    ProductLine.OTHER: 5_000,
}
NO_AMOUNT_CATEGORIES = {Category.ATTITUDE, Category.PRIVACY, Category.OTHER}
LINE_NAMES = {
    ProductLine.MOTOR: "车险",
    ProductLine.COMMERCIAL_PROPERTY: "企财险",
    ProductLine.HOME: "家财险",
    ProductLine.LIABILITY: "责任险",
    ProductLine.AGRICULTURE: "农险",
    ProductLine.LIFE: "寿险",
    ProductLine.ACCIDENT: "意外险",
    ProductLine.HEALTH: "健康险",
    ProductLine.OTHER: "保险",
}

# ---- what complaints say ------------------------------------------------------------------

EXCUSES = ["不属于保险责任", "投保时未如实告知", "超过报案时限", "材料不齐全", "属于免责条款情形"]
NARRATIVES: dict[str, list[str]] = {
    Subcategory.CLAIM_DENIED: [
        "{month}月我的{line}保单出险后申请理赔，保险公司以“{excuse}”为由拒赔，"
        "我认为理由不成立，涉及金额约{amount}元，请求重新核定。",
        "家人住院治疗后按{line}合同申请理赔，被告知既往症不予赔付，"
        "但投保时业务员并未询问相关病史，请求按合同赔付约{amount}元。",
        "{line}理赔被拒，拒赔通知书只写了“依据条款”，没有说明具体是哪一条，希望公司给出书面解释。",
        "报案后查勘人员认定事故不属于保险责任，拒绝赔付约{amount}元，我不认可该结论。",
    ],
    Subcategory.CLAIM_DELAY: [
        "{month}月报案，材料已于{days}天前全部提交，至今没有理赔结果，多次拨打客服电话只说在审核中。",
        "{line}理赔拖延，查勘定损后一直没有赔款到账，已超过{days}天，影响正常生活。",
        "理赔过程中被反复要求补充材料，每次要求的都不一样，前后拖了{days}天仍未结案。",
        "理赔材料原件已邮寄给公司，{days}天过去了系统仍显示“待收件”，请求尽快处理。",
    ],
    Subcategory.CLAIM_AMOUNT: [
        "对{line}理赔金额有异议：实际损失约{amount}元，公司只核定赔付一部分，未说明扣减依据。",
        "定损金额明显低于维修厂报价，差额约{amount}元，希望重新定损。",
        "理赔时扣除了自费药部分，但合同没有明确约定，请求补足约{amount}元。",
        "公司按折旧计算赔款，我认为计算方式不合理，赔款与实际损失相差较大。",
    ],
    Subcategory.MIS_SELLING: [
        "业务员推销{line}时称“随时可以全额退保”“收益保底”，签约后才发现并非如此，感觉被误导。",
        "在银行办理存款时被推荐购买保险，当时以为是理财产品，没有人说明这是{line}合同。",
        "电话销售时未说明保费需要每年缴纳，第二年被自动扣款{amount}元。",
        "购买{line}时业务员代签了部分文件，也没有讲解免责条款。",
    ],
    Category.SALES: [
        "销售人员频繁来电推销{line}产品，明确拒绝后仍多次拨打。",
        "业务员承诺的赠品和服务至今没有兑现，联系业务员已无法接通。",
    ],
    Category.SURRENDER: [
        "申请退保{line}保单，只退回约{amount}元现金价值，远低于已交保费，投保时未告知退保损失。",
        "提交退保申请后{days}天仍未到账，客服无法说明原因。",
        "犹豫期内申请退保被告知已过犹豫期，但合同送达时间登记有误。",
    ],
    Category.UNDERWRITING: [
        "投保{line}时被要求加费承保，公司没有说明加费原因。",
        "网上投保后被拒保，没有告知拒保理由，已扣款{amount}元也未及时退回。",
        "续保时保费大幅上涨，公司没有提前通知。",
    ],
    Category.POLICY_SERVICE: [
        "申请变更保单联系电话和银行账户，{days}天了仍未办理完成。",
        "保单贷款申请迟迟没有结果，急需资金周转。",
        "多次要求补发纸质保险合同，一直没有收到。",
    ],
    Category.ATTITUDE: [
        "拨打客服热线咨询{line}理赔进度，客服态度生硬，多次挂断电话。",
        "到柜面办理业务时工作人员相互推诿，让我来回跑了三次。",
        "查勘员上门时态度恶劣，不愿解释定损依据。",
    ],
    Category.PRIVACY: [
        "购买{line}后频繁接到其他机构的推销电话，怀疑个人信息被泄露。",
        "未经同意被开通短信营销服务，要求停止发送并删除个人信息。",
        "业务员将我的保单信息透露给了第三方。",
    ],
    Category.INTERNET: [
        "在小程序投保{line}时默认勾选了附加险，多扣费{amount}元。",
        "App上无法在线申请退保，只能到柜面办理，很不方便。",
        "线上理赔系统上传材料一直失败，客服也无法解决。",
    ],
    Category.OTHER: [
        "对{line}保单的分红实现率有疑问，公司未按承诺说明。",
        "希望公司为老年客户保留线下办理渠道，线上操作太复杂。",
    ],
}
REPLIES = {
    Decision.UPHELD: [
        "经核实，您反映的问题属实。我司已按合同约定处理，支付{remedy}元，并对相关人员进行了内部问责。",
        "经调查，我司在处理过程中存在不当之处，现同意您的诉求，{remedy}元将于5个工作日内到账。",
    ],
    Decision.PARTLY_UPHELD: [
        "经核实，您的部分诉求符合合同约定，我司同意支付{remedy}元；其余部分不属于保险责任，"
        "已向您书面说明依据。",
        "经协商，我司同意按{remedy}元处理，对未能支持的部分已逐条说明理由，如有异议可申请核查或调解。",
    ],
    Decision.NOT_UPHELD: [
        "经调查核实，您反映的情形属于合同约定的责任免除范围，我司维持原处理意见，并已向您详细解释条款。"
        "如有异议，可在30日内申请核查或向调解组织申请调解。",
        "经核实，业务办理过程符合监管规定和合同约定，我司未能支持您的诉求，已电话沟通并说明理由。",
    ],
}
REPLIES_WITHOUT_REMEDY = [
    "经核实，您反映的问题属实。我司已向您当面致歉，并完成相关流程整改。",
    "经调查，相关人员存在服务不到位的情况，我司已进行培训和内部通报，感谢您的监督。",
]
EXTENSION_REASONS = [
    "案情复杂，需调取医院病历并核实既往就诊记录。",
    "涉及第三方责任认定，需等待事故认定书。",
    "需要多个部门联合核查销售过程录音录像。",
    "涉及金额较大，需上级机构理赔部门复核。",
]
PAUSE_REASONS = [
    "等待司法鉴定机构出具伤残鉴定报告",
    "等待保险公估机构出具损失评估报告",
    "等待检测机构出具检测结果",
    "等待医疗机构出具医学鉴定意见",
]
REVIEW_REASONS = [
    "对处理结果不认可，认为赔付金额计算有误。",
    "不认可拒赔理由，要求上级机构核查。",
    "处理过程中未充分听取本人意见，申请核查。",
]
DECLINE_NOTES = {
    DeclineReason.DUPLICATE: "与此前已受理的投诉事项相同，已合并处理。",
    DeclineReason.OUTSIDE_SCOPE: "反映事项不属于本公司保险业务范围，已告知投诉人向相关部门反映。",
    DeclineReason.ANONYMOUS: "投诉人未留有效联系方式，无法核实。",
    DeclineReason.OTHER: "投诉事项已进入诉讼程序，依规不予受理。",
}
DECLINE_WEIGHTS = {
    DeclineReason.DUPLICATE: 40,
    DeclineReason.OUTSIDE_SCOPE: 40,
    DeclineReason.ANONYMOUS: 5,
    DeclineReason.OTHER: 15,
}
ESCALATION_NOTE = "双方协商未果，经投诉人同意转交调解组织调解。"
MEDIATION_OUTCOMES = ["调解成功，双方签署调解协议。", "调解未能达成一致，调解终结。"]
# The decision event's data, as the services write it: {decision, on_time, review}.
DECIDE_DATA = {
    (d, on_time, review): json.dumps({"decision": d, "on_time": on_time, "review": review})
    for d in Decision.values
    for on_time in (True, False)
    for review in (True, False)
}
DECISIONS = {Decision.UPHELD: 35, Decision.PARTLY_UPHELD: 30, Decision.NOT_UPHELD: 35}
SATISFACTION = {
    Decision.UPHELD: {"satisfied": 70, "neutral": 20, "dissatisfied": 5, "unreachable": 5},
    Decision.PARTLY_UPHELD: {"satisfied": 40, "neutral": 35, "dissatisfied": 15, "unreachable": 10},
    Decision.NOT_UPHELD: {"satisfied": 15, "neutral": 35, "dissatisfied": 35, "unreachable": 15},
}

# ---- who complains (invented) -------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金贾夏韦方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = "伟芳娜敏静丽强磊洋艳勇军杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志文斌宇浩凯晨欣怡雪梅琳颖婷倩雯慧佳嘉俊峰海波亮"  # noqa: E501
PHONE_PREFIXES = [f"1{a}{b}" for a in "35789" for b in "0123456789"]  # + "0000" + 4 digits
ID_SHARE = 0.6


@dataclass
class _Unit:
    pk: int
    insurer_id: int
    licence: str
    region: str
    handler: int | None  # staff who log and handle its complaints
    reviewer: int | None  # staff one level up, who decide a review (核查)
    approver: int | None  # the service officer one level up (second extensions)


@dataclass
class _Person:
    name: str
    phone: str
    born: datetime.date | None = None
    encrypted: str = ""
    hash: str = ""
    masked: str = ""


@dataclass
class _Story:
    """One complaint's simulated life, before it is cut at the start of today."""

    steps: list[tuple] = field(default_factory=list)  # (minute, action, actor, text, data)
    pause: tuple[int, int, str] | None = None  # (start day, end day, reason)
    ext_reason: str = ""
    notice: str = ""


def _cumulative(weights: dict) -> tuple[list, list[float]]:
    keys = list(weights)
    return keys, list(itertools.accumulate(weights[k] for k in keys))


class _Picker:
    """A weighted choice from a fixed table: one random number and a bisection."""

    def __init__(self, weights: dict):
        self.keys, self.cum = _cumulative(weights)
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random):
        return self.keys[bisect.bisect_right(self.cum, rng.random() * self.total)]


@dataclass
class DemoComplaintsResult:
    complaints: int = 0
    events: int = 0
    pauses: int = 0
    extensions: int = 0


def demo_complaints():
    """The demo complaints: those against demo insurers."""
    return Complaint.objects.filter(insurer__name_zh__startswith=NAME_MARK)


def complaints_demo_present() -> bool:
    return demo_complaints().exists()


def complaints_demo_summary(*, today: datetime.date | None = None) -> dict[str, int]:
    """Counts for the command's report: all, open, overdue, and timeline events."""
    today = today or timezone.localdate()
    qs = demo_complaints()
    figures = qs.aggregate(
        complaints=Count("pk"),
        open=Count("pk", filter=Q(status__in=OPEN_STATES)),
        overdue=Count("pk", filter=Q(status__in=OPEN_STATES, due_date__lt=today)),
    )
    figures["events"] = Event.objects.filter(complaint__in=qs.values("pk")).count()
    return figures


@transaction.atomic
def complaints_demo_remove() -> int:
    """Delete the demo complaints with their timelines, pauses and extensions, then wind each
    year's reference counter back to the highest reference still in use (so that a rebuild
    hands out the same references again).

    Deleted with plain SQL (``_raw_delete``): Django's collector would load each of up to a
    million complaints to send signals, and simple-history would write a "deleted" version
    of each. History rows already written for demo complaints stay, like the insurers'
    (the audit trail is never rewritten). Records of other apps that point at a demo
    complaint are deleted through the ORM first, so that their own rules apply.
    """
    ids = demo_complaints().values("pk")
    for relation in Complaint._meta.related_objects:
        if relation.many_to_many:
            continue
        model = relation.related_model
        related = model._base_manager.filter(**{f"{relation.field.name}__in": ids})
        if model._meta.app_label == Complaint._meta.app_label:
            related._raw_delete(related.db)
        else:
            related.delete()
    doomed = Complaint._base_manager.filter(pk__in=ids)
    removed = doomed._raw_delete(doomed.db)
    for counter in ReferenceCounter.objects.all():
        top = Complaint.objects.filter(reference__startswith=f"TS{counter.year}-").aggregate(
            top=Max("reference")
        )["top"]
        last = int(top.rsplit("-", 1)[1]) if top else 0
        if last < counter.last:
            ReferenceCounter.objects.filter(year=counter.year).update(last=last)
    return removed


class _Builder:
    def __init__(self, *, seed: int, today: datetime.date, count: int):
        self.rng = random.Random(seed)
        self.today = today
        self.count = count
        tz = timezone.get_default_timezone()
        self.days = window_days(today)
        self.start_day = today - datetime.timedelta(days=self.days)
        self.base = datetime.datetime.combine(self.start_day, datetime.time(0), tzinfo=tz)
        self.naive_base = self.offsets = None
        if connection.vendor == "sqlite":
            self.naive_base = self.base.replace(tzinfo=None)
            self.offsets = [
                (self.base + datetime.timedelta(days=d, hours=12)).utcoffset()
                for d in range(self.days + 1)
            ]
        self.cutoff = self.days * 1440  # minutes from base: the start of today
        self.result = DemoComplaintsResult()
        self.lines = {k: _Picker(v) for k, v in LINES_BY_LICENCE.items()}
        self.categories = {k: _Picker(v) for k, v in CATEGORIES.items()}
        self.subcategories = {k: _Picker(v) for k, v in SUBCATEGORY_WEIGHTS.items()}
        self.channels = _Picker(CHANNELS)
        self.decisions = _Picker(DECISIONS)
        self.satisfaction = {k: _Picker(v) for k, v in SATISFACTION.items()}
        self.decline_reasons = _Picker(DECLINE_WEIGHTS)
        self.channel_text = {c: str(Channel(c).label) for c in Channel.values}
        self.due_cache: dict[tuple, datetime.date] = {}
        self.writer = _Writer()
        self.defaults = [(f.attname, f.get_default()) for f in Complaint._meta.concrete_fields]

    # -- setting the scene --------------------------------------------------------------

    def load_units(self) -> None:
        insurers = list(Insurer.objects.filter(name_zh__startswith=NAME_MARK).order_by("name_zh"))
        if not insurers:
            raise RuntimeError("no demo insurers: build insurers.demo first")
        units = list(
            OrgUnit.objects.filter(insurer__in=insurers).exclude(level=Level.GROUP).order_by("path")
        )
        every = {u.path: u for u in OrgUnit.objects.filter(
            path__in={u.path[: n] for u in units for n in range(4, len(u.path) + 1, 4)}
        )}  # fmt: skip
        staff: dict[int, int] = {}
        for membership in UnitMembership.objects.filter(org_unit__in=every.values()).order_by(
            "org_unit_id", "user_id"
        ):
            staff.setdefault(membership.org_unit_id, membership.user_id)
        officers = dict(
            ServiceOfficer.objects.filter(ended__isnull=True, org_unit__in=every.values())
            .order_by("org_unit_id", "user_id")
            .values_list("org_unit_id", "user_id")
        )
        licence = {i.pk: i.licence_type for i in insurers}
        weight_of = {i.pk: self.rng.lognormvariate(0, 0.8) for i in insurers}
        per_insurer: dict[int, float] = {}
        for unit in units:
            per_insurer[unit.insurer_id] = per_insurer.get(unit.insurer_id, 0) + LEVEL_WEIGHT.get(
                unit.level, 1.0
            )

        def up(path: str) -> list[OrgUnit]:  # the unit's ancestors, nearest first
            return [every[path[:n]] for n in range(len(path) - 4, 0, -4) if path[:n] in every]

        self.units: list[_Unit] = []
        weights = []
        for unit in units:
            chain = [unit, *up(unit.path)]
            handler = next((staff[u.pk] for u in chain if u.pk in staff), None)
            reviewer = next((staff[u.pk] for u in chain[1:] if u.pk in staff), None)
            approver = officers.get(chain[1].pk) if len(chain) > 1 else None
            self.units.append(
                _Unit(
                    pk=unit.pk,
                    insurer_id=unit.insurer_id,
                    licence=licence[unit.insurer_id],
                    region=unit.region or "110000",
                    handler=handler,
                    reviewer=reviewer,
                    approver=approver,
                )
            )
            weights.append(
                weight_of[unit.insurer_id]
                * LEVEL_WEIGHT.get(unit.level, 1.0)
                / per_insurer[unit.insurer_id]
            )
        self.unit_cum = list(itertools.accumulate(weights))

    def make_people(self) -> None:
        """The pool of complainants: about one for every two complaints."""
        rng, size = self.rng, max(200, min(self.count // 2, len(PHONE_PREFIXES) * 10_000))
        self.people: list[_Person] = []
        for n in range(size):
            name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2, 2))))
            phone = f"{PHONE_PREFIXES[n // 10_000]}0000{n % 10_000:04d}"
            person = _Person(name=name, phone=phone)
            if rng.random() < ID_SHARE:
                # Ages 20 to 85 today; a fifth or so are 60 or over.
                age_days = int(rng.triangular(20, 86, 42) * 365.25)
                born = self.today - datetime.timedelta(days=age_days)
                region = rng.choice(self.units).region[:4] + "01"
                number = idnumber.make(region, born, rng.randrange(1000))
                person.born = born
                person.encrypted = crypto.encrypt(number)
                person.hash = crypto.search_hash(number)
                person.masked = idnumber.mask(number)
            self.people.append(person)

    def received_minutes(self) -> list[int]:
        """When each complaint arrives, in order: a little more each month, fewer at weekends."""
        weights = []
        for day in range(self.days):
            weekday = (self.start_day + datetime.timedelta(days=day)).weekday()
            weights.append((1 + 0.2 * day / self.days) * (0.55 if weekday >= 5 else 1.0))
        cum = list(itertools.accumulate(weights))
        total, rng = cum[-1], self.rng
        minutes = [
            bisect.bisect_right(cum, rng.random() * total) * 1440 + rng.randint(480, 1259)
            for _ in range(self.count)
        ]
        minutes.sort()
        return minutes

    # -- one complaint --------------------------------------------------------------------

    def moment(self, minute: int):
        """Minute ``minute`` after the start of the window, as the database stores it."""
        if self.naive_base is not None:  # SQLite: naive UTC text, as Django writes it
            local = self.naive_base + datetime.timedelta(minutes=minute)
            return str(local - self.offsets[minute // 1440])
        return self.base + datetime.timedelta(minutes=minute)

    def day(self, day: int) -> datetime.date:
        return self.start_day + datetime.timedelta(days=day)

    def work(self, day: int, after: int = 0) -> int:
        """A minute in working hours on ``day``, later than minute ``after``."""
        minute = day * 1440 + self.rng.randint(540, 1050)
        return minute if minute > after else after + self.rng.randint(20, 240)

    def due(self, received: int, extensions: int, pause: tuple | None) -> int:
        """The due day under the rules (``deadlines.due_date``), as a day of the window, with
        the pause (start day, end day or None while it lasts) if any."""
        key = (received, extensions, pause)
        due = self.due_cache.get(key)
        if due is None:
            pauses = []
            if pause is not None:
                end = self.day(pause[1]) if pause[1] is not None else None
                pauses = [(self.day(pause[0]), end)]
            due = deadlines.due_date(
                received=self.day(received), extensions=extensions, pauses=pauses, today=self.today
            )
            self.due_cache[key] = due
        return (due - self.start_day).days

    def story(self, received: int, unit: _Unit, category: str) -> _Story:
        """Everything that would happen to the complaint, today or not."""
        rng, s = self.rng, _Story()
        d0 = received // 1440
        recent = self.days - d0 <= RECENT_DAYS
        staff = unit.handler
        if rng.random() < 0.05:
            reason = self.decline_reasons(rng)
            s.steps.append((self.work(d0 + rng.randint(0, 3), received), "decline", staff, reason))
            return s
        stalled = rng.random() < (0.03 if recent else 0.005)
        accept_day = d0 + (rng.randint(4, 30) if stalled else rng.choice((0, 0, 1, 1, 1, 2, 3)))
        t = self.work(accept_day, received)
        s.steps.append((t, "accept", staff))
        if rng.random() < 0.75:
            t += rng.randint(30, 900)
            s.steps.append((t, "investigate", staff))
        last_day = t // 1440
        # How much time the case needs: most fit the 15 days, some are complex (30 days, one
        # extension), a few especially complex (60 days, approved one level up).
        roll = rng.random()
        extensions = 0 if roll < 0.82 or stalled else 1 if roll < 0.96 or not unit.approver else 2
        pause = None
        if not stalled and rng.random() < (0.10 if category == Category.CLAIMS else 0.03):
            start = max(last_day + 1, d0 + rng.randint(2, 9))
            pause = (start, start + rng.randint(4, 28))
            s.pause = (*pause, rng.choice(PAUSE_REASONS))
        if extensions:
            first = max(last_day + 1, d0 + rng.randint(8, 14))
            if first > self.due(d0, 0, pause):  # too late to extend: it stays a 15-day case
                extensions = 0
            else:
                s.ext_reason = rng.choice(EXTENSION_REASONS)
                t = self.work(first, t)
                s.steps.append((t, "extend", staff, s.ext_reason, 1))
                last_day = t // 1440
        if extensions == 2:
            asked = max(last_day + 1, d0 + rng.randint(18, 26))
            if asked + 2 > self.due(d0, 1, pause):
                extensions = 1
            else:
                s.notice = (
                    f"您好，因{s.ext_reason.rstrip('。')}，您的投诉处理时限依规延长至60日，"
                    f"我们将尽快处理并及时告知进展。{DEMO_TEXT_MARK}"
                )
                t = self.work(asked, t)
                s.steps.append((t, "ask_extension", staff))
                t = self.work(asked + rng.randint(0, 2), t)
                s.steps.append((t, "extend", unit.approver, s.ext_reason, 2))
                last_day = t // 1440
        if pause is not None:
            s.steps.append((self.work(pause[0]), "pause", staff))
            s.steps.append((self.work(pause[1]), "resume", staff))
            last_day = max(last_day, pause[1])
        s.steps.sort(key=lambda step: step[0])
        t = s.steps[-1][0]
        due = self.due(d0, extensions, pause)
        if stalled or rng.random() < (0.15 if recent else 0.04):  # decided late
            decided_day = max(due, last_day) + rng.randint(1, 45 if recent else 20)
        else:
            low = max(last_day + 1, d0 + 3, due - 12 if extensions else 0)
            decided_day = rng.randint(low, due) if low <= due else low
        if rng.random() < 0.025:  # to mediation before any decision, or after it
            if rng.random() < 0.8:
                day = rng.randint(last_day + 1, max(last_day + 1, decided_day))
            else:
                t = self.work(decided_day, t)
                s.steps.append((t, "decide", staff, due))
                day = decided_day + rng.randint(1, 5)
            t = self.work(day, t)
            s.steps.append((t, "escalate", staff))
            s.steps.append((self.work(day + rng.randint(20, 120), t), "mediated", None))
            return s
        t = self.work(decided_day, t)
        s.steps.append((t, "decide", staff, due))
        closed = self.work(decided_day + rng.randint(1, 10), t)
        if unit.reviewer and rng.random() < 0.08:
            asked_day = decided_day + rng.randint(1, deadlines.REVIEW_WINDOW_DAYS)
            asked = self.work(asked_day, t)
            if asked > closed:
                s.steps.append((closed, "close", staff))
            s.steps.append((asked, "request_review", staff, rng.choice(REVIEW_REASONS)))
            review_due = asked_day + deadlines.DECISION_DAYS
            review_day = asked_day + (rng.randint(3, 14) if rng.random() < 0.85 else 30)
            t = self.work(review_day, asked)
            s.steps.append((t, "decide", unit.reviewer, review_due))
            closed = self.work(review_day + rng.randint(1, 7), t)
        s.steps.append((closed, "close", staff))
        return s

    def complaint(self, minute: int, reference: str, person: _Person) -> tuple:
        rng = self.rng
        unit = self.units[bisect.bisect_right(self.unit_cum, rng.random() * self.unit_cum[-1])]
        line = self.lines[unit.licence](rng)
        category = self.categories["life" if line in LIFE_LINES else "property"](rng)
        sub_picker = self.subcategories.get(category)
        subcategory = sub_picker(rng) if sub_picker else ""
        channel = self.channels(rng)
        amount = None
        if category not in NO_AMOUNT_CATEGORIES or rng.random() < 0.2:
            raw = AMOUNT_MEDIAN[line] * rng.lognormvariate(0, 0.9)
            amount = Decimal(max(100, int(raw / 100) * 100))
        received_on = self.day(minute // 1440)
        narrative = (
            rng.choice(NARRATIVES[subcategory or category]).format(
                month=received_on.month,
                line=LINE_NAMES[line],
                excuse=rng.choice(EXCUSES),
                amount=f"{amount or 5000:,.0f}",
                days=rng.randint(20, 90),
            )
            + DEMO_TEXT_MARK
        )
        is_elder = False
        if person.born is not None:
            age = received_on.year - person.born.year
            if (received_on.month, received_on.day) < (person.born.month, person.born.day):
                age -= 1
            is_elder = age >= ELDER_AGE
        creator = None if channel == Channel.ONLINE else unit.handler
        received_at = self.moment(minute)
        fields: dict[str, Any] = {
            "reference": reference,
            "insurer_id": unit.insurer_id,
            "org_unit_id": unit.pk,
            "product_line": line,
            "category": category,
            "subcategory": subcategory,
            "channel": channel,
            "amount_in_dispute": amount,
            "narrative": narrative,
            "complainant_name": person.name,
            "complainant_phone": person.phone,
            "id_number_encrypted": person.encrypted,
            "id_number_hash": person.hash,
            "id_number_masked": person.masked,
            "is_elder": is_elder,
            "received_at": received_at,
            "received_on": received_on,
            "created_by_id": creator,
            "created": received_at,
        }
        text = self.channel_text[channel]
        received = (received_at, EventKind.RECEIVED, creator, "", "", text, "{}")
        story = self.story(minute, unit, category)
        return self.play(fields, story, amount, [received])

    def play(self, fields: dict, story: _Story, amount: Decimal | None, events: list[tuple]):
        """Apply the steps of the story that happened before today. Returns the complaint's
        fields and its rows of events, pauses and extensions."""
        rng, cutoff = self.rng, self.cutoff
        status, extensions, pause_open = Status.RECEIVED, 0, False
        d0 = (fields["received_on"] - self.start_day).days
        pauses: list[list] = []
        ext_rows: list[tuple] = []
        review_day = None
        when = fields["received_at"]
        for step in story.steps:
            minute, action, actor = step[0], step[1], step[2]
            if minute >= cutoff:
                break
            when = self.moment(minute)
            before, text, data = status, "", "{}"
            if action == "decline":
                status = Status.DECLINED
                fields["decline_reason"] = step[3]
                text = DECLINE_NOTES[step[3]] + DEMO_TEXT_MARK
            elif action == "accept":
                status = Status.ACCEPTED
                fields["accepted_at"] = when
            elif action == "investigate":
                status = Status.INVESTIGATING
            elif action == "ask_extension":
                ext_rows.append((2, story.ext_reason, story.notice, None, None, actor, when))
                continue
            elif action == "extend":
                number = step[4]
                status, extensions, text = Status.EXTENDED, number, step[3]
                pause = story.pause[:2] if story.pause and story.pause[0] * 1440 < minute else None
                due = self.day(self.due(d0, number, pause))
                data = f'{{"step": {number}, "due_date": "{due.isoformat()}"}}'
                if number == 1:
                    ext_rows.append((1, text, "", None, None, actor, when))
                else:
                    row = ext_rows[-1]
                    ext_rows[-1] = (2, row[1], row[2], actor, when, row[5], row[6])
                events.append((when, EventKind.EXTENSION, actor, before, status, text, data))
                continue
            elif action == "pause":
                pause_open, reason = True, story.pause[2]
                start = self.day(story.pause[0])
                pauses.append([reason, start, None, actor])
                data = f'{{"start": "{start.isoformat()}"}}'
                events.append((when, EventKind.PAUSE, actor, "", "", reason, data))
                continue
            elif action == "resume":
                pause_open = False
                end = self.day(story.pause[1])
                pauses[-1][2] = end
                due = self.day(self.due(d0, extensions, story.pause[:2]))
                data = f'{{"end": "{end.isoformat()}", "due_date": "{due.isoformat()}"}}'
                events.append((when, EventKind.RESUME, actor, "", "", "", data))
                continue
            elif action == "decide":
                status = Status.DECIDED
                decision = self.decisions(rng)
                remedy = None
                if decision != Decision.NOT_UPHELD and amount is not None:
                    share = 1 if decision == Decision.UPHELD else rng.uniform(0.3, 0.7)
                    remedy = Decimal(int(amount * Decimal(share) / 100) * 100)
                if remedy is None and decision != Decision.NOT_UPHELD:
                    text = rng.choice(REPLIES_WITHOUT_REMEDY)
                else:
                    text = rng.choice(REPLIES[decision]).format(remedy=f"{remedy or 0:,.0f}")
                text += DEMO_TEXT_MARK
                fields.update(decision=decision, remedy_amount=remedy, reply=text, decided_at=when)
                fields.setdefault("first_decided_at", when)
                on_time = minute // 1440 <= step[3]
                data = DECIDE_DATA[decision, on_time, before == Status.UNDER_REVIEW]
            elif action == "close":
                status = Status.CLOSED
                fields.update(satisfaction=self.satisfaction[fields["decision"]](rng))
                fields["closed_at"] = when
            elif action == "request_review":
                status, text = Status.UNDER_REVIEW, step[3] + DEMO_TEXT_MARK
                review_day = minute // 1440
                fields["review_requested_at"] = when
            elif action == "escalate":
                status, text = Status.ESCALATED, ESCALATION_NOTE
                fields["escalated_at"] = when
            elif action == "mediated":
                status, text = Status.CLOSED, rng.choice(MEDIATION_OUTCOMES)
                fields["closed_at"] = when
            events.append((when, EventKind.TRANSITION, actor, before, status, text, data))
        # The due date as the services leave it: after a review request, 15 days from the
        # request; otherwise from receipt, with the extensions and pauses recorded so far.
        if review_day is not None:
            due = self.day(self.due(review_day, 0, None))
        else:
            recorded = None
            if pauses:
                recorded = (story.pause[0], None if pause_open else story.pause[1])
            due = self.day(self.due(d0, extensions, recorded))
        fields.update(status=status, extensions=extensions, due_date=due, updated=when)
        return fields, events, pauses, ext_rows

    # -- writing --------------------------------------------------------------------------

    def build(self) -> DemoComplaintsResult:
        self.load_units()
        self.make_people()
        minutes = self.received_minutes()
        starts = self.references(minutes)
        years_seen: dict[int, int] = {}
        with self.writer.bulk_session():
            for offset in range(0, len(minutes), CHUNK):
                rows = []
                for minute in minutes[offset : offset + CHUNK]:
                    year = self.day(minute // 1440).year
                    number = starts[year] + years_seen.get(year, 0)
                    years_seen[year] = years_seen.get(year, 0) + 1
                    person = self.people[self.rng.randrange(len(self.people))]
                    rows.append(self.complaint(minute, f"TS{year}-{number:06d}", person))
                self.write(rows)
        return self.result

    def references(self, minutes: list[int]) -> dict[int, int]:
        """Allocate every year's references at once; returns each year's first number."""
        per_year: dict[int, int] = {}
        for day, group in itertools.groupby(minutes, key=lambda m: m // 1440):
            year = self.day(day).year
            per_year[year] = per_year.get(year, 0) + sum(1 for _ in group)
        starts = {}
        for year, n in sorted(per_year.items()):
            first = services.allocate_references(year, n)[0]
            starts[year] = int(first.rsplit("-", 1)[1])
        return starts

    def write(self, rows: list[tuple]) -> None:
        writer = self.writer
        complaints, events, pauses, extensions = [], [], [], []
        for pk, (fields, story_events, pause_rows, ext_rows) in zip(
            writer.reserve_ids(Complaint, len(rows)), rows, strict=True
        ):
            fields["id"] = pk
            complaints.append(tuple([fields.get(name, default) for name, default in self.defaults]))
            events.extend((pk, *event) for event in story_events)
            for reason, start, end, actor in pause_rows:
                pauses.append((pk, PauseReason.APPRAISAL, reason, start, end, actor))
            for step, reason, notice, approver, notified, actor, created in ext_rows:
                extensions.append((pk, step, reason, approver, notice, notified, actor, created))
        writer.insert(Complaint, [name for name, _default in self.defaults], complaints)
        writer.insert(Event, EVENT_COLUMNS, events)
        writer.insert(Pause, PAUSE_COLUMNS, pauses)
        writer.insert(Extension, EXTENSION_COLUMNS, extensions)
        self.result.complaints += len(complaints)
        self.result.events += len(events)
        self.result.pauses += len(pauses)
        self.result.extensions += len(extensions)


EVENT_COLUMNS = [
    "complaint_id",
    "at",
    "kind",
    "actor_id",
    "from_status",
    "to_status",
    "text",
    "data",
]
PAUSE_COLUMNS = ["complaint_id", "kind", "reason", "start", "end", "created_by_id"]
EXTENSION_COLUMNS = [
    "complaint_id",
    "step",
    "reason",
    "approved_by_id",
    "complainant_notice",
    "complainant_notified_at",
    "created_by_id",
    "created",
]


class _Writer:
    """Writes rows of plain values straight through the database driver: COPY on
    PostgreSQL, ``executemany`` elsewhere.

    ``bulk_create`` spends four fifths of its time preparing values field by field and
    compiling a statement per batch (SQLite allows 999 parameters: 28 complaints a
    statement). These rows already hold what the columns store — the builder writes SQLite's
    datetimes as Django does, naive UTC text — so only other databases get their aware
    datetimes adapted here.
    """

    def __init__(self):
        self.vendor = connection.vendor

    @contextlib.contextmanager
    def bulk_session(self):
        """On SQLite, a page cache large enough for the complaint table's dozen indexes while
        a million rows go in (the default 2 MB makes every insert re-read index pages)."""
        if self.vendor != "sqlite":
            yield
            return
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            before = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA cache_size = {-SQLITE_CACHE_KIB}")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(before)}")

    def reserve_ids(self, model, count: int) -> list[int]:
        """Primary keys for ``count`` new rows: from the table's sequence on PostgreSQL (safe
        beside concurrent inserts), after the highest id ever used elsewhere (the surrounding
        transaction has already written, so it holds SQLite's write lock). Ids of deleted
        complaints are never reused: their history rows still carry them."""
        table, pk = model._meta.db_table, model._meta.pk.column
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [quote(table), pk, count],
                )
                return [row[0] for row in cursor.fetchall()]
            cursor.execute(f"SELECT MAX({quote(pk)}) FROM {quote(table)}")  # noqa: S608
            top = cursor.fetchone()[0] or 0
            if self.vendor == "sqlite":  # never reuse the id of a deleted row (AUTOINCREMENT)
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                row = cursor.fetchone()
                top = max(top, row[0] if row else 0)
        return list(range(top + 1, top + 1 + count))

    def insert(self, model, names: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        quote = connection.ops.quote_name
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        fields = [by_attname[name] for name in names]
        columns = ", ".join(quote(f.column) for f in fields)
        table = quote(model._meta.db_table)
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                return
            if self.vendor != "sqlite":
                adapt = connection.ops.adapt_datetimefield_value
                rows = [
                    [adapt(v) if isinstance(v, datetime.datetime) else v for v in row]
                    for row in rows
                ]
            marks = ", ".join(["%s"] * len(names))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - our names
            for start in range(0, len(rows), BATCH):
                cursor.executemany(sql, rows[start : start + BATCH])


def complaints_demo_build(
    *,
    size: str = "small",
    seed: int = 1,
    today: datetime.date | None = None,
    count: int | None = None,
) -> int:
    """Build the demo complaints of ``size`` (``count`` overrides it, for tests) against the
    demo insurers, received over the 24 months before ``today``; returns how many."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}")
    today = today or timezone.localdate()
    with transaction.atomic():
        return _Builder(seed=seed, today=today, count=count or SIZES[size]).build().complaints


__all__ = [
    "DEMO_TEXT_MARK",
    "SIZES",
    "complaints_demo_build",
    "complaints_demo_present",
    "complaints_demo_remove",
    "complaints_demo_summary",
]
