"""Throughput of the public pages against a trivial view, under gunicorn with Redis.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sqi_dev REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/pages.py [--seconds 10] [--processes 2] [--threads 4] [--rebuild]

PostgreSQL and Redis only. The data lives in a database of its own on DATABASE_URL's server,
``sqi_bench_pages`` (``--database``): created, migrated and filled with ``manage.py seed_demo
--size small`` (insurers, complaints, showcase cases and the published index) when missing,
then reused (a marker table says it was built); ``--rebuild`` drops and rebuilds it.

One gunicorn (``sqi.wsgi:application``, 2 sync workers on a free 127.0.0.1 port — the
production setup of docs/operations.md: sync workers behind a reverse proxy, one request per
connection) serves, one after the other and after a warm-up of each, for ``--seconds`` each:

- ``trivial``: ``/healthz/``, a view that returns "ok" through the same middleware;
- ``home``: ``/``, the public home page with the index board;
- ``profile``: ``/insurers/<slug>/``, the profile of the insurer with the longest index
  history (an awarded showcase case if any).

The requests are those of a first-time anonymous visitor (no cookies, Chinese): the pages
come from the page cache (sqi/page_cache.py) in Redis, each with a fresh CSRF token and
cookie. The cache is a Redis database of the bench's own (``--redis-db``, default 12; the
cache is the next one), flushed at the start.

The load generator: ``--processes`` processes × ``--threads`` threads, each a blocking
loop of connect, send, read until the server closes, with stdlib sockets (no HTTP library
on the hot path, no GIL shared across processes). It prints the CPU it used beside that of
the two gunicorn workers, so that one can see the server, not the client, is the limit.

For each URL: requests, requests/s, p50, p95 and p99 latency (connect to last byte), the
ratio of its requests/s to the trivial view's. Exits non-zero on any non-200 answer or
connection error. The last line is for scripts:

    pages ratio_home=<x> ratio_profile=<x>
"""

import argparse
import multiprocessing
import os
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
DATABASE = "sqi_bench_pages"
MARKER = "bench_pages_marker"


# ---- the load generator (runs in spawned processes: stdlib only) ------------------------------


def _request_bytes(path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Language: zh-CN,zh;q=0.9\r\n"
        "User-Agent: sqi-bench-pages\r\nConnection: close\r\n\r\n"
    ).encode()


