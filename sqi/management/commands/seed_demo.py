"""``manage.py seed_demo``: load the fictional demo data set (idempotent).

It lives in the project package because it composes every app's demo data (insurers, then
complaints, cases and statistics), and only the top of the dependency chain may import them all.
"""

import time

from django.core.management.base import BaseCommand
from django.utils import timezone

from cases.demo import showcase_demo_build
from cases.demo_mediation import (
    mediation_demo_build,
    mediation_demo_present,
    mediation_demo_remove,
)
from complaints.demo import (
    complaints_demo_build,
    complaints_demo_present,
    complaints_demo_remove,
    complaints_demo_summary,
)
from complaints.summaries import summaries_rebuild, summaries_trusted
from insurers.demo import DEMO_PASSWORD, SIZES, demo_build, demo_present, demo_remove
from sqi.demo import index_demo_remove, seed_index_demo
from sqi.demo_index import demo_index_publish

__all__ = ["DEMO_PASSWORD", "Command"]


class Command(BaseCommand):
    help = (
        "Create fictional demo insurers, org trees, officers, staff and reception days, "
        "two years of complaints against them, statistics, and the published index."
    )

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(SIZES), default="small")
        parser.add_argument("--seed", type=int, default=1, help="same seed, same data")
        parser.add_argument(
            "--reset", action="store_true", help="remove existing demo data first and rebuild"
        )

    def handle(self, *args, size, seed, reset, **options):
        if demo_present():
            if not reset:
                if complaints_demo_present():
                    self.stdout.write(
                        "Demo data already present; leaving it as it is (--reset rebuilds)."
                    )
                    self._complaints(started=None)
                else:  # insurers from before demo complaints existed: add the complaints
                    started = time.monotonic()
                    complaints_demo_build(size=size, seed=seed)
                    self._complaints(started=started, size=size, seed=seed)
                # Parts added by later versions of the demo are filled in (each is idempotent).
                self._cases(size=size, seed=seed)
                self._index(seed=seed)
                if not summaries_trusted():
                    self._summaries()
                self._accounts({})
                return
            # Mediation cases first (they hold their complaints), then the complaints (their
            # extensions are approved by demo users), then insurers and users.
            index_demo_remove()
            mediation_demo_remove()
            complaints_demo_remove()
            demo_remove()
        started = time.monotonic()
        result = demo_build(size=size, seed=seed)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ({size}, seed {seed}): {result.insurers} insurers, {result.units} org "
                f"units, {result.users} users, {result.reception_days} reception days "
                f"in {time.monotonic() - started:.1f} s."
            )
        )
        started = time.monotonic()
        complaints_demo_build(size=size, seed=seed)
        self._complaints(started=started, size=size, seed=seed)
        self._cases(size=size, seed=seed)
        self._index(seed=seed)
        self._summaries()
        self._accounts(result.accounts)

    def _summaries(self) -> None:
        """The demo writes complaints past the services, so the dashboard's summary tables
        are rebuilt from them (otherwise they would be stale until the nightly rebuild)."""
        started = time.monotonic()
        rows = summaries_rebuild()
        self.stdout.write(
            f"Dashboard summaries: {rows} rows in {time.monotonic() - started:.1f} s."
        )

    def _index(self, *, seed: int) -> None:
        """Statistics and raw claims consistent with the complaints, the rollups, then the
        index computed and published for each period and peer group."""
        started = time.monotonic()
        figures = seed_index_demo(seed=seed, today=timezone.localdate())
        runs = demo_index_publish(codes=figures["periods"])
        verb = "added" if figures["created"] else "present"
        self.stdout.write(
            f"Index statistics ({verb}): {figures['statistics']} statistics rows, "
            f"{figures['raw_claims']} raw claims, {figures['complaint_statistics']} complaint "
            f"statistics over {', '.join(figures['periods'])}."
        )
        for run in runs:
            index = run["industry_index"]
            self.stdout.write(
                f"  index {run['period']} {run['peer_group']}: run #{run['run']} {run['status']}"
                + (f", industry index {index}" if index is not None else "")
            )
        if runs:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Index: {len(runs)} runs in {time.monotonic() - started:.1f} s."
                )
            )

    def _cases(self, *, size: str, seed: int) -> None:
        showcase = showcase_demo_build()  # real award cases (kept by --reset) and invented drafts
        if not mediation_demo_present():
            mediation = mediation_demo_build(size=size, seed=seed)
            self.stdout.write(
                f"Demo mediation: {mediation['organisations']} organisations, "
                f"{mediation['cases']} cases, {mediation['sessions']} sessions."
            )
        self.stdout.write(
            f"Showcase cases: {showcase.awarded} awarded from {showcase.programmes} programmes "
            f"({showcase.insurers} real insurers, {showcase.created} added this run), "
            f"{showcase.workflow} invented cases in the workflow."
        )

    def _complaints(self, *, started: float | None, size: str = "", seed: int = 0) -> None:
        figures = complaints_demo_summary()
        line = (
            f"{figures['complaints']} complaints ({figures['open']} open, "
            f"{figures['overdue']} overdue), {figures['events']} timeline events"
        )
        if started is None:
            self.stdout.write(f"Demo complaints: {line}.")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo complaints ({size}, seed {seed}): {line} "
                    f"in {time.monotonic() - started:.1f} s."
                )
            )

    def _accounts(self, accounts: dict[str, str]) -> None:
        self.stdout.write("Demo accounts (every demo user has the same password):")
        for name, what in (accounts or dict.fromkeys(_ACCOUNTS, "")).items():
            self.stdout.write(f"  {name:<18} {what}")
        self.stdout.write(f"  password: {DEMO_PASSWORD}")


_ACCOUNTS = [
    "demo_admin",
    "demo_index_admin",
    "demo_chief",
    "demo_officer",
    "demo_staff",
    "demo_mediator",
]
