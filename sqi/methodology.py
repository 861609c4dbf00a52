"""The Service Quality Index methodology (保险服务质量指数), in plain Python.

This module knows nothing about Django or the database: it takes raw inputs per insurer and
returns indicator values, scores, dimension scores, totals, ranks and the industry index. That
keeps a published index reproducible from its inputs alone (``python -m sqi.methodology
FILE.json``) and lets the Celery task, the what-if panel and the tests share one implementation.

The steps follow DESIGN.md §3, each a separate function:

1. :func:`split_eligible` — who may be scored, and why the others are excluded;
2. :func:`indicator_values` (and :func:`winsorize`) — the seven indicators from raw inputs;
3. :func:`score_indicator` — efficacy coefficient with a floor, or percentile rank;
4. :func:`fixed_weights` / :func:`entropy_weights`, :func:`dimension_scores`,
   :func:`total_score`, :func:`competition_ranks`, :func:`industry_index`;
5. :func:`compute` — all of the above on the worked-example input format;
6. :func:`what_if` — one insurer's indicator values changed, scored again through the same
   steps (:func:`peer_group_values` and :func:`score_peer_group`, the two halves of
   :func:`compute`).

Rates are fractions, not percentages (a claim payment rate of 94.3 % is ``0.943``), as in
``sqi/data/sqi_worked_example.json``. Scores are kept unrounded between steps; only what is
displayed is rounded, half-up to two decimals (:func:`round_half_up`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
METHODOLOGY_FILE = DATA_DIR / "sqi_methodology.json"

EFFICACY = "efficacy_coefficient"
PERCENTILE = "percentile_rank"
SCORING_METHODS = (EFFICACY, PERCENTILE)
ENTROPY = "entropy"

#: Tolerance for "weights sum to 1": stored weights are decimals such as 0.125 and 0.15.
WEIGHT_TOLERANCE = 1e-9

#: Licence types the published SQI leaves out of every peer group.
EXCLUDED_LICENCES = frozenset({"pension", "agricultural"})


@dataclass(frozen=True)
class Indicator:
    """One quantitative indicator: its dimension, direction and the raw inputs it needs."""

    name: str
    dimension: str
    better: str  # "higher" or "lower"
    current_inputs: tuple[str, ...]
    previous_inputs: tuple[str, ...] = ()


INDICATORS: dict[str, Indicator] = {
    i.name: i
    for i in (
        Indicator(
            "payment_cycle_days", "convenience", "lower", ("payment_days_total", "claims_paid")
        ),
        Indicator("claim_payment_rate", "benefit", "higher", ("claims_paid", "claims_closed")),
        Indicator(
            "complaints_per_100m_premium", "recognition", "lower", ("complaints", "premium_cny")
        ),
        Indicator(
            "complaints_per_10k_policies",
            "recognition",
            "lower",
            ("complaints", "policies_in_force"),
        ),
        Indicator("surrender_rate", "recognition", "lower", ("surrenders", "policies_in_force")),
        Indicator(
            "complaints_yoy_improvement",
            "improvement",
            "higher",
            ("complaints", "premium_cny"),
            ("complaints", "premium_cny"),
        ),
        Indicator(
            "payment_cycle_yoy_improvement",
            "improvement",
            "higher",
            ("payment_days_total", "claims_paid"),
            ("payment_days_total", "claims_paid"),
        ),
    )
}

#: Inputs that are divided by: zero there makes an indicator undefined.
DENOMINATORS = frozenset({"claims_paid", "claims_closed", "premium_cny", "policies_in_force"})


class IneligibleInsurer(ValueError):
    """Raised when an insurer's inputs cannot produce an indicator (the message is the reason)."""


# --- rounding ------------------------------------------------------------------------------


def round_half_up(x: float, places: int = 2) -> float:
    """Round half-up (not banker's rounding) to ``places`` decimals, as published scores are.

    The float's shortest repr is rounded, so 80.125 becomes 80.13 even though its binary value
    is a hair below 80.125.
    """
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(float(x))).quantize(quantum, rounding=ROUND_HALF_UP))


# --- step 1: eligibility -------------------------------------------------------------------


def full_accounting_years(established: date, period_end: date) -> int:
    """Complete calendar (accounting) years an insurer was open for by ``period_end``.

    A year counts when the insurer was open on its 1 January and the year ended on or before
    ``period_end``: established 2024-01-01 gives two full years at 2025-12-31, established
    2024-01-02 only one.
    """
    last_full = (
        period_end.year if period_end >= date(period_end.year, 12, 31) else (period_end.year - 1)
    )
    first_full = (
        established.year
        if (established.month, established.day) == (1, 1)
        else (established.year + 1)
    )
    return max(0, last_full - first_full + 1)


