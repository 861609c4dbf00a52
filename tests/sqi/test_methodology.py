"""The index methodology reproduces the worked example and keeps its invariants.

These tests need no database: ``sqi.methodology`` is plain Python. The worked example
(``sqi/data/sqi_worked_example.json``) is checked field by field, once through the command
line and otherwise through :func:`compute`; property tests cover the scoring, weighting and
ranking rules on generated data.
"""

import ast
import copy
import itertools
import json
import math
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sqi import methodology as m

REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "sqi" / "methodology.py"
EXAMPLE_PATH = REPO / "sqi" / "data" / "sqi_worked_example.json"
EXAMPLE = json.loads(EXAMPLE_PATH.read_text(encoding="utf-8"))
EXPECTED = EXAMPLE["expected"]
EXPECTED_BY_CODE = {r["code"]: r for r in EXPECTED["results"]}
REL = 1e-12


def example() -> dict:
    return copy.deepcopy(EXAMPLE)


def assert_matches_expected(output: dict) -> None:
    assert output["weights"] == pytest.approx(EXPECTED["weights"], rel=REL)
    assert output["industry_index"] == EXPECTED["industry_index"]
    assert [r["code"] for r in output["results"]] == [r["code"] for r in EXPECTED["results"]]
    for got in output["results"]:
        want = EXPECTED_BY_CODE[got["code"]]
        assert got["indicators"].keys() == want["indicators"].keys()
        for name, ind in want["indicators"].items():
            assert got["indicators"][name]["value"] == pytest.approx(ind["value"], rel=REL), name
            assert got["indicators"][name]["score"] == ind["score"], (got["code"], name)
        assert got["dimensions"] == want["dimensions"], got["code"]
        assert got["total"] == want["total"], got["code"]
        assert got["rank"] == want["rank"], got["code"]


# --- the worked example ---------------------------------------------------------------------


