"""The what-if of ``sqi.methodology``: no change is the published result, and a what-if is
exactly a full ``compute()`` over raw inputs changed to give the asked-for values.

No database: the methodology is plain Python. The peer group is the worked example, under
the published settings and under the other settings a methodology may choose (entropy
weights, percentile ranks, winsorising, another floor), so that every path of the scoring
is exercised through the what-if seam.
"""

import copy
import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sqi import methodology as m

EXAMPLE_PATH = Path(__file__).resolve().parents[3] / "sqi" / "data" / "sqi_worked_example.json"
EXAMPLE = json.loads(EXAMPLE_PATH.read_text(encoding="utf-8"))
CODES = [r["code"] for r in EXAMPLE["insurers"]]
NAMES = list(EXAMPLE["weights"])
YOY = set(m.FOLLOWS)


def variant(kind: str) -> dict:
    inputs = copy.deepcopy(EXAMPLE)
    inputs.pop("expected")
    if kind == "entropy":
        inputs["weights"] = "entropy"
        inputs["indicators"] = NAMES
    elif kind == "percentile":
        inputs["scoring"] = m.PERCENTILE
    elif kind == "winsorized":
        inputs["winsorize"] = [0.1, 0.9]
    elif kind == "floor0":
        inputs["scoring_floor"] = 0
    return inputs


VARIANTS = ("published", "entropy", "percentile", "winsorized", "floor0")


def result_of(output: dict, code: str) -> dict:
    return next(r for r in output["results"] if r["code"] == code)


def position_of(output: dict, code: str) -> dict:
    r = result_of(output, code)
    return {
        "total": r["total"],
        "rank": r["rank"],
        "band": m.band(r["total"]),
        "dimensions": r["dimensions"],
        "indicators": r["indicators"],
    }


# --- the seam keeps compute() as it was ---------------------------------------------------


def test_compute_through_the_seams_still_gives_the_worked_example():
    assert m.compute(copy.deepcopy(EXAMPLE)) == EXAMPLE["expected"]


@pytest.mark.parametrize("kind", VARIANTS)
def test_no_change_is_the_computed_result_for_every_insurer(kind):
    inputs = variant(kind)
    full = m.compute(inputs)
    for code in CODES:
        answer = m.what_if(inputs, code, {})
        assert answer["before"] == answer["after"] == position_of(full, code)
        assert answer["changes"] == {} and answer["derived"] == {}
        assert answer["ranked"] == len(CODES)


def test_what_if_leaves_its_inputs_alone():
    inputs = variant("published")
    before = copy.deepcopy(inputs)
    m.what_if(inputs, "L03", {"payment_cycle_days": {"delta": -1}, "surrender_rate": 0})
    assert inputs == before


# --- a what-if equals a full recomputation with the changed raw inputs ---------------------
# Each raw change below is one a real insurer could report; the indicator values it yields
# are computed with the methodology's own functions, so the what-if is asked for exactly the
# values the full computation sees.

RAW_FIELDS = {
    "current": (
        "payment_days_total",
        "claims_paid",
        "claims_closed",
        "premium_cny",
        "policies_in_force",
        "surrenders",
        "complaints",
    ),
    "previous": ("payment_days_total", "claims_paid", "premium_cny", "complaints"),
}

factors = st.floats(min_value=0.3, max_value=3.0, allow_nan=False, allow_infinity=False)
raw_change = st.tuples(
    st.sampled_from([(p, f) for p, fields in RAW_FIELDS.items() for f in fields]), factors
)


def changed_inputs(inputs: dict, code: str, raw: list) -> tuple[dict, dict]:
    """(inputs with ``code``'s raw figures scaled, the changed record) — kept valid: whole
    counts, paid claims within closed claims, no zero denominator."""
    changed = copy.deepcopy(inputs)
    record = next(r for r in changed["insurers"] if r["code"] == code)
    for (period, field), factor in raw:
        figures = record[period]
        value = figures[field] * factor
        figures[field] = value if field == "premium_cny" else max(1, round(value))
    current = record["current"]
    current["claims_paid"] = min(current["claims_paid"], current["claims_closed"])
    return changed, record


def new_values(record: dict) -> dict[str, float]:
    return m.indicator_values(record, NAMES)


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(VARIANTS),
    code=st.sampled_from(CODES),
    raw=st.lists(raw_change, min_size=1, max_size=4),
)
def test_overriding_every_changed_value_equals_full_recomputation(kind, code, raw):
    inputs = variant(kind)
    changed, record = changed_inputs(inputs, code, raw)
    was = result_of(m.compute(inputs), code)["indicators"]
    now = new_values(record)
    overrides = {k: v for k, v in now.items() if v != was[k]["value"]}
    # A year-on-year indicator follows its base when not given; here the previous period's
    # inputs may have changed too, which only an explicit value expresses, so give it.
    for name, (base, _function) in m.FOLLOWS.items():
        if base in overrides and name in now:
            overrides[name] = now[name]

    answer = m.what_if(inputs, code, overrides)

    assert answer["after"] == position_of(m.compute(changed), code)
    assert answer["before"] == position_of(m.compute(inputs), code)
    assert {k: c["to"] for k, c in answer["changes"].items()} == overrides


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(VARIANTS),
    code=st.sampled_from(CODES),
    raw=st.lists(
        st.tuples(st.sampled_from([("current", f) for f in RAW_FIELDS["current"]]), factors),
        min_size=1,
        max_size=3,
    ),
)
def test_year_on_year_indicators_follow_a_changed_current_value(kind, code, raw):
    """Ask only for the current-period indicators: the year-on-year improvements follow,
    and the answer is still the full recomputation."""
    inputs = variant(kind)
    changed, record = changed_inputs(inputs, code, raw)
    was = result_of(m.compute(inputs), code)["indicators"]
    now = new_values(record)
    overrides = {k: v for k, v in now.items() if k not in YOY and v != was[k]["value"]}

    answer = m.what_if(inputs, code, overrides)

    assert answer["after"] == position_of(m.compute(changed), code)
    for name, change in answer["derived"].items():
        assert change["to"] == now[name]


