"""The org tree's shape: group → head office → branch → central sub-branch."""

import pytest
from django.core.exceptions import ValidationError

from insurers import services
from insurers.models import Level, OrgUnit, placement_errors
from tests.factories import InsurerFactory, unit

pytestmark = pytest.mark.django_db


def test_the_fixture_tree_has_the_expected_shape(tree):
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])
    assert OrgUnit.objects.get_parent(tree.sub_a1a) == tree.branch_a1
    assert tree.head_c.is_root()
    assert list(OrgUnit.objects.get_children(tree.group)) == sorted(
        [tree.head_a, tree.head_b], key=lambda u: u.name
    )


@pytest.mark.parametrize(
    ("level", "parent_name", "field"),
    [
        (Level.GROUP, "group", "parent"),  # a group is always a root
        (Level.HEAD_OFFICE, "branch_a1", "parent"),
        (Level.BRANCH, None, "parent"),  # a branch is never a root
        (Level.BRANCH, "group", "parent"),
        (Level.BRANCH, "branch_a1", "parent"),
        (Level.BRANCH, "sub_a1a", "parent"),
        (Level.SUB_BRANCH, "head_a", "parent"),
        (Level.SUB_BRANCH, None, "parent"),
    ],
)
def test_wrong_parent_level_is_a_field_error_and_nothing_is_saved(tree, level, parent_name, field):
    parent = getattr(tree, parent_name) if parent_name else None
    insurer = None if level == Level.GROUP else tree.insurer_a
    before = OrgUnit.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.org_unit_create(name="x", level=level, insurer=insurer, parent=parent)
    assert field in exc.value.message_dict
    assert OrgUnit.objects.count() == before


def test_branch_must_belong_to_its_head_offices_insurer(tree):
    with pytest.raises(ValidationError) as exc:
        services.org_unit_create(
            name="x", level=Level.BRANCH, insurer=tree.insurer_c, parent=tree.head_a
        )
    assert "insurer" in exc.value.message_dict


def test_head_office_sits_under_its_insurers_group(tree):
    loner = InsurerFactory()  # no group
    with pytest.raises(ValidationError) as exc:
        services.org_unit_create(
            name="x", level=Level.HEAD_OFFICE, insurer=loner, parent=tree.group
        )
    assert "parent" in exc.value.message_dict
    grouped = InsurerFactory(group=tree.group)
    with pytest.raises(ValidationError) as exc:
        services.org_unit_create(name="x", level=Level.HEAD_OFFICE, insurer=grouped)
    assert "parent" in exc.value.message_dict


def test_one_head_office_per_insurer(tree):
    with pytest.raises(ValidationError) as exc:
        services.org_unit_create(
            name="second", level=Level.HEAD_OFFICE, insurer=tree.insurer_c, parent=None
        )
    assert "insurer" in exc.value.message_dict


def test_group_has_no_insurer_and_others_need_one(tree):
    with pytest.raises(ValidationError) as exc:
        services.org_unit_create(name="g", level=Level.GROUP, insurer=tree.insurer_a)
    assert "insurer" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.org_unit_create(name="b", level=Level.BRANCH, insurer=None, parent=tree.head_a)
    assert "insurer" in exc.value.message_dict


def test_valid_placements_have_no_errors(tree):
    assert placement_errors(level=Level.GROUP, insurer=None, parent=None) == {}
    assert placement_errors(level=Level.HEAD_OFFICE, insurer=tree.insurer_c, parent=None) == {}
    assert (
        placement_errors(level=Level.HEAD_OFFICE, insurer=tree.insurer_a, parent=tree.group) == {}
    )
    assert placement_errors(level=Level.BRANCH, insurer=tree.insurer_a, parent=tree.head_a) == {}
    assert (
        placement_errors(level=Level.SUB_BRANCH, insurer=tree.insurer_a, parent=tree.branch_a1)
        == {}
    )


def test_move_branch_within_insurer_carries_its_subtree(tree):
    services.org_unit_move(unit=tree.branch_a1, parent=tree.head_a)  # no-op place
    extra_head = tree.head_a
    moved = services.org_unit_move(unit=tree.sub_a1a, parent=tree.branch_a2)
    assert OrgUnit.objects.get_parent(moved) == tree.branch_a2
    assert moved.path.startswith(tree.branch_a2.path)
    assert OrgUnit.objects.get_parent(tree.branch_a2) == extra_head


def test_move_across_insurers_or_levels_is_refused(tree):
    with pytest.raises(ValidationError) as exc:
        services.org_unit_move(unit=tree.branch_a1, parent=tree.head_c)
    assert "insurer" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.org_unit_move(unit=tree.branch_a1, parent=tree.branch_a2)
    assert "parent" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.org_unit_move(unit=tree.branch_a1, parent=tree.sub_a1a)
    tree.sub_a1a.refresh_from_db()
    assert OrgUnit.objects.get_parent(tree.sub_a1a) == tree.branch_a1


def test_changing_level_must_still_fit_parent_and_children(tree):
    with pytest.raises(ValidationError) as exc:
        services.org_unit_update(unit=tree.branch_a1, data={"level": Level.SUB_BRANCH})
    assert "parent" in exc.value.message_dict
    services.org_unit_update(unit=tree.branch_a2, data={"name": "新名字", "region": "320000"})
    tree.branch_a2.refresh_from_db()
    assert tree.branch_a2.name == "新名字"


def test_region_code_is_six_digits(tree):
    with pytest.raises(ValidationError) as exc:
        unit(Level.BRANCH, insurer=tree.insurer_a, parent=tree.head_a, region="31")
    assert "region" in exc.value.message_dict