def test_cli_reproduces_worked_example():
    proc = subprocess.run(
        [sys.executable, "-m", "sqi.methodology", str(EXAMPLE_PATH)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    output = json.loads(proc.stdout)
    assert_matches_expected(output)
    assert "excluded" not in output


def test_compute_reproduces_worked_example():
    output = m.compute(example())
    assert_matches_expected(output)
    assert output == EXPECTED


@pytest.mark.parametrize("code", sorted(EXPECTED_BY_CODE))
def test_indicator_values_per_insurer(code):
    record = next(r for r in EXAMPLE["insurers"] if r["code"] == code)
    values = m.indicator_values(record, EXAMPLE["weights"])
    for name, ind in EXPECTED_BY_CODE[code]["indicators"].items():
        assert values[name] == pytest.approx(ind["value"], rel=REL), name


def test_rates_are_fractions_not_percentages():
    current = {"claims_closed": 200, "claims_paid": 150, "surrenders": 5, "policies_in_force": 100}
    assert m.claim_payment_rate(current) == 0.75
    assert m.surrender_rate(current) == 0.05
    assert m.yoy_improvement(10.0, 8.0) == pytest.approx(0.2)


def test_dimension_scores_and_total_from_unrounded_scores():
    code = "L01"
    record = next(r for r in EXAMPLE["insurers"] if r["code"] == code)
    names = list(EXAMPLE["weights"])
    values = [m.indicator_values(r, names) for r in EXAMPLE["insurers"]]
    index = EXAMPLE["insurers"].index(record)
    own = {
        n: m.score_indicator([v[n] for v in values], m.INDICATORS[n].better)[index] for n in names
    }
    dims = m.dimension_scores(own, EXAMPLE["weights"])
    assert {d: m.round_half_up(s) for d, s in dims.items()} == EXPECTED_BY_CODE[code]["dimensions"]
    assert (
        m.round_half_up(m.total_score(own, EXAMPLE["weights"])) == EXPECTED_BY_CODE[code]["total"]
    )


def test_industry_index_is_premium_weighted_not_plain_mean():
    output = m.compute(example())
    plain = sum(r["total"] for r in output["results"]) / len(output["results"])
    assert output["industry_index"] == 76.75
    assert m.round_half_up(plain) != output["industry_index"]


def test_missing_weights_fall_back_to_the_methodology_for_the_peer_group():
    inputs = example()
    del inputs["weights"]
    assert_matches_expected(m.compute(inputs))


def test_repo_copies_equal_shared_files():
    for shared in (Path("/work/shared/data"), REPO.parent / "shared" / "data"):
        if shared.is_dir():
            break
    else:
        pytest.skip("no shared data directory (/work/shared or ../shared) to compare with")
    for name in ("sqi_methodology.json", "sqi_worked_example.json"):
        original = shared / name
        if not original.exists():
            pytest.skip(f"{original} does not exist")
        assert (REPO / "sqi" / "data" / name).read_bytes() == original.read_bytes(), name


def test_shipped_methodology_weights_sum_to_one_and_property_has_no_surrender_rate():
    methodology = m.load_methodology()
    for group, weights in methodology["weights"].items():
        assert m.fixed_weights(weights), group
    assert "surrender_rate" not in methodology["weights"]["property"]
    for name, spec in methodology["indicators"].items():
        assert m.INDICATORS[name].dimension == spec["dimension"]
        assert m.INDICATORS[name].better == spec["better"]


# --- CLI and entropy ------------------------------------------------------------------------


def test_cli_entropy_weights(tmp_path):
    inputs = example()
    inputs["weights"] = "entropy"
    inputs["indicators"] = list(EXAMPLE["weights"])
    path = tmp_path / "entropy.json"
    path.write_text(json.dumps(inputs), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "sqi.methodology", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    output = json.loads(proc.stdout)
    assert math.fsum(output["weights"].values()) == pytest.approx(1)
    assert set(output["weights"]) == set(inputs["indicators"])
    assert sorted(r["rank"] for r in output["results"])[0] == 1


def test_cli_reports_bad_input_without_traceback(tmp_path):
    inputs = example()
    inputs["weights"] = dict(inputs["weights"], surrender_rate=0.5)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(inputs), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "sqi.methodology", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert "weights must sum to 1" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_entropy_needs_indicator_list():
    inputs = example()
    inputs["weights"] = "entropy"
    with pytest.raises(ValueError, match="indicators"):
        m.compute(inputs)


def test_entropy_weights_favour_the_indicator_that_separates_insurers():
    weights = m.entropy_weights({"a": [100.0, 100.0, 100.0], "b": [50.0, 75.0, 100.0]})
    assert weights == pytest.approx({"a": 0.0, "b": 1.0})
    assert m.entropy_weights({"a": [100.0], "b": [50.0]}) == {"a": 0.5, "b": 0.5}


# --- bad input ------------------------------------------------------------------------------


def test_weights_not_summing_to_one_are_rejected():
    inputs = example()
    inputs["weights"]["surrender_rate"] = 0.2
    with pytest.raises(ValueError, match=r"weights must sum to 1, but they sum to 1\.05"):
        m.compute(inputs)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({}, "weights are empty"),
        ({"payment_cycle_days": 1.5, "claim_payment_rate": -0.5}, "must be a finite number ≥ 0"),
        ({"net_promoter_score": 1.0}, "unknown indicator 'net_promoter_score'"),
    ],
)
def test_bad_fixed_weights(weights, message):
    with pytest.raises(ValueError, match=message):
        m.fixed_weights(weights)


def test_unknown_scoring_method_is_rejected():
    inputs = example()
    inputs["scoring"] = "z_score"
    with pytest.raises(ValueError, match="unknown scoring method 'z_score'"):
        m.compute(inputs)
    with pytest.raises(ValueError, match="unknown scoring method"):
        m.score_indicator([1.0, 2.0], "higher", method="z_score")


def test_zero_denominator_excludes_with_reason():
    inputs = example()
    inputs["insurers"][2]["current"]["claims_closed"] = 0
    output = m.compute(inputs)
    assert output["excluded"] == [
        {"code": "L03", "reason": "zero denominator in current period: claims_closed"}
    ]
    assert "L03" not in [r["code"] for r in output["results"]]
    assert sorted(r["rank"] for r in output["results"]) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda r: r.pop("previous"), "no previous period inputs"),
        (lambda r: r["current"].pop("surrenders"), "missing current period input(s): surrenders"),
        (lambda r: r["previous"].update(complaints=0), "previous period complaints per 100 M"),
        (lambda r: r["previous"].update(claims_paid=0), "zero denominator in previous period"),
        (lambda r: r["current"].update(premium_cny=None), "missing current period input(s)"),
        (lambda r: r["current"].update(complaints="many"), "is not a number"),
    ],
)
def test_missing_inputs_exclude_with_reason(change, reason):
    inputs = example()
    change(inputs["insurers"][0])
    output = m.compute(inputs)
    assert [e["code"] for e in output["excluded"]] == ["L01"]
    assert reason in output["excluded"][0]["reason"]
    assert len(output["results"]) == 6


