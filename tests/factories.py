"""factory_boy factories for the tests. Trees are built through the services, so that the
tree rules hold in tests exactly as they do in the product."""

import datetime
import itertools

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from insurers import services
from insurers.credit_code import check_character
from insurers.models import Insurer, Level, LicenceType, OrgUnit

_codes = itertools.count(1)


def credit_code() -> str:
    """A fresh valid unified social credit code."""
    body = f"91110000{next(_codes):09d}"
    return body + check_character(body)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    is_staff = True
    password = factory.django.Password("pw-for-tests-only")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or ():
            group, _ = Group.objects.get_or_create(name=role)
            self.groups.add(group)


class InsurerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Insurer

    name_zh = factory.Sequence(lambda n: f"测试{n}号财产保险股份有限公司")
    name_en = factory.Sequence(lambda n: f"Test No.{n} Property Insurance Co., Ltd.")
    short_name = factory.Sequence(lambda n: f"测试{n}")
    licence_type = LicenceType.PROPERTY
    credit_code = factory.LazyFunction(credit_code)
    established = datetime.date(2010, 1, 1)


def unit(level, *, name=None, insurer=None, parent=None, region="310000") -> OrgUnit:
    return services.org_unit_create(
        name=name or f"{level}-{next(_codes)}",
        level=level,
        insurer=insurer,
        parent=parent,
        region=region,
    )


def user_in(unit_: OrgUnit | None, *role_names: str, officer: bool = False, **kwargs):
    """A user with ``role_names`` placed in ``unit_`` (as its officer when ``officer``)."""
    user = UserFactory(roles=role_names, **kwargs)
    if unit_ is not None:
        if officer:
            services.service_officer_appoint(
                user=user, org_unit=unit_, appointed=datetime.date(2024, 1, 1)
            )
        else:
            services.unit_membership_add(user=user, org_unit=unit_)
    return user


class Tree:
    """Two insurers in one group, one standalone insurer, and a few branches each:

    group G
      ├── head office A (insurer A)
      │     ├── branch A1 ── sub-branch A1a
      │     └── branch A2
      └── head office B (insurer B)
    head office C (insurer C, no group) ── branch C1
    """

    def __init__(self):
        self.group = unit(Level.GROUP, name="示例集团")
        self.insurer_a = InsurerFactory(group=self.group)
        self.insurer_b = InsurerFactory(group=self.group, licence_type=LicenceType.LIFE)
        self.insurer_c = InsurerFactory()
        self.head_a = unit(Level.HEAD_OFFICE, insurer=self.insurer_a, parent=self.group)
        self.branch_a1 = unit(Level.BRANCH, insurer=self.insurer_a, parent=self.head_a)
        self.sub_a1a = unit(Level.SUB_BRANCH, insurer=self.insurer_a, parent=self.branch_a1)
        self.branch_a2 = unit(Level.BRANCH, insurer=self.insurer_a, parent=self.head_a)
        self.head_b = unit(Level.HEAD_OFFICE, insurer=self.insurer_b, parent=self.group)
        self.head_c = unit(Level.HEAD_OFFICE, insurer=self.insurer_c)
        self.branch_c1 = unit(Level.BRANCH, insurer=self.insurer_c, parent=self.head_c)
        for name in ("group", "head_a", "branch_a1", "sub_a1a", "branch_a2", "head_b", "head_c"):
            getattr(self, name).refresh_from_db()
