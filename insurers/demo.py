"""Fictional demo data: insurers, their org trees, officers, staff and reception days.

Every insurer is invented and marked 示例 / Demo; no real company name is paired with made-up
figures. The same ``seed`` always builds the same data. Later issues extend ``seed_demo``
with complaints, cases and statistics.
"""

import datetime
import random
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction

from . import credit_code, roles, services
from .models import (
    Insurer,
    Level,
    LicenceType,
    OrgUnit,
    ReceptionDay,
    ServiceOfficer,
    UnitMembership,
)

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed for people trying the demo
DEMO_PREFIX = "demo_"
NAME_MARK = "示例"

SIZES = {
    "small": {LicenceType.PROPERTY: 12, LicenceType.LIFE: 12, LicenceType.HEALTH: 4},
    "large": {LicenceType.PROPERTY: 60, LicenceType.LIFE: 80, LicenceType.HEALTH: 8},
}
GROUPS = {"small": 3, "large": 10}
BRANCHES = {"small": (2, 3), "large": (3, 6)}
SUB_BRANCHES = {"small": (1, 2), "large": (1, 3)}

# Invented two-character names (with pinyin); 示例 in front of each keeps them unmistakable.
FIRST = [
    ("澄", "Cheng"), ("禾", "He"), ("岚", "Lan"), ("朗", "Lang"), ("沐", "Mu"), ("汀", "Ting"),
    ("煦", "Xu"), ("屿", "Yu"), ("澈", "Che"), ("棠", "Tang"), ("芊", "Qian"), ("溪", "Xi"),
    ("珩", "Heng"), ("砚", "Yan"), ("渊", "Yuan"), ("桐", "Tong"),
]  # fmt: skip
SECOND = [
    ("川", "chuan"), ("岭", "ling"), ("湾", "wan"), ("林", "lin"), ("源", "yuan"), ("舟", "zhou"),
    ("石", "shi"), ("峰", "feng"), ("泉", "quan"), ("田", "tian"), ("庭", "ting"), ("野", "ye"),
    ("洲", "zhou"), ("桥", "qiao"), ("谷", "gu"), ("帆", "fan"),
]  # fmt: skip
KIND = {
    LicenceType.PROPERTY: ("财产保险", "财险", "Property", "p"),
    LicenceType.LIFE: ("人寿保险", "寿险", "Life", "l"),
    LicenceType.HEALTH: ("健康保险", "健康", "Health", "h"),
}
# Provinces (GB/T 2260) with two cities each.
PROVINCES = [
    ("110000", "北京", [("110105", "朝阳"), ("110108", "海淀")]),
    ("310000", "上海", [("310115", "浦东"), ("310104", "徐汇")]),
    ("440000", "广东", [("440100", "广州"), ("440300", "深圳")]),
    ("320000", "江苏", [("320100", "南京"), ("320500", "苏州")]),
    ("330000", "浙江", [("330100", "杭州"), ("330200", "宁波")]),
    ("370000", "山东", [("370100", "济南"), ("370200", "青岛")]),
    ("510000", "四川", [("510100", "成都"), ("510700", "绵阳")]),
    ("420000", "湖北", [("420100", "武汉"), ("420500", "宜昌")]),
    ("410000", "河南", [("410100", "郑州"), ("410300", "洛阳")]),
    ("350000", "福建", [("350100", "福州"), ("350200", "厦门")]),
    ("430000", "湖南", [("430100", "长沙"), ("430700", "常德")]),
    ("610000", "陕西", [("610100", "西安"), ("610300", "宝鸡")]),
]
HEAD_OFFICE_CITIES = [("110000", "北京"), ("310000", "上海"), ("440300", "深圳")]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛"]
PLACES = ["营业部客户服务中心", "社区服务站", "消保教育基地", "理赔服务大厅", "老年大学"]
ISSUES = [
    "理赔进度查询与材料补正",
    "退保金额计算说明",
    "长辈客户线上理赔操作指导",
    "车险定损争议",
    "保单信息变更",
]


@dataclass
class DemoResult:
    insurers: int = 0
    units: int = 0
    users: int = 0
    reception_days: int = 0
    accounts: dict[str, str] = field(default_factory=dict)