def test_property_peer_group_needs_no_surrenders():
    inputs = example()
    inputs["peer_group"] = "property"
    del inputs["weights"]
    for record in inputs["insurers"]:
        del record["current"]["surrenders"]
        del record["previous"]["surrenders"]
    output = m.compute(inputs)
    assert "excluded" not in output
    assert "surrender_rate" not in output["weights"]
    assert all("surrender_rate" not in r["indicators"] for r in output["results"])


def test_unknown_period_is_rejected():
    with pytest.raises(ValueError, match="unknown period"):
        m.period_end_date("2025Q5")
    assert m.period_end_date("2025H1") == date(2025, 6, 30)
    assert m.period_end_date("2025") == date(2025, 12, 31)


# --- eligibility ----------------------------------------------------------------------------


def insurer(code, **facts):
    record = copy.deepcopy(EXAMPLE["insurers"][0])
    record["code"] = code
    record.update({"licence_type": "life", "established": date(2010, 5, 1), "agricultural": False})
    record.update(facts)
    return record


def test_eligibility_rules():
    records = [
        insurer("OK"),
        insurer("PEN", licence_type="pension"),
        insurer("AGR", licence_type="property", agricultural=True),
        insurer("NEW", established=date(2024, 1, 2)),
        insurer("JUST", established="2024-01-01"),
        insurer("PRP", licence_type="property"),
        insurer("NOD", established=None),
    ]
    eligible, excluded = m.split_eligible(
        records, date(2025, 12, 31), EXAMPLE["weights"], peer_group="life"
    )
    assert [r["code"] for r in eligible] == ["OK", "JUST"]
    reasons = {e["code"]: e["reason"] for e in excluded}
    assert reasons.keys() == {"PEN", "AGR", "NEW", "PRP", "NOD"}
    assert "pension" in reasons["PEN"]
    assert "agricultural" in reasons["AGR"]
    assert "1 full accounting year(s)" in reasons["NEW"]
    assert "peer group life" in reasons["PRP"]
    assert "establishment date unknown" in reasons["NOD"]


def test_eligibility_excludes_missing_inputs_too():
    record = insurer("X")
    record["current"]["policies_in_force"] = 0
    eligible, excluded = m.split_eligible([record], date(2025, 12, 31), EXAMPLE["weights"])
    assert eligible == []
    assert excluded[0]["reason"] == "zero denominator in current period: policies_in_force"


@pytest.mark.parametrize(
    ("established", "period_end", "years"),
    [
        (date(2024, 1, 1), date(2025, 12, 31), 2),
        (date(2024, 1, 2), date(2025, 12, 31), 1),
        (date(2023, 7, 1), date(2025, 6, 30), 1),
        (date(2023, 1, 1), date(2025, 6, 30), 2),
        (date(2026, 1, 1), date(2025, 12, 31), 0),
    ],
)
def test_full_accounting_years(established, period_end, years):
    assert m.full_accounting_years(established, period_end) == years


def test_compute_applies_entity_rules_when_records_carry_them():
    inputs = example()
    inputs["insurers"][1].update(licence_type="pension", established="2000-01-01")
    output = m.compute(inputs)
    reasons = {e["code"]: e["reason"] for e in output["excluded"]}
    assert "pension" in reasons["L02"]
    # the others carry no entity facts now that one does: not scored on a guess
    assert reasons["L01"] == "licence type unknown"


# --- ties and ranking -----------------------------------------------------------------------


def test_ties_share_a_rank():
    assert m.competition_ranks([90.0, 80.5, 80.5, 70.0]) == [1, 2, 2, 4]
    assert m.competition_ranks([50.0, 50.0]) == [1, 1]


def test_identical_insurers_share_rank_in_compute():
    inputs = example()
    twin = copy.deepcopy(inputs["insurers"][5])  # L06, ranked first
    twin["code"] = "L06B"
    inputs["insurers"].append(twin)
    output = m.compute(inputs)
    ranks = {r["code"]: r["rank"] for r in output["results"]}
    assert ranks["L06"] == ranks["L06B"] == 1
    assert ranks["L02"] == 3


# --- scoring details ------------------------------------------------------------------------


