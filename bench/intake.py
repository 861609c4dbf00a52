"""Complaint intake under load: gunicorn (2 workers), PostgreSQL, Redis, N clients.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sqi_dev REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/intake.py [--clients 8] [--seconds 20] [--worker-class gthread] \\
        [--worker]

It drops and recreates its own database ``sqi_bench_intake`` on DATABASE_URL's server (a
clean row count every run), migrates it, and builds one insurer (head office, two branches)
and a consumer-protection staff member at the head office with an API token — the way an
integration posts. Then it starts gunicorn with 2 workers on a free 127.0.0.1 port, and
``--clients`` threads, each on one keep-alive connection, POST distinct valid complaints to
``/api/v1/complaints/`` for ``--seconds``. Afterwards the number of 201 answers must equal the
complaints in the database, with no 5xx.

Then the idempotency storm: 50 clients, released together by a barrier, send the same body
with the same ``Idempotency-Key``; there must be exactly one complaint for it and every client
must get the same reference.

Celery messages (intake wakes the outbox relay through Redis) go to a Redis database of the
bench's own (``--redis-db``, default 10; the cache the next one), never to the developer's
queue, and are deleted at the end. No worker runs meanwhile (with ``--worker`` one does, on
the same two cores, and the run waits for it to catch up): what intake left to the batched
task (summary tables, notifications) is then done here, in-process, as a worker would, and
its time and CPU per complaint are printed; nothing may be left owed, and the
summary tables must equal a full rebuild. Exits non-zero when 201s != rows, on any 5xx,
when the storm fails or the deferred work is not all done. The last line is for scripts:

    intake rps=<x> p99_ms=<x> responses_201=<n> rows=<n> errors_5xx=<n>
"""

import argparse
import http.client
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
URL = "/api/v1/complaints/"
DATABASE = "sqi_bench_intake"


# ---- gunicorn ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """``sqi.wsgi:application`` under gunicorn on a free loopback port; a context manager."""

    def __init__(
        self,
        *,
        database_url: str,
        redis_url: str,
        workers: int = 2,
        worker_class: str = "sync",
        threads: int = 4,
        log_path: str | None = None,
    ):
        self.port = free_port()
        self.database_url, self.redis_url = database_url, redis_url
        self.workers, self.worker_class, self.threads = workers, worker_class, threads
        self.log_path = log_path or os.path.join(tempfile.gettempdir(), f"intake-{self.port}.log")
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Gunicorn":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, timeout: float = 30) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "sqi.settings",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SQI_ENV": "development",
        }
        env.pop("REDIS_CACHE_URL", None)
        env.pop("PYTEST_XDIST_WORKER", None)
        gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
        command = [
            gunicorn,
            "sqi.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            self.worker_class,
            "--backlog",
            "2048",
            "--timeout",
            "60",
        ]
        if self.worker_class == "gthread":
            command += ["--threads", str(self.threads), "--keep-alive", "5"]
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/admin/login/")
                status = conn.getresponse().status
                conn.close()
                if status < 500:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {timeout} s: {self.tail()}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
            self.process = None
            self.log.close()

    def tail(self, n: int = 3000) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")[-n:]
        except OSError:
            return ""


# ---- clients ----------------------------------------------------------------------------------


@dataclass
class LoadResult:
    seconds: float
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    connection_errors: int = 0
    samples: list[str] = field(default_factory=list)  # a few non-201 bodies, for the report

    @property
    def created(self) -> int:
        return self.statuses.get(201, 0)

    @property
    def errors_5xx(self) -> int:
        return sum(n for code, n in self.statuses.items() if code >= 500)

    @property
    def rps(self) -> float:
        return self.created / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(p) - 1]


