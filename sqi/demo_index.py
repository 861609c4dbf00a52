"""Compute and publish the demo index: every demo period that has a previous period (the
year-on-year indicators need it), for every peer group, through the ``compute_index`` task,
run in this process (``apply``) so that the demo is complete when ``seed_demo`` returns,
with or without a broker and whether or not a worker is up."""

from .models import IndexRun, PeerGroup, Period, RunStatus
from .runs import index_run_create
from .tasks import compute_index


def demo_index_publish(*, codes: list[str]) -> list[dict]:
    """One entry per (period, peer group) handled: ``run``, ``status``, ``industry_index``.
    A period and peer group that already has a published run is left
    alone, so running the demo again changes nothing."""
    periods = {p.code: p for p in Period.objects.filter(code__in=codes)}
    present = set(Period.objects.values_list("code", flat=True))
    published = set(
        IndexRun.objects.filter(status=RunStatus.PUBLISHED, period__code__in=codes).values_list(
            "period__code", "peer_group"
        )
    )
    done = []
    for code in codes:
        period = periods.get(code)
        if period is None or period.previous_code not in present:
            continue
        for group in PeerGroup.values:
            if (code, group) in published:
                continue
            run = index_run_create(period=period, peer_group=group)
            args = (code, group, run.methodology.version)
            kwargs = {"run_id": run.pk, "publish": True}
            compute_index.apply(args, kwargs).get()
            run.refresh_from_db()
            done.append(
                {
                    "period": code,
                    "peer_group": group,
                    "run": run.pk,
                    "status": run.status,
                    "industry_index": run.industry_index,
                }
            )
    return done