def test_all_equal_values_score_100():
    assert m.efficacy_scores([3.0, 3.0], "lower", 50) == [100.0, 100.0]
    assert m.percentile_scores([3.0, 3.0], "higher", 50) == [100.0, 100.0]


def test_percentile_rank_scoring():
    assert m.percentile_scores([1.0, 2.0, 2.0, 4.0], "higher", 0) == pytest.approx(
        [0.0, 50.0, 50.0, 100.0]
    )
    inputs = example()
    inputs["scoring"] = "percentile_rank"
    output = m.compute(inputs)
    scores = [r["indicators"]["surrender_rate"]["score"] for r in output["results"]]
    assert max(scores) == 100.0 and min(scores) == 50.0


def test_winsorising_is_off_by_default_and_clips_when_asked():
    assert m.winsorize([1.0, 2.0, 3.0, 100.0], 0.0, 1.0) == [1.0, 2.0, 3.0, 100.0]
    clipped = m.winsorize([1.0, 2.0, 3.0, 4.0, 100.0], 0.0, 0.75)
    assert clipped == [1.0, 2.0, 3.0, 4.0, 4.0]
    inputs = example()
    inputs["winsorize"] = [0.1, 0.9]
    output = m.compute(inputs)
    # values are reported as measured; only the scores see the clipped values
    assert output["results"][0]["indicators"]["payment_cycle_days"]["value"] == pytest.approx(
        EXPECTED_BY_CODE["L01"]["indicators"]["payment_cycle_days"]["value"], rel=REL
    )
    assert output != EXPECTED
    with pytest.raises(ValueError, match="winsorising"):
        m.winsorize([1.0, 2.0], 0.9, 0.1)


def test_round_half_up():
    assert m.round_half_up(80.125) == 80.13
    assert m.round_half_up(0.005) == 0.01
    assert m.round_half_up(2.675) == 2.68
    assert m.round_half_up(-1.005) == -1.01


# --- properties -----------------------------------------------------------------------------

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
values_lists = st.lists(finite, min_size=1, max_size=30)
better = st.sampled_from(["higher", "lower"])
methods = st.sampled_from(list(m.SCORING_METHODS))


@settings(max_examples=200)
@given(values=values_lists, better=better, floor=st.sampled_from([0, 50, 60]), method=methods)
def test_scores_within_floor_and_100(values, better, floor, method):
    scores = m.score_indicator(values, better, method, floor)
    assert len(scores) == len(values)
    assert all(floor - 1e-9 <= s <= 100 + 1e-9 for s in scores)
    assert all(floor <= m.round_half_up(s) <= 100 for s in scores)


@settings(max_examples=200)
@given(
    values=values_lists,
    better=better,
    floor=st.sampled_from([0, 50, 60]),
    method=methods,
    data=st.data(),
)
def test_better_value_never_lowers_own_score(values, better, floor, method, data):
    i = data.draw(st.integers(0, len(values) - 1))
    step = data.draw(st.floats(min_value=0, max_value=1e6, allow_nan=False))
    improved = list(values)
    improved[i] = values[i] + step if better == "higher" else values[i] - step
    before = m.score_indicator(values, better, method, floor)[i]
    after = m.score_indicator(improved, better, method, floor)[i]
    assert after >= before - 1e-9


@settings(max_examples=100)
@given(data=st.data())
def test_better_indicator_never_lowers_total(data):
    n = data.draw(st.integers(1, 8))
    names = list(EXAMPLE["weights"])
    table = {name: data.draw(st.lists(finite, min_size=n, max_size=n)) for name in names}
    name = data.draw(st.sampled_from(names))
    i = data.draw(st.integers(0, n - 1))
    step = data.draw(st.floats(min_value=0, max_value=1e6, allow_nan=False))

    def total(tbl):
        own = {k: m.score_indicator(v, m.INDICATORS[k].better)[i] for k, v in tbl.items()}
        return m.total_score(own, EXAMPLE["weights"])

    improved = dict(table)
    improved[name] = list(table[name])
    improved[name][i] += step if m.INDICATORS[name].better == "higher" else -step
    assert total(improved) >= total(table) - 1e-9


positive_scores = st.floats(min_value=0, max_value=100, allow_nan=False)