def demo_present() -> bool:
    return Insurer.objects.filter(name_zh__startswith=NAME_MARK).exists()


@transaction.atomic
def demo_remove() -> None:
    """Remove demo records (their history rows stay: the audit trail is never rewritten)."""
    User = get_user_model()
    demo_users = User.objects.filter(username__startswith=DEMO_PREFIX)
    ReceptionDay.objects.filter(officer__user__in=demo_users).delete()
    ServiceOfficer.objects.filter(user__in=demo_users).delete()
    UnitMembership.objects.filter(user__in=demo_users).delete()
    demo_users.delete()
    insurers = Insurer.objects.filter(name_zh__startswith=NAME_MARK)
    insurers.update(group=None)
    OrgUnit.objects.filter(insurer__in=insurers).delete()
    OrgUnit.objects.filter(level=Level.GROUP, name__startswith=NAME_MARK).delete()
    insurers.delete()


class _Builder:
    def __init__(self, size: str, seed: int):
        self.size = size
        self.rng = random.Random(seed)
        names = [(a, b) for a in FIRST for b in SECOND]
        self.rng.shuffle(names)
        self.names = iter(names)
        self.password = make_password(DEMO_PASSWORD)
        self.users: list = []
        self.user_roles: dict[str, str] = {}
        self.officer_units: dict[str, OrgUnit] = {}
        self.member_units: dict[str, OrgUnit] = {}
        self.result = DemoResult()

    def person(self, username: str, role: str, **extra):
        User = get_user_model()
        user = User(
            username=DEMO_PREFIX + username,
            last_name=self.rng.choice(SURNAMES),
            first_name=self.rng.choice(GIVEN) + self.rng.choice(GIVEN),
            email=f"{DEMO_PREFIX}{username}@example.invalid",
            is_staff=True,
            password=self.password,
            **extra,
        )
        self.users.append(user)
        if role:
            self.user_roles[user.username] = role
        return user.username

    def officer(self, username: str, unit: OrgUnit) -> str:
        name = self.person(username, roles.OFFICER)
        self.officer_units[name] = unit
        return name

    def staff(self, username: str, unit: OrgUnit) -> str:
        name = self.person(username, roles.STAFF)
        self.member_units[name] = unit
        return name

    def code(self, region: str) -> str:
        body = "91" + region + "".join(self.rng.choice(credit_code.ALPHABET) for _ in range(9))
        return body + credit_code.check_character(body)

    def unit(self, **kwargs) -> OrgUnit:
        self.result.units += 1
        return services.org_unit_create(**kwargs)

    def build(self) -> DemoResult:
        groups = []
        for g_no in range(GROUPS[self.size]):
            (a, pa), (b, pb) = next(self.names)
            group = self.unit(name=f"{NAME_MARK}{a}{b}保险集团", level=Level.GROUP, region="110000")
            groups.append(group)
            # The first group's chief is the memorable demo_chief.
            self.officer("chief" if g_no == 0 else f"chief_{pa.lower()}{pb}", group)
        for licence, count in SIZES[self.size].items():
            for n in range(1, count + 1):
                group = groups[n - 1] if n <= len(groups) else None
                self.insurer(licence, n, group)
        self.person("admin", "", is_superuser=True)
        self.person("index_admin", roles.INDEX_ADMIN)
        self.person("mediator", roles.MEDIATOR)
        self.save_people()
        self.reception_days()
        self.result.accounts = {
            "demo_admin": "superuser",
            "demo_index_admin": "index administrator (index_admin)",
            "demo_chief": f"chief service officer · {groups[0].name}",
            "demo_officer": f"service officer · {self.officer_units['demo_officer'].name}",
            "demo_staff": f"consumer-protection staff · {self.member_units['demo_staff'].name}",
            "demo_mediator": "mediator",
        }
        return self.result

    def insurer(self, licence: str, n: int, group: OrgUnit | None) -> None:
        (a, pa), (b, pb) = next(self.names)
        full, short, kind_en, letter = KIND[licence]
        region, _city = self.rng.choice(HEAD_OFFICE_CITIES)
        year = self.rng.randint(1996, 2021) if n != 4 else 2025  # one too young for the index
        insurer = services.insurer_create(
            name_zh=f"{NAME_MARK}{a}{b}{full}股份有限公司",
            name_en=f"Demo {pa}{pb} {kind_en} Insurance Co., Ltd.",
            short_name=f"{NAME_MARK}{a}{b}{short}",
            licence_type=licence,
            credit_code=self.code(region),
            group=group,
            established=datetime.date(year, self.rng.randint(1, 12), 1),
        )
        self.result.insurers += 1
        key = f"{letter}{n:02d}"
        memorable = licence == LicenceType.PROPERTY and n == 1
        head = self.unit(
            name=f"{insurer.short_name}总公司",
            level=Level.HEAD_OFFICE,
            insurer=insurer,
            parent=group,
            region=region,
        )
        self.officer("officer" if memorable else f"officer_{key}_hq", head)
        self.staff(f"staff_{key}_hq", head)
        low, high = BRANCHES[self.size]
        provinces = self.rng.sample(PROVINCES, self.rng.randint(low, high))
        for b_no, (p_code, p_name, cities) in enumerate(provinces, start=1):
            branch = self.unit(
                name=f"{insurer.short_name}{p_name}分公司",
                level=Level.BRANCH,
                insurer=insurer,
                parent=head,
                region=p_code,
            )
            self.officer(f"officer_{key}_b{b_no}", branch)
            self.staff("staff" if memorable and b_no == 1 else f"staff_{key}_b{b_no}", branch)
            low_s, high_s = SUB_BRANCHES[self.size]
            for s_no, (c_code, c_name) in enumerate(
                cities[: self.rng.randint(low_s, high_s)], start=1
            ):
                sub = self.unit(
                    name=f"{insurer.short_name}{c_name}中心支公司",
                    level=Level.SUB_BRANCH,
                    insurer=insurer,
                    parent=branch,
                    region=c_code,
                )
                self.officer(f"officer_{key}_b{b_no}s{s_no}", sub)

    def save_people(self) -> None:
        User = get_user_model()
        User.objects.bulk_create(self.users)
        by_name = {u.username: u for u in User.objects.filter(username__startswith=DEMO_PREFIX)}
        groups = {g.name: g for g in Group.objects.filter(name__in=roles.ALL_ROLES)}
        through = User.groups.through
        through.objects.bulk_create(
            through(user_id=by_name[name].pk, group_id=groups[role].pk)
            for name, role in self.user_roles.items()
        )
        appointed = datetime.date(2024, 1, 1)
        for name, unit in self.officer_units.items():
            services.service_officer_appoint(user=by_name[name], org_unit=unit, appointed=appointed)
        UnitMembership.objects.bulk_create(
            UnitMembership(user=by_name[name], org_unit=unit)
            for name, unit in self.member_units.items()
        )
        self.result.users = len(by_name)

    def reception_days(self) -> None:
        officers = ServiceOfficer.objects.filter(
            user__username__startswith=DEMO_PREFIX,
            org_unit__level__in=[Level.HEAD_OFFICE, Level.BRANCH],
        ).order_by("org_unit__path")
        days = []
        start = datetime.date(2025, 1, 1)
        for officer in officers:
            for _ in range(self.rng.randint(1, 3)):
                follow_ups = self.rng.randint(0, 3)
                days.append(
                    ReceptionDay(
                        officer=officer,
                        date=start + datetime.timedelta(days=self.rng.randint(0, 660)),
                        place=self.rng.choice(PLACES),
                        consumers_met=self.rng.randint(3, 40),
                        issues_raised="；".join(self.rng.sample(ISSUES, 2)),
                        follow_ups="示例跟进事项（演示数据）" if follow_ups else "",
                        follow_ups_open=follow_ups,
                    )
                )
        ReceptionDay.objects.bulk_create(days)
        self.result.reception_days = len(days)


@transaction.atomic
def demo_build(*, size: str = "small", seed: int = 1) -> DemoResult:
    """Build the demo data set of ``size`` from ``seed``."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}")
    return _Builder(size, seed).build()
