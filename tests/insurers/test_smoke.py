from insurers.roles import STAFF
from insurers.selectors import visible_units
from tests.factories import user_in


def test_branch_staff_sees_own_subtree(tree):
    user = user_in(tree.branch_a1, STAFF)
    assert set(visible_units(user=user)) == {tree.branch_a1, tree.sub_a1a}