def _fetch(port: int, request: bytes) -> tuple[int, int]:
    """One request on a new connection: (status, bytes received)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(request)
        chunks = []
        while True:
            data = s.recv(262144)
            if not data:
                break
            chunks.append(data)
    response = b"".join(chunks)
    status = int(response[9:12]) if response.startswith(b"HTTP/1.") else 0
    return status, len(response)


def client_process(port, path, threads, start_at, stop_at, results) -> None:
    """``threads`` threads request ``path`` from ``start_at`` to ``stop_at`` (wall clock)."""
    request = _request_bytes(path)
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: Counter = Counter()
    errors = [0]
    received = [0]

    def loop():
        own, own_statuses, own_errors, own_bytes = [], Counter(), 0, 0
        while time.time() < start_at:
            time.sleep(0.001)
        while time.time() < stop_at:
            t0 = time.perf_counter()
            try:
                status, size = _fetch(port, request)
            except OSError:
                own_errors += 1
                continue
            own.append((time.perf_counter() - t0) * 1000)
            own_statuses[status] += 1
            own_bytes += size
        with lock:
            latencies.extend(own)
            statuses.update(own_statuses)
            errors[0] += own_errors
            received[0] += own_bytes

    cpu0 = os.times()
    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    cpu1 = os.times()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    results.put((latencies, dict(statuses), errors[0], received[0], cpu))


def measure(*, port: int, master_pid: int, path: str, seconds: float, processes: int, threads):
    """Load ``path`` for ``seconds``: a dict of the figures."""
    from proc_cpu import children_cpu  # bench/proc_cpu.py

    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    start_at = time.time() + 1.0  # every process started and connected by then
    stop_at = start_at + seconds
    procs = [
        ctx.Process(target=client_process, args=(port, path, threads, start_at, stop_at, results))
        for _ in range(processes)
    ]
    for p in procs:
        p.start()
    while time.time() < start_at:
        time.sleep(0.001)
    server_cpu0 = children_cpu(master_pid)
    gathered = [results.get(timeout=seconds + 120) for _ in procs]
    server_cpu = children_cpu(master_pid) - server_cpu0
    for p in procs:
        p.join(30)
    latencies = [x for r in gathered for x in r[0]]
    statuses: Counter = Counter()
    for r in gathered:
        statuses.update(r[1])
    return {
        "path": path,
        "seconds": seconds,
        "latencies": latencies,
        "statuses": statuses,
        "errors": sum(r[2] for r in gathered),
        "bytes": sum(r[3] for r in gathered),
        "client_cpu": sum(r[4] for r in gathered),
        "server_cpu": server_cpu,
    }


def combine(parts: list[dict]) -> dict:
    """The figures of one URL over its rounds."""
    latencies = sorted(x for p in parts for x in p["latencies"])
    statuses: Counter = Counter()
    for p in parts:
        statuses.update(p["statuses"])
    seconds = sum(p["seconds"] for p in parts)
    ok = statuses.get(200, 0)

    def pct(q: float) -> float:
        if len(latencies) < 2:
            return latencies[0] if latencies else 0.0
        return statistics.quantiles(latencies, n=100, method="inclusive")[int(q) - 1]

    server_cpu = sum(p["server_cpu"] for p in parts)
    return {
        "path": parts[0]["path"],
        "requests": len(latencies),
        "ok": ok,
        "statuses": dict(statuses),
        "errors": sum(p["errors"] for p in parts),
        "rps": ok / seconds,
        "p50": pct(50),
        "p95": pct(95),
        "p99": pct(99),
        "kb": sum(p["bytes"] for p in parts) / max(1, len(latencies)) / 1024,
        "client_cpu": sum(p["client_cpu"] for p in parts) / seconds,
        "server_cpu": server_cpu / seconds,
        "cpu_ms": server_cpu * 1000 / max(1, ok),
    }


# ---- data -------------------------------------------------------------------------------------


def build_if_missing(rebuild: bool) -> None:
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [MARKER])
        present = cursor.fetchone()[0] is not None
    if present and not rebuild:
        print(f"database {DATABASE}: reusing the demo built earlier")
        return
    started = time.perf_counter()
    call_command("seed_demo", size="small", seed=1, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {MARKER} (built timestamptz)")
        cursor.execute(f"INSERT INTO {MARKER} VALUES (now())")  # noqa: S608
    print(f"database {DATABASE}: seed_demo --size small in {time.perf_counter() - started:.0f} s")


def profile_slug() -> str:
    """The insurer with the most published results (then an awarded case), for its profile."""
    from django.db.models import Count, Q

    from cases.models import ShowcaseStatus
    from insurers.models import Insurer
    from sqi.models import RunStatus

    insurer = (
        Insurer.objects.annotate(
            results=Count(
                "index_results", filter=Q(index_results__run__status=RunStatus.PUBLISHED)
            ),
            cases=Count("showcase_cases", filter=Q(showcase_cases__status=ShowcaseStatus.AWARDED)),
        )
        .filter(results__gt=0)
        .order_by("-results", "-cases", "slug")
        .first()
    )
    if insurer is None:
        sys.exit("no insurer has a published index result: the demo did not publish the index")
    return insurer.slug


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def page_keys(url: str) -> int:
    import redis

    return sum(1 for _ in redis.Redis.from_url(url).scan_iter("*public-pages:page:*"))


# ---- main -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2, help="seconds per URL before")
    parser.add_argument("--rounds", type=int, default=5, help="the seconds split in turns")
    parser.add_argument("--processes", type=int, default=2, help="load-generator processes")
    parser.add_argument("--threads", type=int, default=4, help="connections per process")
    parser.add_argument(
        "--recheck",
        type=float,
        default=None,
        help="PUBLIC_PAGE_CACHE_RECHECK_SECONDS for gunicorn (default: the settings' 0.25)",
    )
    parser.add_argument("--redis-db", type=int, default=12)
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the data")
    args = parser.parse_args()

    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url.startswith("redis://"):
        sys.exit("bench/pages.py needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0")
    sys.path.insert(0, str(BENCH_DIR))
    from intake import Gunicorn, redis_db_url  # bench/intake.py
    from scratch_db import bench_url, configure, ensure_database  # bench/scratch_db.py

    redis_url = redis_db_url(redis_url, args.redis_db)
    cache_url = redis_db_url(redis_url, args.redis_db + 1)
    url, admin_url = bench_url(args.database, "bench/pages.py")
    created = ensure_database(admin_url, args.database, drop=args.rebuild)
    configure(url)
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0, interactive=False)
    build_if_missing(rebuild=created or args.rebuild)
    slug = profile_slug()
    connections.close_all()
    flush_redis(cache_url)

    if args.recheck is not None:
        os.environ["PUBLIC_PAGE_CACHE_RECHECK_SECONDS"] = str(args.recheck)
    recheck = os.environ.get("PUBLIC_PAGE_CACHE_RECHECK_SECONDS", "0.25")
    pages = [("trivial", "/healthz/"), ("home", "/"), ("profile", f"/insurers/{slug}/")]
    load = {"processes": args.processes, "threads": args.threads}
    server = Gunicorn(database_url=url, redis_url=redis_url)
    try:
        server.start()
        master = server.process.pid
        print(
            f"gunicorn: 2 sync workers on 127.0.0.1:{server.port} (Redis cache {cache_url}); "
            f"load: {args.processes} processes x {args.threads} threads, new connection per "
            f"request; {args.warmup:g} s warm-up then {args.seconds:g} s per URL in "
            f"{args.rounds} rounds; PUBLIC_PAGE_CACHE_RECHECK_SECONDS={recheck}"
        )
        for name, path in pages:
            status, _size = _fetch(server.port, _request_bytes(path))
            if status != 200:
                print(f"{name} {path}: status {status}\n{server.tail()}")
                return 1
            measure(port=server.port, master_pid=master, path=path, seconds=args.warmup, **load)
        print(f"pages in the Redis cache after the warm-up: {page_keys(cache_url)}")
        # Rounds in turn (trivial, home, profile, trivial, …): a change in what else the
        # machine is doing weighs on every URL alike, not on one.
        rounds = {name: [] for name, _path in pages}
        for _round in range(args.rounds):
            for name, path in pages:
                rounds[name].append(
                    measure(
                        port=server.port,
                        master_pid=master,
                        path=path,
                        seconds=args.seconds / args.rounds,
                        **load,
                    )
                )
        figures = {name: combine(parts) for name, parts in rounds.items()}
    finally:
        server.stop()

    base = figures["trivial"]["rps"]
    print(
        f"{'page':8} {'path':40} {'requests':>8} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7} {'KiB':>6} {'ratio':>6} {'cpu srv':>7} {'cpu cli':>7} {'ms/req':>6}"
    )
    failed = False
    for name, f in figures.items():
        print(
            f"{name:8} {f['path']:40} {f['requests']:8d} {f['rps']:8.1f} {f['p50']:7.2f} "
            f"{f['p95']:7.2f} {f['p99']:7.2f} {f['kb']:6.1f} {f['rps'] / base:6.3f} "
            f"{f['server_cpu']:7.2f} {f['client_cpu']:7.2f} {f['cpu_ms']:6.3f}"
        )
        if f["errors"] or f["ok"] != f["requests"]:
            failed = True
            print(f"  {name}: statuses {f['statuses']}, connection errors {f['errors']}")
    print(
        "(cpu srv / cli: cores busy on average, the two gunicorn workers / the load generator;"
        " ms/req: CPU of the workers per answered request)"
    )
    cpu_base = figures["trivial"]["cpu_ms"]
    print(
        "worker CPU per request, trivial / page (independent of what else the machine runs): "
        f"home {cpu_base / figures['home']['cpu_ms']:.3f}, "
        f"profile {cpu_base / figures['profile']['cpu_ms']:.3f}"
    )
    ratio_home = figures["home"]["rps"] / base
    ratio_profile = figures["profile"]["rps"] / base
    print(f"pages ratio_home={ratio_home:.3f} ratio_profile={ratio_profile:.3f}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