def _post(conn, body: bytes, headers: dict) -> tuple[int, bytes]:
    conn.request("POST", URL, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def run_load(*, port: int, token: str, make_body, clients: int, seconds: float) -> LoadResult:
    """``clients`` threads POST ``make_body(i)`` (distinct i) for ``seconds``, each on one
    keep-alive connection. A request whose connection fails is counted, never retried (it
    may have been served: a retry would break the 201s == rows check)."""
    headers = {
        "Authorization": f"Token {token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    lock = threading.Lock()
    counter = iter(range(10**9))
    per_thread: list[tuple[dict, list, int, list]] = []
    start_barrier = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client():
        statuses: dict[int, int] = {}
        latencies: list[float] = []
        errors = 0
        samples: list[str] = []
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start_barrier.wait()
        while time.monotonic() < stop_at[0]:
            with lock:
                i = next(counter)
            body = json.dumps(make_body(i)).encode()
            t0 = time.perf_counter()
            try:
                status, payload = _post(conn, body, headers)
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            latencies.append((time.perf_counter() - t0) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
            if status != 201 and len(samples) < 3:
                samples.append(f"{status}: {payload[:300].decode(errors='replace')}")
        conn.close()
        with lock:
            per_thread.append((statuses, latencies, errors, samples))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + seconds
    began = time.monotonic()
    start_barrier.wait()
    for t in threads:
        t.join(seconds + 120)
    result = LoadResult(seconds=time.monotonic() - began)
    for statuses, latencies, errors, samples in per_thread:
        for code, n in statuses.items():
            result.statuses[code] = result.statuses.get(code, 0) + n
        result.latencies_ms.extend(latencies)
        result.connection_errors += errors
        result.samples.extend(samples[: max(0, 5 - len(result.samples))])
    return result


def idempotency_storm(
    *, port: int, token: str, body: dict, key: str, clients: int = 50
) -> list[tuple[int, str | None]]:
    """``clients`` threads connect, wait at a barrier, then all send the same body with the
    same Idempotency-Key. Returns (status, reference) per client (status 0: no answer)."""
    headers = {
        "Authorization": f"Token {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": key,
    }
    data = json.dumps(body).encode()
    barrier = threading.Barrier(clients)
    results: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def send():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.connect()
            barrier.wait()
            status, payload = _post(conn, data, headers)
            try:
                reference = json.loads(payload).get("reference")
            except ValueError:
                reference = None
            outcome = (status, reference)
        except (OSError, http.client.HTTPException, threading.BrokenBarrierError):
            outcome = (0, None)
        finally:
            conn.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=send, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


class CeleryWorker:
    """A Celery worker (solo pool, one process) on the bench's database and Redis, for
    ``--worker``: it runs intake's batched work while the load goes on."""

    def __init__(self, *, database_url: str, redis_url: str):
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "sqi.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SQI_ENV": "development",
        }
        self.env.pop("PYTEST_XDIST_WORKER", None)
        self.log_path = os.path.join(tempfile.gettempdir(), f"intake-worker-{os.getpid()}.log")
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        celery = shutil.which("celery", path=str(Path(sys.executable).parent)) or "celery"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [celery, "-A", "sqi", "worker", "--pool", "solo", "-l", "warning"],
            cwd=BASE_DIR,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def cpu(self) -> float:
        from proc_cpu import children_cpu, process_cpu  # bench/proc_cpu.py

        if self.process is None:
            return 0.0
        return process_cpu(self.process.pid) + children_cpu(self.process.pid)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
            self.log.close()


def wait_until_caught_up(seconds: float = 180) -> float | None:
    """Seconds until no outbox row is pending and no complaint owes its summary (None: not
    within ``seconds``)."""
    from complaints.models import Complaint
    from outbox.models import OutboxMessage

    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        if not (
            OutboxMessage.objects.filter(dispatched_at__isnull=True).exists()
            or Complaint.objects.filter(summary_pending=True).exists()
        ):
            return time.perf_counter() - started
        time.sleep(0.2)
    return None


# ---- data -------------------------------------------------------------------------------------


def build_org():
    """One insurer (head office, two branches); a staff member at the head office with a
    token. Returns (insurer, branches, user, token key)."""
    from rest_framework.authtoken.models import Token

    from bench.org import insurer_with_staff

    insurer, branches, user = insurer_with_staff(
        name_zh="压测财产保险股份有限公司",
        short_name="压测财险",
        code_body="91310000000000002",
        cities=("上海", "北京"),
        username="bench_intake",
    )
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    # A handler at each branch, whom the deferred work notifies of each new complaint.
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from insurers import roles, services

    for n, branch in enumerate(branches):
        handler = get_user_model().objects.create_user(
            username=f"bench_handler_{n}", password=None, email=f"handler{n}@example.com"
        )
        handler.groups.add(Group.objects.get(name=roles.STAFF))
        services.unit_membership_add(user=handler, org_unit=branch)
    return insurer, branches, user, Token.objects.create(user=user).key


def body_maker(insurer_id: int, unit_ids: list[int]):
    """make_body(i): a distinct valid complaint (own phone and ID number) for each i."""
    import datetime

    from complaints import idnumber

    def make_body(i: int) -> dict:
        born = datetime.date(1960, 1, 1) + datetime.timedelta(days=i % 15000)
        return {
            "insurer": insurer_id,
            "org_unit": unit_ids[i % len(unit_ids)],
            "product_line": "motor",
            "category": "claims",
            "subcategory": "claim_delay",
            "channel": "online",
            "amount_in_dispute": f"{1000 + i % 50000}.00",
            "narrative": f"压测投诉 {i}：车辆出险后理赔迟迟没有结果，已经超过一个月。",
            "complainant_name": "张三",
            "complainant_phone": f"139{i % 10**8:08d}",
            "complainant_id_number": idnumber.make("310101", born, i % 1000),
        }

    return make_body


def redis_db_url(url: str, db: int) -> str:
    head, _, tail = url.rstrip("/").rpartition("/")
    return f"{head}/{db}" if tail.isdigit() else f"{url.rstrip('/')}/{db}"


def drop_celery_queue(url: str) -> None:
    """Delete the Celery queue the outbox filled (no worker consumes it here)."""
    try:
        import redis

        redis.Redis.from_url(url).delete("celery")
    except Exception as exc:  # cleanup only: never fail the run here
        print(f"note: could not clear the Celery queue at {url}: {exc}")


def drain_deferred_work() -> bool:
    """Do what intake left to the batched task (summaries, notifications), as the worker
    would: the relay's batches, in this process (no broker here, so in-process). Prints its
    time and CPU per complaint, and checks that nothing is left owed and that the summary
    tables equal a full rebuild."""
    from proc_cpu import named_cpu  # bench/proc_cpu.py

    from complaints import summaries
    from complaints.models import Complaint, Notification
    from outbox.models import OutboxMessage
    from outbox.services import outbox_relay_batches

    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)  # a line per batch
    owed = Complaint.objects.filter(summary_pending=True).count()
    wall, cpu, pg = time.perf_counter(), time.process_time(), named_cpu("postgres")
    total = {"sent": 0, "failed": 0}
    while True:
        counts = outbox_relay_batches(seconds=600)
        total = {k: total[k] + counts[k] for k in total}
        if not counts["sent"] or counts["failed"]:
            break
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    pg = named_cpu("postgres") - pg
    left = Complaint.objects.filter(summary_pending=True).count()
    pending = OutboxMessage.objects.filter(dispatched_at__isnull=True).count()
    kept = summaries.summary_rows()
    summaries.summaries_rebuild()
    equal = summaries.summary_rows() == kept
    per = 1000 / max(owed, 1)
    done = (
        f"deferred work for {owed} complaints (summaries, notifications and emails): "
        f"{total['sent']} outbox rows in {wall:.1f} s; CPU per complaint: this process "
        f"{cpu * per:.2f} ms, PostgreSQL {pg * per:.2f} ms"
        if owed
        else "deferred work: none left (the worker did it)"
    )
    print(
        f"{done}; {Notification.objects.count()} notifications in all; left owed {left}, "
        f"rows pending {pending}; summary tables "
        + ("equal" if equal else "DIFFERENT")
        + " to a full rebuild"
    )
    return total["failed"] == 0 and left == 0 and pending == 0 and equal


# ---- main -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync")
    parser.add_argument("--threads", type=int, default=4, help="per gthread worker")
    parser.add_argument("--storm", type=int, default=50, help="clients in the idempotency storm")
    parser.add_argument("--redis-db", type=int, default=10)
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument(
        "--worker",
        action="store_true",
        help="run a Celery worker meanwhile, doing intake's batched work as the load goes on",
    )
    args = parser.parse_args()

    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url.startswith("redis://"):
        sys.exit("bench/intake.py needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0")
    redis_url = redis_db_url(redis_url, args.redis_db)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from scratch_db import bench_url, configure, ensure_database  # bench/scratch_db.py

    url, admin_url = bench_url(args.database, "bench/intake.py")
    # The deferred work emails each notification: kept in memory, not printed.
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    t0 = time.perf_counter()
    ensure_database(admin_url, args.database, drop=True)
    configure(url)

    from django.core.management import call_command

    from complaints.models import Complaint, IdempotencyKey

    call_command("migrate", verbosity=0)
    insurer, branches, _user, token = build_org()
    make_body = body_maker(insurer.pk, [b.pk for b in branches])
    print(f"database {args.database}: migrated and built in {time.perf_counter() - t0:.1f} s")

    server = Gunicorn(
        database_url=url,
        redis_url=redis_url,
        worker_class=args.worker_class,
        threads=args.threads,
    )
    worker = CeleryWorker(database_url=url, redis_url=redis_url) if args.worker else None
    caught_up = None
    try:
        if worker is not None:
            worker.start()
        server.start()
        print(
            f"gunicorn: 2 workers ({args.worker_class}"
            + (f", {args.threads} threads each" if args.worker_class == "gthread" else "")
            + f") on 127.0.0.1:{server.port}; {args.clients} clients for {args.seconds:g} s"
        )
        from proc_cpu import children_cpu, named_cpu  # bench/proc_cpu.py

        def cpu_now() -> dict[str, float]:
            mine = os.times()
            return {
                "gunicorn workers": children_cpu(server.process.pid),
                "PostgreSQL": named_cpu("postgres"),
                "Redis": named_cpu("redis-server"),
                **({"Celery worker": worker.cpu()} if worker is not None else {}),
                "load generator": mine.user + mine.system,
            }

        cpu_before = cpu_now()
        load = run_load(
            port=server.port,
            token=token,
            make_body=make_body,
            clients=args.clients,
            seconds=args.seconds,
        )
        cpu_used = {k: v - cpu_before[k] for k, v in cpu_now().items()}
        rows = Complaint.objects.count()

        key = "bench-storm-1"
        storm_body = make_body(10**8 + 1)
        storm = idempotency_storm(
            port=server.port, token=token, body=storm_body, key=key, clients=args.storm
        )
        if worker is not None:
            caught_up = wait_until_caught_up()
            worker_cpu = worker.cpu() - cpu_before["Celery worker"]
    except BaseException:
        print(server.tail(), file=sys.stderr)
        raise
    finally:
        server.stop()
        if worker is not None:
            worker.stop()
        drop_celery_queue(redis_url)

    storm_rows = Complaint.objects.count() - rows
    storm_keys = IdempotencyKey.objects.filter(key=key).count()
    storm_codes = sorted(code for code, _ in storm)
    storm_refs = {ref for _, ref in storm}
    storm_ok = (
        len(storm) == args.storm
        and storm_codes.count(201) == 1
        and storm_codes.count(200) == args.storm - 1
        and len(storm_refs) == 1
        and None not in storm_refs
        and storm_rows == 1
        and storm_keys == 1
    )

    print(
        f"statuses: {dict(sorted(load.statuses.items()))}  connection errors: "
        f"{load.connection_errors}"
    )
    for sample in load.samples:
        print(f"  {sample}")
    print(
        f"sustained: {load.rps:.1f} complaints/s over {load.seconds:.1f} s; latency "
        f"p50 {load.percentile(50):.1f} ms, p95 {load.percentile(95):.1f} ms, "
        f"p99 {load.percentile(99):.1f} ms, max {max(load.latencies_ms, default=0):.1f} ms"
    )
    if load.created:
        busy = sum(cpu_used.values()) / load.seconds
        print(
            "CPU per complaint: "
            + ", ".join(f"{k} {v / load.created * 1000:.1f} ms" for k, v in cpu_used.items())
            + f"; {busy:.2f} of {os.cpu_count()} cores busy"
        )
    print(
        f"201 responses {load.created} vs complaints in the database {rows}: "
        + ("equal" if load.created == rows else "DIFFERENT")
    )
    print(
        f"idempotency storm: {args.storm} clients, answers "
        f"{ {c: storm_codes.count(c) for c in sorted(set(storm_codes))} }, "
        f"references {sorted(r or '-' for r in storm_refs)}, new complaints {storm_rows}, "
        f"key rows {storm_keys}: " + ("ok" if storm_ok else "FAILED")
    )
    if worker is not None:
        print(
            "Celery worker: "
            + (
                f"caught up {caught_up:.1f} s after the storm; "
                f"{worker_cpu / (rows + 1) * 1000:.2f} ms of its CPU per complaint"
                if caught_up is not None
                else "NOT caught up 180 s after the storm"
            )
            + f" (log: {worker.log_path})"
        )
    deferred_ok = drain_deferred_work() and (worker is None or caught_up is not None)
    ok = load.created == rows and load.errors_5xx == 0 and storm_ok and deferred_ok
    print(
        f"intake rps={load.rps:.1f} p99_ms={load.percentile(99):.1f} "
        f"responses_201={load.created} rows={rows} errors_5xx={load.errors_5xx}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