def period_end_date(period: str) -> date:
    """The last day of a period label: ``"2025"`` → 2025-12-31, ``"2025H1"`` → 2025-06-30."""
    text = str(period).strip().upper()
    if text.isdigit():
        return date(int(text), 12, 31)
    if len(text) == 6 and text[4] == "H" and text[:4].isdigit() and text[5] in "12":
        year = int(text[:4])
        return date(year, 6, 30) if text[5] == "1" else date(year, 12, 31)
    raise ValueError(f"unknown period {period!r}: expected a year such as 2025, or 2025H1/2025H2")


def required_inputs(indicators: Iterable[str]) -> tuple[set[str], set[str]]:
    """The raw inputs (current, previous period) that the given indicators need."""
    current: set[str] = set()
    previous: set[str] = set()
    for name in indicators:
        ind = _indicator(name)
        current.update(ind.current_inputs)
        previous.update(ind.previous_inputs)
    return current, previous


def input_problem(record: Mapping, indicators: Iterable[str]) -> str | None:
    """Why ``record``'s inputs cannot be scored on ``indicators``, or ``None`` if they can.

    Missing inputs, a missing previous period and zero denominators (including a zero previous
    complaint rate or payment cycle, which the year-on-year indicators divide by) are reasons.
    """
    indicators = list(indicators)
    current_needed, previous_needed = required_inputs(indicators)
    for label, needed in (("current", current_needed), ("previous", previous_needed)):
        if not needed:
            continue
        period = record.get(label)
        if not isinstance(period, Mapping):
            return f"no {label} period inputs"
        missing = sorted(k for k in needed if period.get(k) is None)
        if missing:
            return f"missing {label} period input(s): {', '.join(missing)}"
        for key in sorted(needed):
            value = period[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"{label} period input {key} is not a number: {value!r}"
            if not math.isfinite(value) or value < 0:
                return f"{label} period input {key} must be a finite number ≥ 0, got {value!r}"
        zero = sorted(k for k in needed & DENOMINATORS if period[k] == 0)
        if zero:
            return f"zero denominator in {label} period: {', '.join(zero)}"
    if previous_needed:
        prev = record["previous"]
        if "complaints_yoy_improvement" in indicators and prev["complaints"] == 0:
            return "zero denominator: previous period complaints per 100 M premium is 0"
        if "payment_cycle_yoy_improvement" in indicators and prev["payment_days_total"] == 0:
            return "zero denominator: previous period payment cycle is 0 days"
    return None


def entity_problem(record: Mapping, period_end: date, peer_group: str | None = None) -> str | None:
    """Why the published SQI's entity rules leave ``record`` out, or ``None``.

    Pension and agricultural insurers are out; so is an insurer open for fewer than two full
    accounting years at the period's end, and one whose licence is of another peer group.
    Unknown licence type or establishment date is a reason too: nobody is scored on a guess.
    """
    licence = record.get("licence_type")
    if not licence:
        return "licence type unknown"
    if licence in EXCLUDED_LICENCES:
        return f"{licence} insurers are not part of the index"
    if record.get("agricultural"):
        return "agricultural insurers are not part of the index"
    if peer_group is not None and licence != peer_group:
        return f"licence type {licence} is not in peer group {peer_group}"
    established = record.get("established")
    if established is None:
        return "establishment date unknown"
    if isinstance(established, str):
        established = date.fromisoformat(established)
    years = full_accounting_years(established, period_end)
    if years < 2:
        return (
            f"open for {years} full accounting year(s) at {period_end.isoformat()}; "
            "at least 2 required"
        )
    return None


def split_eligible(
    records: Sequence[Mapping],
    period_end: date | None,
    indicators: Iterable[str],
    *,
    peer_group: str | None = None,
    check_entity: bool = True,
) -> tuple[list[Mapping], list[dict]]:
    """Split insurer records into (eligible, excluded); each excluded entry has a ``reason``.

    A record is a mapping with ``code``, ``licence_type``, ``established`` (date or ISO
    string), ``agricultural`` and ``current`` / ``previous`` input mappings. With
    ``check_entity=False`` only the inputs are checked (for callers that screened entities
    already, such as :func:`compute` on the worked-example format, which carries no entity facts).
    """
    indicators = list(indicators)
    if check_entity and period_end is None:
        raise ValueError("the entity rules need the period's end date")
    eligible: list[Mapping] = []
    excluded: list[dict] = []
    for record in records:
        reason = entity_problem(record, period_end, peer_group) if check_entity else None
        reason = reason or input_problem(record, indicators)
        if reason:
            excluded.append({"code": record.get("code"), "reason": reason})
        else:
            eligible.append(record)
    return eligible, excluded


# --- step 2: indicator values --------------------------------------------------------------


def _indicator(name: str) -> Indicator:
    try:
        return INDICATORS[name]
    except KeyError:
        raise ValueError(f"unknown indicator {name!r}; known: {', '.join(INDICATORS)}") from None


def _ratio(numerator: float, denominator: float, what: str) -> float:
    if denominator == 0:
        raise IneligibleInsurer(f"zero denominator: {what}")
    return numerator / denominator


def payment_cycle_days(inputs: Mapping) -> float:
    """Average days from incident to payment over paid claims (lower is better)."""
    return _ratio(inputs["payment_days_total"], inputs["claims_paid"], "claims_paid")


def claim_payment_rate(inputs: Mapping) -> float:
    """Paid claims over closed claims, as a fraction (higher is better)."""
    return _ratio(inputs["claims_paid"], inputs["claims_closed"], "claims_closed")


def complaints_per_100m_premium(inputs: Mapping) -> float:
    """Complaints per 100 M CNY of premium (lower is better)."""
    return _ratio(inputs["complaints"], inputs["premium_cny"] / 1e8, "premium_cny")


def complaints_per_10k_policies(inputs: Mapping) -> float:
    """Complaints per 10 000 policies in force (lower is better)."""
    return _ratio(inputs["complaints"], inputs["policies_in_force"] / 1e4, "policies_in_force")


def surrender_rate(inputs: Mapping) -> float:
    """Surrenders over policies in force, as a fraction (lower is better; life and health)."""
    return _ratio(inputs["surrenders"], inputs["policies_in_force"], "policies_in_force")


def yoy_improvement(previous: float, current: float) -> float:
    """(previous − current) / previous, as a fraction: positive when the measure fell."""
    return _ratio(previous - current, previous, "previous period value is 0")


def indicator_value(name: str, current: Mapping, previous: Mapping | None = None) -> float:
    """One indicator's value for one insurer from its raw current (and previous) inputs."""
    _indicator(name)
    if name == "complaints_yoy_improvement":
        if previous is None:
            raise IneligibleInsurer("no previous period inputs")
        return yoy_improvement(
            complaints_per_100m_premium(previous), complaints_per_100m_premium(current)
        )
    if name == "payment_cycle_yoy_improvement":
        if previous is None:
            raise IneligibleInsurer("no previous period inputs")
        return yoy_improvement(payment_cycle_days(previous), payment_cycle_days(current))
    return _SIMPLE[name](current)


_SIMPLE = {
    "payment_cycle_days": payment_cycle_days,
    "claim_payment_rate": claim_payment_rate,
    "complaints_per_100m_premium": complaints_per_100m_premium,
    "complaints_per_10k_policies": complaints_per_10k_policies,
    "surrender_rate": surrender_rate,
}


def indicator_values(record: Mapping, indicators: Iterable[str]) -> dict[str, float]:
    """All requested indicator values for one insurer record (``current`` / ``previous``)."""
    return {
        name: indicator_value(name, record["current"], record.get("previous"))
        for name in indicators
    }


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0 ≤ q ≤ 1) by linear interpolation between order statistics."""
    if not values:
        raise ValueError("quantile of no values")
    if not 0 <= q <= 1:
        raise ValueError(f"quantile must be within [0, 1], got {q}")
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def winsorize(values: Sequence[float], lower: float, upper: float) -> list[float]:
    """Clip values to their ``lower`` and ``upper`` quantiles (e.g. 0.05 and 0.95).

    This keeps one outlier from squeezing everyone else's efficacy scores together. It is off
    unless a methodology asks for it.
    """
    if not 0 <= lower <= upper <= 1:
        raise ValueError(
            f"winsorising percentiles must satisfy 0 ≤ lower ≤ upper ≤ 1, got {lower}, {upper}"
        )
    lo, hi = quantile(values, lower), quantile(values, upper)
    return [min(max(v, lo), hi) for v in values]


# --- step 3: indicator scores --------------------------------------------------------------


def efficacy_scores(values: Sequence[float], better: str, floor: float = 50.0) -> list[float]:
    """Efficacy coefficient (功效系数法) scores in [floor, 100].

    ``floor + (100 − floor)·t`` with ``t`` the min–max position, reversed when lower is better;
    all 100 when every value is the same. ``floor = 0`` is plain min–max, 60 the classic method.
    """
    _check_direction(better)
    _check_floor(floor)
    lo, hi = min(values), max(values)
    if hi == lo:
        return [100.0] * len(values)
    span = hi - lo
    if better == "higher":
        return [floor + (100 - floor) * (v - lo) / span for v in values]
    return [floor + (100 - floor) * (hi - v) / span for v in values]


def percentile_scores(values: Sequence[float], better: str, floor: float = 50.0) -> list[float]:
    """Percentile-rank scores in [floor, 100]: the share of peers an insurer beats.

    ``t = (peers strictly worse + ½·peers tied) / (n − 1)``, so the best gets 100, the worst the
    floor, and ties share a score; a lone insurer or an all-tied group gets 100.
    """
    _check_direction(better)
    _check_floor(floor)
    n = len(values)
    if n == 0:
        return []
    if n == 1 or min(values) == max(values):
        return [100.0] * n
    sign = 1 if better == "higher" else -1
    scores = []
    for v in values:
        worse = sum(1 for w in values if sign * w < sign * v)
        tied = sum(1 for w in values if w == v) - 1
        scores.append(floor + (100 - floor) * (worse + 0.5 * tied) / (n - 1))
    return scores


def score_indicator(
    values: Sequence[float], better: str, method: str = EFFICACY, floor: float = 50.0
) -> list[float]:
    """Score one indicator's values across the peer group with the named method."""
    if method == EFFICACY:
        return efficacy_scores(values, better, floor)
    if method == PERCENTILE:
        return percentile_scores(values, better, floor)
    raise ValueError(f"unknown scoring method {method!r}; known: {', '.join(SCORING_METHODS)}")