def test_payment_cycle_one_day_shorter_is_payment_days_reduced_by_the_paid_claims():
    """The issue's own example: a payment cycle one day shorter is the same as the sum of
    days from incident to payment smaller by one day per paid claim."""
    inputs = variant("published")
    record = next(r for r in inputs["insurers"] if r["code"] == "L01")
    changed = copy.deepcopy(inputs)
    target = next(r for r in changed["insurers"] if r["code"] == "L01")
    target["current"]["payment_days_total"] -= record["current"]["claims_paid"]
    cycle = m.payment_cycle_days(target["current"])

    answer = m.what_if(inputs, "L01", {"payment_cycle_days": {"value": cycle}})

    assert answer["after"] == position_of(m.compute(changed), "L01")
    assert answer["derived"].keys() == {"payment_cycle_yoy_improvement"}
    by_delta = m.what_if(inputs, "L01", {"payment_cycle_days": {"delta": -1}})
    assert by_delta["after"]["indicators"]["payment_cycle_days"]["value"] == pytest.approx(cycle)
    assert by_delta["after"]["total"] == pytest.approx(answer["after"]["total"], abs=0.011)


def test_an_improvement_can_move_the_rank():
    inputs = variant("published")
    worst = max(result_of(m.compute(inputs), c)["rank"] for c in CODES)
    code = next(c for c in CODES if result_of(m.compute(inputs), c)["rank"] == worst)
    best = {
        name: {"value": min(r["indicators"][name]["value"] for r in m.compute(inputs)["results"])}
        if m.INDICATORS[name].better == "lower"
        else {"value": max(r["indicators"][name]["value"] for r in m.compute(inputs)["results"])}
        for name in NAMES
    }
    answer = m.what_if(inputs, code, best)
    assert answer["after"]["rank"] == 1 < answer["before"]["rank"]
    assert answer["after"]["total"] == 100.0


# --- changes: delta, percent, value --------------------------------------------------------


def test_changes_resolve_to_values():
    assert m.resolve_change("payment_cycle_days", 12.5, {"delta": -1}) == 11.5
    assert m.resolve_change("complaints_per_100m_premium", 6.0, {"percent": -10}) == (
        pytest.approx(5.4)
    )
    assert m.resolve_change("claim_payment_rate", 0.9, {"value": 0.95}) == 0.95
    assert m.resolve_change("claim_payment_rate", 0.9, 0.95) == 0.95
    assert m.resolve_change("complaints_yoy_improvement", 0.1, {"delta": -0.5}) == -0.4
    assert m.resolve_change("surrender_rate", 0.02, {"percent": -100}) == 0


@pytest.mark.parametrize(
    ("name", "current", "change", "code"),
    [
        ("payment_cycle_days", 12.0, {"percent": -100.5}, "percent"),
        ("payment_cycle_days", 12.0, {"delta": "x"}, "number"),
        ("payment_cycle_days", 12.0, {"delta": math.nan}, "number"),
        ("payment_cycle_days", 12.0, {"delta": math.inf}, "number"),
        ("payment_cycle_days", 12.0, {"delta": True}, "number"),
        ("payment_cycle_days", 12.0, {}, "kind"),
        ("payment_cycle_days", 12.0, {"delta": 1, "percent": 1}, "kind"),
        ("payment_cycle_days", 12.0, {"times": 2}, "kind"),
        ("payment_cycle_days", 12.0, {"delta": -13}, "negative"),
        ("payment_cycle_yoy_improvement", 0.5, {"delta": 0.6}, "above_one"),
    ],
)
def test_changes_that_cannot_be_applied_name_the_indicator(name, current, change, code):
    with pytest.raises(m.ChangeError) as caught:
        m.resolve_change(name, current, change)
    assert caught.value.field == name
    assert caught.value.code == code


def test_unknown_and_unused_indicators_and_unscored_insurers_are_refused():
    inputs = variant("published")
    with pytest.raises(m.ChangeError) as caught:
        m.what_if(inputs, "L01", {"speed": {"delta": 1}})
    assert (caught.value.field, caught.value.code) == ("speed", "unknown")

    property_like = variant("published")
    property_like["weights"] = dict(EXAMPLE["weights"])
    property_like["weights"].pop("surrender_rate")
    property_like["weights"]["payment_cycle_days"] += EXAMPLE["weights"]["surrender_rate"]
    with pytest.raises(m.ChangeError) as caught:
        m.what_if(property_like, "L01", {"surrender_rate": 0.01})
    assert caught.value.code == "unused"

    with pytest.raises(m.NotScored, match="not in this peer group"):
        m.what_if(inputs, "NOPE", {})
    excluded = variant("published")
    excluded["insurers"][0]["current"]["claims_paid"] = 0
    with pytest.raises(m.NotScored, match="excluded"):
        m.what_if(excluded, excluded["insurers"][0]["code"], {})
