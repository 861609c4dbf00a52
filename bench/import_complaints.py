"""Time a complaint file import: 10,000 valid rows through ``complaints.importing``.

    .venv/bin/python bench/import_complaints.py [--rows 10000] [--format csv|xlsx]

Without ``DATABASE_URL`` it migrates a fresh SQLite file in a temporary directory; with a
PostgreSQL ``DATABASE_URL`` it creates a throwaway database ``sqi_bench_import_<pid>`` on
that server and drops it afterwards. The developer's own database is never written.

It builds one insurer (head office, four branches), a consumer-protection staff member at
the head office, and a file of ``--rows`` valid complaints spread over the branches, the
product lines, categories and channels, every one with an ID number (so each row pays for
the Fernet encryption and the keyed hash, as real files do). Then it imports the file
exactly as the page does, checks that every row arrived, and prints where the time went.
The last line is for scripts:

    import rows=<n> seconds=<x>
"""

import argparse
import csv
import datetime
import io
import os
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def configure(tmpdir: str) -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url or url.startswith("sqlite"):
        os.environ["DATABASE_URL"] = f"sqlite:///{tmpdir}/bench.sqlite3"
    os.environ["REDIS_URL"] = ""  # nothing here needs a broker or a shared cache
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sqi.settings")
    sys.path.insert(0, str(BASE_DIR))

    import django

    django.setup()


def build_org():
    """One insurer with a head office and four branches; a staff member at the head office."""
    from bench.org import insurer_with_staff

    return insurer_with_staff(
        name_zh="基准财产保险股份有限公司",
        short_name="基准财险",
        code_body="91310000000000001",
        cities=("上海", "北京", "广东", "浙江"),
        username="bench_import",
    )


def make_rows(n: int, insurer, branches) -> list[list]:
    from complaints import idnumber
    from complaints.importing import COLUMNS

    kinds = [
        ("车险", "理赔纠纷", "理赔时效"),
        ("寿险", "销售纠纷", "销售误导"),
        ("健康险", "理赔纠纷", "拒赔"),
        ("家财险", "服务态度", ""),
        ("意外险", "退保纠纷", ""),
    ]
    channels = ["客服热线", "监管转办（12378）", "线上（App、小程序、网站）", "柜面"]
    start = datetime.datetime(2026, 1, 5, 9, 0)
    rows = []
    for i in range(n):
        product, category, sub = kinds[i % len(kinds)]
        born = datetime.date(1940 + i % 60, 1 + i % 12, 1 + i % 28)
        row = {
            "insurer": insurer.credit_code,
            "org_unit": branches[i % len(branches)].name,
            "product_line": product,
            "category": category,
            "subcategory": sub,
            "channel": channels[i % len(channels)],
            "amount_in_dispute": f"{(i * 37) % 50000}.00" if i % 3 else "",
            "narrative": f"第{i + 1}号投诉：出险后理赔迟迟没有结果，多次致电客服未获答复。" * 3,
            "complainant_name": "张三",
            "complainant_phone": f"13{i:09d}",
            "complainant_id_number": idnumber.make("310101", born, i % 1000),
            "received_at": (start + datetime.timedelta(minutes=7 * i)).strftime("%Y-%m-%d %H:%M"),
        }
        rows.append([row[c.key] for c in COLUMNS])
    return rows


def as_file(rows: list[list], fmt: str) -> bytes:
    from complaints.importing import COLUMNS

    headers = [c.header for c in COLUMNS]
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(headers)
        for row in rows:
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(headers)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


def timed(module, name: str, spent: dict) -> None:
    """Wrap ``module.name`` so that its time is added to ``spent[name]``."""
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - start

    setattr(module, name, wrapper)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    args = parser.parse_args()

    tmpdir = tempfile.mkdtemp(prefix="sqi-bench-")
    configure(tmpdir)
    from django.db import connection
    from scratch_db import throwaway_database  # bench/scratch_db.py

    with throwaway_database("sqi_bench_import", tmpdir) as name:
        print(f"database: {connection.vendor} {name}")

        from complaints import importing
        from complaints.models import Complaint, Event

        insurer, branches, user = build_org()
        data = as_file(make_rows(args.rows, insurer, branches), args.format)
        print(f"file: {args.format}, {args.rows} rows, {len(data) / 1048576:.1f} MB")

        spent: dict[str, float] = {}
        for step in ("read_table", "_build_rows", "_save"):
            timed(importing, step, spent)
        start = time.perf_counter()
        result = importing.complaints_import(by=user, file=data, file_name=f"bench.{args.format}")
        seconds = time.perf_counter() - start

        if not result.ok:
            for error in result.errors[:10]:
                print(f"  row {error.row} {error.column}: {error.message}")
            print(f"import failed with {len(result.errors)} errors")
            return 1
        assert Complaint.objects.count() == args.rows == Event.objects.count()
        assert Complaint.history.count() == args.rows
        print(f"references {result.references[0]} … {result.references[-1]}")
        print(
            "read {:.2f} s, validate {:.2f} s, write {:.2f} s".format(
                spent["read_table"], spent["_build_rows"], spent["_save"]
            )
        )
        print(f"import rows={args.rows} seconds={seconds:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
