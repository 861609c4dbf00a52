"""``manage.py compute_index --period 2025 --peer-group property [--publish]``.

Runs the ``compute_index`` Celery task in this process (``--queue`` sends it through the
broker to a worker instead and waits for it). Prints the run, its status, the industry index
and the validation report; exits non-zero when the run failed.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from sqi import runs
from sqi.models import IndexRun, PeerGroup, RunStatus
from sqi.tasks import compute_index


class Command(BaseCommand):
    help = "Compute (and optionally publish) the Service Quality Index for a period."

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="2025, or 2025H1 / 2025H2")
        parser.add_argument(
            "--peer-group",
            required=True,
            action="append",
            choices=[*PeerGroup.values, "all"],
            help="property, life, health or all (may be repeated)",
        )
        parser.add_argument("--methodology", help="methodology version (default: the default)")
        parser.add_argument("--publish", action="store_true", help="publish when validated")
        parser.add_argument(
            "--queue", action="store_true", help="run on a Celery worker (needs REDIS_URL)"
        )
        parser.add_argument(
            "--timeout", type=float, default=600, help="seconds to wait for a worker"
        )

    def handle(self, *args, **options):
        groups = options["peer_group"]
        if "all" in groups:
            groups = list(PeerGroup.values)
        failed = 0
        for group in dict.fromkeys(groups):
            try:
                run = runs.index_run_create(
                    period=options["period"], peer_group=group, methodology=options["methodology"]
                )
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from None
            args = (options["period"], group, options["methodology"])
            kwargs = {"run_id": run.pk, "publish": options["publish"]}
            if options["queue"]:
                compute_index.apply_async(args, kwargs).get(timeout=options["timeout"])
            else:
                compute_index.apply(args, kwargs).get()
            run = IndexRun.objects.get(pk=run.pk)
            failed += run.status == RunStatus.FAILED
            self.report(run)
        if failed:
            raise CommandError(f"{failed} run(s) failed")

    def report(self, run: IndexRun) -> None:
        style = self.style.ERROR if run.status == RunStatus.FAILED else self.style.SUCCESS
        self.stdout.write(
            style(
                f"run #{run.pk} {run.period.code} {run.peer_group} "
                f"({run.methodology.version}): {run.status}"
            )
        )
        self.stdout.write(f"  fingerprint {run.fingerprint or '-'}")
        if run.industry_index is not None:
            self.stdout.write(
                f"  industry index {run.industry_index}; {run.results.count()} insurers scored"
            )
        for item in run.excluded:
            self.stdout.write(f"  excluded {item['code']}: {item['reason']}")
        for check in run.validation:
            mark = "ok " if check["ok"] else "FAIL"
            self.stdout.write(f"  [{mark}] {check['check']}: {check['detail']}")
        if run.error:
            self.stdout.write(self.style.ERROR(f"  error: {run.error}"))