@settings(max_examples=200)
@given(data=st.data())
def test_entropy_weights_sum_to_one(data):
    n = data.draw(st.integers(1, 12))
    k = data.draw(st.integers(1, 7))
    scores = {
        f"i{j}": data.draw(st.lists(positive_scores, min_size=n, max_size=n)) for j in range(k)
    }
    weights = m.entropy_weights(scores)
    assert math.fsum(weights.values()) == pytest.approx(1)
    assert all(w >= 0 for w in weights.values())


@settings(max_examples=200)
@given(raw=st.lists(st.integers(1, 1000), min_size=1, max_size=7))
def test_fixed_weights_sum_to_one(raw):
    names = list(m.INDICATORS)[: len(raw)]
    weights = {n: r / sum(raw) for n, r in zip(names, raw, strict=False)}
    assert math.fsum(m.fixed_weights(weights).values()) == pytest.approx(1)
    off = dict(weights, **{names[0]: weights[names[0]] + 0.01})
    with pytest.raises(ValueError, match="sum to 1"):
        m.fixed_weights(off)


@settings(max_examples=200)
@given(totals=st.lists(st.floats(0, 100, allow_nan=False).map(m.round_half_up), max_size=30))
def test_ranks_are_a_competition_ranking(totals):
    ranks = m.competition_ranks(totals)
    assert len(ranks) == len(totals)
    for t, r in zip(totals, ranks, strict=True):
        assert r == 1 + sum(1 for o in totals if o > t)
        assert ranks.count(r) == totals.count(t)
    if totals:
        assert min(ranks) == 1
        # after a group of k ties at rank r, the next rank is r + k
        ordered = sorted(set(ranks))
        for a, b in itertools.pairwise(ordered):
            assert b == a + ranks.count(a)


# --- no Django ------------------------------------------------------------------------------


def test_methodology_source_imports_only_the_standard_library():
    tree = ast.parse(MODULE.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "django" not in imported
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)


def test_methodology_runs_without_django_in_a_fresh_interpreter():
    # Loaded by path so the ``sqi`` package's own __init__ (Celery, which touches Django)
    # does not run: the module itself must need nothing outside the standard library.
    code = f"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("sqi_methodology_alone", {str(MODULE)!r})
mod = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = mod
spec.loader.exec_module(mod)
inputs = json.load(open({str(EXAMPLE_PATH)!r}, encoding="utf-8"))
assert mod.compute(inputs) == inputs["expected"]
print(sorted(n for n in sys.modules if n == "django" or n.startswith("django.")))
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# --- complaint ratios and the NAIC-style complaint index --------------------------------------


def test_complaint_ratios_and_not_available():
    from sqi.methodology import complaint_ratios

    ratios = complaint_ratios(
        {"complaints": 50, "premium_cny": 2e9, "policies_in_force": 100_000, "insured_persons": 0}
    )
    assert ratios["complaints_per_100m_premium"] == pytest.approx(2.5)
    assert ratios["complaints_per_10k_policies"] == pytest.approx(5.0)
    assert ratios["complaints_per_10k_insured"] is None  # zero insured persons: not available
    assert complaint_ratios({"complaints": 1})["complaints_per_10k_policies"] is None


def test_complaint_index_is_share_of_complaints_over_share_of_premium():
    from sqi.methodology import complaint_index

    index = complaint_index(
        {"A": 30, "B": 10, "C": 0, "D": 5}, {"A": 100.0, "B": 100.0, "C": 200.0, "D": 0}
    )
    # A: (30/45) / (100/400) = 2.667; B: (10/45)/(0.25) = 0.889; C: 0; D: no premium
    assert index["A"] == pytest.approx((30 / 45) / 0.25)
    assert index["B"] == pytest.approx((10 / 45) / 0.25)
    assert index["C"] == 0
    assert index["D"] is None


@given(
    st.lists(
        st.tuples(st.integers(0, 10_000), st.floats(1e6, 1e12, allow_nan=False)),
        min_size=1,
        max_size=20,
    )
)
def test_complaint_index_premium_weighted_mean_is_one(rows):
    from sqi.methodology import complaint_index

    complaints = {str(i): c for i, (c, _) in enumerate(rows)}
    premiums = {str(i): p for i, (_, p) in enumerate(rows)}
    index = complaint_index(complaints, premiums)
    if sum(complaints.values()) == 0:
        assert set(index.values()) == {0.0}
        return
    total = sum(premiums.values())
    weighted = sum(index[k] * premiums[k] / total for k in index)
    assert weighted == pytest.approx(1.0)
