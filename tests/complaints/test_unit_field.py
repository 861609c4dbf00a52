"""Intake's handling-unit field (compiled lookup) answers exactly as DRF's
PrimaryKeyRelatedField over the same queryset would, for good and bad values alike."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers

from complaints.api.serializers import UnitField
from insurers.models import OrgUnit
from tests.factories import Tree


class Plain(serializers.Serializer):
    org_unit = serializers.PrimaryKeyRelatedField(
        queryset=OrgUnit.objects.select_related("insurer")
    )


class Compiled(serializers.Serializer):
    org_unit = UnitField(queryset=OrgUnit.objects.select_related("insurer"))


def answer(cls, value):
    s = cls(data={"org_unit": value})
    if s.is_valid():
        unit = s.validated_data["org_unit"]
        return ("ok", unit.pk, unit.insurer_id, unit.insurer and unit.insurer.name_zh)
    return ("error", s.errors)


@pytest.mark.django_db
def test_the_same_answers_as_the_plain_field():
    tree = Tree()
    values = [
        tree.branch_a1.pk,
        str(tree.branch_a1.pk),
        tree.group.pk,  # a group: no insurer
        float(tree.head_c.pk),
        987654,
        -1,
        0,
        10**30,
        "abc",
        "",
        "1.5",
        True,
        False,
        None,
        [tree.branch_a1.pk],
        {"id": 1},
    ]
    for value in values:
        assert answer(Compiled, value) == answer(Plain, value), value


@pytest.mark.django_db
def test_one_query_brings_the_unit_and_its_insurer():
    tree = Tree()
    answer(Compiled, tree.branch_a1.pk)  # compiled on first use
    with CaptureQueriesContext(connection) as queries:
        s = Compiled(data={"org_unit": tree.branch_a1.pk})
        assert s.is_valid()
        unit = s.validated_data["org_unit"]
        assert unit.insurer == tree.insurer_a and unit.path == tree.branch_a1.path
    assert len(queries) == 1
    assert unit._state.db == "default" and not unit._state.adding