def _check_direction(better: str) -> None:
    if better not in ("higher", "lower"):
        raise ValueError(f"'better' must be 'higher' or 'lower', got {better!r}")


def _check_floor(floor: float) -> None:
    if not 0 <= floor < 100:
        raise ValueError(f"scoring floor must be within [0, 100), got {floor}")


# --- step 4: weights, dimensions, totals, ranks, industry index ----------------------------


def fixed_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Validate a methodology's fixed weights: known indicators, non-negative, summing to 1."""
    if not weights:
        raise ValueError("weights are empty")
    for name, w in weights.items():
        _indicator(name)
        if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w) or w < 0:
            raise ValueError(f"weight of {name} must be a finite number ≥ 0, got {w!r}")
    total = math.fsum(weights.values())
    if abs(total - 1) > WEIGHT_TOLERANCE:
        raise ValueError(f"weights must sum to 1, but they sum to {total!r}")
    return dict(weights)


def entropy_weights(scores: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """Entropy weights from indicator scores (one list per indicator, one entry per insurer).

    ``p = s / Σs``, ``e = −Σ p·ln p / ln n`` (0·ln 0 = 0), ``d = 1 − e``, ``w = d / Σd``: an
    indicator that separates insurers more gets more weight. Scores, not raw values, are used
    so every column is positive and points the same way. When no indicator separates anyone
    (or n < 2) the weights are equal.
    """
    if not scores:
        raise ValueError("entropy weights need at least one indicator")
    names = list(scores)
    n = len(scores[names[0]])
    if any(len(scores[k]) != n for k in names):
        raise ValueError("every indicator needs one score per insurer")
    if n < 2:
        return {k: 1 / len(names) for k in names}
    divergence = {}
    for name in names:
        column = scores[name]
        if any(s < 0 for s in column):
            raise ValueError(f"entropy weights need non-negative scores ({name})")
        total = math.fsum(column)
        if total == 0:
            entropy = 1.0
        else:
            entropy = -math.fsum(p * math.log(p) for p in (s / total for s in column) if p > 0)
            entropy /= math.log(n)
        divergence[name] = max(0.0, 1 - entropy)
    d_total = math.fsum(divergence.values())
    if d_total == 0:
        return {k: 1 / len(names) for k in names}
    return {k: d / d_total for k, d in divergence.items()}


def dimension_scores(scores: Mapping[str, float], weights: Mapping[str, float]) -> dict[str, float]:
    """Per dimension, the weighted mean of its indicators' scores (weights renormalised).

    A dimension whose indicators all weigh 0 gets the plain mean, so it is still shown.
    """
    grouped: dict[str, list[str]] = {}
    for name in scores:
        grouped.setdefault(INDICATORS[name].dimension, []).append(name)
    result = {}
    for dim in sorted(grouped):
        names = grouped[dim]
        w_sum = math.fsum(weights[k] for k in names)
        if w_sum == 0:
            result[dim] = math.fsum(scores[k] for k in names) / len(names)
        else:
            result[dim] = math.fsum(weights[k] * scores[k] for k in names) / w_sum
    return result


def total_score(scores: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """Σ weight·score over the indicators (unrounded)."""
    return math.fsum(weights[k] * scores[k] for k in scores)


def competition_ranks(totals: Sequence[float]) -> list[int]:
    """Competition ranking, highest first: 1, 2, 2, 4. Pass the rounded (displayed) totals."""
    return [1 + sum(1 for other in totals if other > t) for t in totals]


def industry_index(totals: Sequence[float], premiums: Sequence[float]) -> float:
    """The peer group's 行业指数: premium-weighted mean of the unrounded company totals."""
    if len(totals) != len(premiums):
        raise ValueError("one premium per total is needed")
    weight = math.fsum(premiums)
    if weight <= 0:
        raise ValueError("industry index needs a positive total premium")
    return math.fsum(t * p for t, p in zip(totals, premiums, strict=True)) / weight


# --- complaint ratios shown beside the index -----------------------------------------------


def complaints_per_10k_insured(inputs: Mapping) -> float:
    """Complaints per 10 000 insured persons."""
    return _ratio(inputs["complaints"], inputs["insured_persons"] / 1e4, "insured_persons")


def complaint_ratios(inputs: Mapping) -> dict[str, float | None]:
    """The complaint ratios of one insurer and period, each None when its denominator is
    missing or zero (shown as "not available", never as 0)."""
    ratios: dict[str, float | None] = {}
    for name, function in (
        ("complaints_per_100m_premium", complaints_per_100m_premium),
        ("complaints_per_10k_policies", complaints_per_10k_policies),
        ("complaints_per_10k_insured", complaints_per_10k_insured),
    ):
        try:
            ratios[name] = function(inputs)
        except (IneligibleInsurer, KeyError, TypeError):
            ratios[name] = None
    return ratios


def complaint_index(
    complaints: Mapping[str, float], premiums: Mapping[str, float]
) -> dict[str, float | None]:
    """The NAIC-style complaint index of each insurer in a peer group: its share of the
    group's complaints divided by its share of the group's premium (1.00 = average, above 1
    = more complaints than its size predicts). None for an insurer without premium."""
    total_complaints = math.fsum(complaints.values())
    total_premium = math.fsum(p for p in premiums.values() if p and p > 0)
    index: dict[str, float | None] = {}
    for code, count in complaints.items():
        premium = premiums.get(code) or 0
        if premium <= 0 or total_premium <= 0:
            index[code] = None
        elif total_complaints == 0:
            index[code] = 0.0
        else:
            index[code] = (count / total_complaints) / (premium / total_premium)
    return index


# --- step 5: everything together -----------------------------------------------------------


def load_methodology(path: Path = METHODOLOGY_FILE) -> dict:
    """The stored methodology (default: SQI-2022 shipped with the package)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _resolve_weights(inputs: Mapping) -> tuple[str | dict[str, float], list[str]]:
    """(weights or "entropy", indicator names) from an input file, with methodology defaults."""
    weights = inputs.get("weights")
    if weights is None:
        group = inputs.get("peer_group")
        table = load_methodology()["weights"]
        if group not in table:
            raise ValueError(f"no weights given and no default weights for peer group {group!r}")
        weights = table[group]
    if weights == ENTROPY:
        names = inputs.get("indicators")
        if not names:
            raise ValueError('"weights": "entropy" needs an "indicators" list')
        for name in names:
            _indicator(name)
        if len(set(names)) != len(names):
            raise ValueError("indicators are listed more than once")
        return ENTROPY, list(names)
    if isinstance(weights, str):
        raise ValueError(f'unknown weighting {weights!r}; give a mapping or "entropy"')
    checked = fixed_weights(weights)
    return checked, list(checked)


def compute(inputs: dict) -> dict:
    """Compute the index for one peer group and period from raw inputs.

    ``inputs`` has the worked-example format (``sqi/data/sqi_worked_example.json``): ``insurers``
    (``code``, ``current``, ``previous``), ``weights`` (a mapping, or ``"entropy"`` with an
    ``indicators`` list; absent → the stored methodology's weights for ``peer_group``),
    ``scoring`` (default efficacy coefficient), ``scoring_floor`` (default 50) and optionally
    ``winsorize`` (``[lower, upper]`` quantiles). The result has the format of its ``expected``
    key: ``weights``, ``industry_index`` and ``results`` in input order; when an insurer cannot
    be scored there is also ``excluded`` (code and reason). Insurer records that carry entity
    facts (``licence_type``) are also checked against the entity rules.
    """
    # Two seams (defined at the end of the module) so that the what-if tool scores changed
    # indicator values through exactly these steps: values from raw inputs, then scores.
    group = peer_group_values(inputs)
    output = score_peer_group(group)
    if group.excluded:
        output["excluded"] = group.excluded
    return output


PEER_GROUPS = ("property", "life", "health")

#: Indicators a peer group may not use: property insurers have no surrender rate.
FORBIDDEN_INDICATORS = {"property": frozenset({"surrender_rate"})}

WEIGHTINGS = ("fixed", ENTROPY)


def methodology_problems(data: Mapping) -> dict[str, list[str]]:
    """Every problem of a stored methodology, by field name; empty when it can be used.

    ``data`` has the format of ``sqi/data/sqi_methodology.json``. Under fixed weighting each
    peer group's weights must name known indicators and sum to 1; under entropy weighting the
    peer group's entry lists the indicators (a mapping's keys or a list) and the weights are
    computed from the data.
    """
    problems: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    if not str(data.get("version") or "").strip():
        add("version", "a methodology needs a version")
    if data.get("scoring") not in SCORING_METHODS:
        add("scoring", f"unknown scoring method {data.get('scoring')!r}")
    try:
        _check_floor(float(data.get("scoring_floor", 50)))
    except (TypeError, ValueError) as exc:
        add("scoring_floor", str(exc))
    weighting = data.get("weighting")
    if weighting not in WEIGHTINGS:
        add("weighting", f"unknown weighting {weighting!r}; known: {', '.join(WEIGHTINGS)}")
    table = data.get("weights")
    if not isinstance(table, Mapping):
        add("weights", "weights must map each peer group to its indicator weights")
        table = {}
    for group in PEER_GROUPS:
        entry = table.get(group)
        if not entry:
            add("weights", f"{group}: no indicators")
            continue
        names = list(entry)
        unknown = [n for n in names if n not in INDICATORS]
        if unknown:
            add("weights", f"{group}: unknown indicator(s) {', '.join(map(str, unknown))}")
            continue
        forbidden = sorted(set(names) & FORBIDDEN_INDICATORS.get(group, frozenset()))
        if forbidden:
            add("weights", f"{group}: {', '.join(forbidden)} is not used for this peer group")
        if weighting == "fixed":
            if not isinstance(entry, Mapping):
                add("weights", f"{group}: fixed weighting needs a weight per indicator")
                continue
            try:
                fixed_weights(entry)
            except ValueError as exc:
                add("weights", f"{group}: {exc}")
    extra = sorted(set(table) - set(PEER_GROUPS))
    if extra:
        add("weights", f"unknown peer group(s): {', '.join(map(str, extra))}")
    winsor = data.get("winsorize")
    if winsor is not None:
        ok = (
            isinstance(winsor, list | tuple)
            and len(winsor) == 2
            and all(isinstance(q, int | float) and not isinstance(q, bool) for q in winsor)
            and 0 <= winsor[0] < winsor[1] <= 1
        )
        if not ok:
            add("winsorize", "give [lower, upper] quantiles with 0 ≤ lower < upper ≤ 1")
    return problems


def run_settings(data: Mapping, peer_group: str) -> dict:
    """The :func:`compute` settings (scoring, floor, weights…) of a methodology for a group."""
    entry = data["weights"][peer_group]
    settings: dict = {
        "methodology": data["version"],
        "peer_group": peer_group,
        "scoring": data["scoring"],
        "scoring_floor": float(data.get("scoring_floor", 50)),
    }
    if data["weighting"] == ENTROPY:
        settings["weights"] = ENTROPY
        settings["indicators"] = list(entry)
    else:
        settings["weights"] = dict(entry)
    if data.get("winsorize"):
        settings["winsorize"] = list(data["winsorize"])
    return settings


#: Score bands shown beside a total (DESIGN §3, step 4).
EXCELLENT_FROM = 90.0
FAILING_BELOW = 60.0


def band(total: float) -> str:
    """``excellent`` (≥ 90), ``failing`` (< 60, 不及格) or ``pass``."""
    if total >= EXCELLENT_FROM:
        return "excellent"
    if total < FAILING_BELOW:
        return "failing"
    return "pass"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sqi.methodology FILE.json``: print the computed index as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m sqi.methodology",
        description="Compute the Service Quality Index from an inputs file "
        "(the format of sqi/data/sqi_worked_example.json).",
    )
    parser.add_argument("file", type=Path, help="inputs JSON file")
    args = parser.parse_args(argv)
    try:
        inputs = json.loads(args.file.read_text(encoding="utf-8"))
        output = compute(inputs)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    json.dump(output, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


# --- seams of compute(), and the what-if tool ----------------------------------------------
# compute() is steps 1–2 (raw inputs → indicator values of the eligible insurers) followed by
# steps 3–4 (values → scores, weights, dimensions, totals, ranks). The what-if tool replaces
# some values of one insurer between the two and runs the same steps 3–4: there is no second
# implementation of the scoring to drift away from the published one.


@dataclass(frozen=True)
class PeerGroupValues:
    """The indicator values of a peer group's eligible insurers, and how to score them.

    ``values[name][i]`` belongs to ``codes[i]``; ``records[i]`` is that insurer's input record
    (the what-if tool reads its previous period from it).
    """

    names: tuple[str, ...]
    codes: tuple[str, ...]
    values: dict[str, list[float]]
    premiums: tuple
    records: tuple[Mapping, ...]
    method: str
    floor: float
    weighting: str | dict[str, float]
    winsor: tuple[float, float] | None
    excluded: list[dict]


def peer_group_values(inputs: Mapping) -> PeerGroupValues:
    """Steps 1–2 of :func:`compute`: settings checked, who is eligible, indicator values."""
    method = inputs.get("scoring", EFFICACY)
    if method not in SCORING_METHODS:
        raise ValueError(f"unknown scoring method {method!r}; known: {', '.join(SCORING_METHODS)}")
    floor = float(inputs.get("scoring_floor", 50))
    _check_floor(floor)
    weighting, names = _resolve_weights(inputs)

    records = inputs.get("insurers") or []
    codes = [r.get("code") for r in records]
    if len(set(codes)) != len(codes):
        raise ValueError("insurer codes must be unique")
    # The worked-example format carries inputs only; entity rules apply once any record
    # carries entity facts, and then to every record (a missing fact is a reason).
    check_entity = any("licence_type" in r for r in records)
    period = inputs.get("period")
    period_end = period_end_date(period) if period is not None else None
    eligible, excluded = split_eligible(
        records,
        period_end,
        names,
        peer_group=inputs.get("peer_group"),
        check_entity=check_entity,
    )

    values: dict[str, list[float]] = {name: [] for name in names}
    for record in eligible:
        for name, value in indicator_values(record, names).items():
            values[name].append(value)
    winsor = inputs.get("winsorize")
    return PeerGroupValues(
        names=tuple(names),
        codes=tuple(r["code"] for r in eligible),
        values=values,
        premiums=tuple(r["current"]["premium_cny"] for r in eligible),
        records=tuple(eligible),
        method=method,
        floor=floor,
        weighting=weighting,
        winsor=tuple(winsor) if winsor else None,
        excluded=excluded,
    )


def score_peer_group(group: PeerGroupValues) -> dict:
    """Steps 3–4 of :func:`compute` on given indicator values: ``weights``,
    ``industry_index`` and ``results`` (in the order of ``group.codes``)."""
    names = list(group.names)
    scores: dict[str, list[float]] = {}
    for name in names:
        column = group.values[name]
        if column and group.winsor:
            column = winsorize(column, *group.winsor)
        scores[name] = (
            score_indicator(column, INDICATORS[name].better, group.method, group.floor)
            if column
            else []
        )

    weighting = group.weighting
    weights = entropy_weights(scores) if weighting == ENTROPY else weighting
    if weighting == ENTROPY and not group.codes:
        weights = {k: 1 / len(names) for k in names}

    totals = []
    results = []
    for i, code in enumerate(group.codes):
        own = {name: scores[name][i] for name in names}
        total = total_score(own, weights)
        totals.append(total)
        results.append(
            {
                "code": code,
                "indicators": {
                    name: {"value": group.values[name][i], "score": round_half_up(own[name])}
                    for name in names
                },
                "dimensions": {
                    dim: round_half_up(s) for dim, s in dimension_scores(own, weights).items()
                },
                "total": round_half_up(total),
            }
        )
    for result, rank in zip(results, competition_ranks([r["total"] for r in results]), strict=True):
        result["rank"] = rank

    premiums = list(group.premiums)
    index = None
    if group.codes and all(isinstance(p, int | float) for p in premiums) and sum(premiums) > 0:
        index = round_half_up(industry_index(totals, premiums))
    return {"weights": dict(weights), "industry_index": index, "results": results}


#: A change to an indicator: exactly one of these keys, with a number.
CHANGE_KINDS = ("delta", "percent", "value")

#: The year-on-year indicators follow the current value they compare with last year's: a
#: payment cycle one day shorter is also one day more of improvement. Each maps to the
#: indicator it follows and the function that gives that indicator from raw inputs.
FOLLOWS = {
    "complaints_yoy_improvement": ("complaints_per_100m_premium", complaints_per_100m_premium),
    "payment_cycle_yoy_improvement": ("payment_cycle_days", payment_cycle_days),
}


class ChangeError(ValueError):
    """A what-if change that cannot be applied: ``field`` names the indicator, ``code`` the
    kind of problem (for callers that say it in the user's language)."""

    def __init__(self, field: str, message: str, code: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.code = code


class NotScored(ValueError):
    """The insurer is not scored in the peer group (not in it, or excluded with a reason)."""


def _finite_number(x) -> bool:
    return not isinstance(x, bool) and isinstance(x, int | float) and math.isfinite(x)


def resolve_change(name: str, current: float, change) -> float:
    """The indicator value a change asks for: a number is the new value itself; a mapping
    has exactly one of ``delta`` (added, in the indicator's unit: rates are fractions),
    ``percent`` (of the current value, ≥ −100) or ``value``.

    The result must be a value the indicator can take: finite, not negative (a rate, a
    cycle, a count per premium), and for a year-on-year improvement at most 1 (this year's
    figure cannot fall below zero).
    """
    _indicator(name)
    if isinstance(change, Mapping):
        given = [k for k in CHANGE_KINDS if change.get(k) is not None]
        unknown = sorted(set(change) - set(CHANGE_KINDS))
        if unknown:
            raise ChangeError(
                name, f"unknown kind of change {', '.join(map(str, unknown))}", "kind"
            )
        if len(given) != 1:
            raise ChangeError(name, "give exactly one of delta, percent or value", "kind")
        kind = given[0]
        amount = change[kind]
    else:
        kind, amount = "value", change
    if not _finite_number(amount):
        raise ChangeError(name, f"{kind} must be a number, got {amount!r}", "number")
    if kind == "delta":
        value = current + amount
    elif kind == "percent":
        if amount < -100:
            raise ChangeError(name, f"percent cannot be below -100, got {amount!r}", "percent")
        value = current * (1 + amount / 100)
    else:
        value = float(amount)
    if not math.isfinite(value):
        raise ChangeError(name, "the new value is not a finite number", "number")
    if name in FOLLOWS:
        if value > 1:
            raise ChangeError(
                name,
                f"a year-on-year improvement is at most 1 (100 %), got {value!r}",
                "above_one",
            )
    elif value < 0:
        raise ChangeError(name, f"the new value cannot be negative, got {value!r}", "negative")
    return value


def _position(output: dict, code: str) -> dict:
    result = next(r for r in output["results"] if r["code"] == code)
    return {
        "total": result["total"],
        "rank": result["rank"],
        "band": band(result["total"]),
        "dimensions": dict(result["dimensions"]),
        "indicators": {k: dict(v) for k, v in result["indicators"].items()},
    }


def what_if(inputs: Mapping, code: str, overrides: Mapping[str, float | Mapping]) -> dict:
    """The index of insurer ``code`` if some of its indicator values were different.

    ``inputs`` are the canonical inputs of a run (what :func:`compute` reads); ``overrides``
    maps indicator names to a new value, or to a change as :func:`resolve_change` reads it.
    The other insurers keep their values; the scores, weights (fixed or entropy), dimension
    scores, totals and ranks of everyone are computed again by :func:`score_peer_group`, the
    steps the published run went through. A year-on-year indicator that is not overridden
    itself follows the current value it compares with (:data:`FOLLOWS`), so that the answer
    equals a full :func:`compute` over raw inputs changed to give these values.

    Returns ``code``, ``ranked`` (how many insurers are scored), ``changes`` and ``derived``
    (indicator → ``{"from", "to"}``, asked for and following) and ``before`` / ``after``
    (``total``, ``rank``, ``band``, ``dimensions``, ``indicators`` with value and score).
    Nothing is stored anywhere: this is a function of its arguments.
    """
    group = peer_group_values(inputs)
    if code not in group.codes:
        reason = next((e["reason"] for e in group.excluded if e.get("code") == code), None)
        raise NotScored(
            f"{code} is excluded from this index: {reason}"
            if reason
            else f"{code} is not in this peer group's index"
        )
    i = group.codes.index(code)
    for name in overrides:
        if name not in INDICATORS:
            raise ChangeError(name, "unknown indicator", "unknown")
        if name not in group.names:
            raise ChangeError(name, "this index does not use the indicator", "unused")
    new_values = {
        name: resolve_change(name, group.values[name][i], change)
        for name, change in overrides.items()
    }
    derived = {}
    for name, (base, base_function) in FOLLOWS.items():
        if name in group.names and name not in new_values and base in new_values:
            previous = group.records[i].get("previous") or {}
            derived[name] = yoy_improvement(base_function(previous), new_values[base])
    columns = {name: list(column) for name, column in group.values.items()}
    for name, value in {**new_values, **derived}.items():
        columns[name][i] = value
    changed = replace(group, values=columns)

    before = _position(score_peer_group(group), code)
    after = _position(score_peer_group(changed), code)
    return {
        "code": code,
        "ranked": len(group.codes),
        "changes": {
            name: {"from": group.values[name][i], "to": value} for name, value in new_values.items()
        },
        "derived": {
            name: {"from": group.values[name][i], "to": value} for name, value in derived.items()
        },
        "before": before,
        "after": after,
    }


if __name__ == "__main__":
    sys.exit(main())
