"""The figures on the page (current beside previous, links to the complaint list, children
with officer activity) and the CSV / XLSX export of the figures table."""

import csv
import io
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from sqi.dashboard_table import FIGURES
from tests.sqi.dashboard_page.conftest import D, export_url, reception, unit_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def figures(tree, people, complaint_at):
    """February 2026 (the default period): 3 received at branch A1 (one in the sub-branch),
    1 at branch A2; January: 1 at branch A1. Reception days in February at both branches."""
    complaint_at(tree.branch_a1, D(2026, 2, 3))
    complaint_at(tree.branch_a1, D(2026, 2, 20), product_line="health")
    complaint_at(tree.sub_a1a, D(2026, 2, 25))
    complaint_at(tree.branch_a2, D(2026, 2, 5))
    complaint_at(tree.branch_a1, D(2026, 1, 15))
    reception(people.branch_officer, tree.branch_a1, D(2026, 2, 12), met=7, open_=2)
    reception(people.branch_officer, tree.branch_a1, D(2026, 2, 26), met=4)
    reception(people.sibling_officer, tree.branch_a2, D(2026, 1, 20), met=9)


def test_figures_beside_the_previous_period(client, clock, tree, people, figures):
    client.force_login(people.head_officer)
    response = client.get(unit_url(tree.head_a))
    ctx = response.context
    received = next(r for r in ctx["rows"] if r["key"] == "received")
    assert (received["current"], received["previous"]) == (4, 1)
    assert received["change"]["direction"] == "up"
    assert received["change"]["verdict"] is None
    html = response.content.decode()
    assert "February 2026, compared with January 2026" in html
    assert "▲" in html and "up by" in html
    # open / due soon / overdue link to the complaint list of this subtree
    links = {row["key"]: row["url"] for row in ctx["snapshot"]}
    assert set(links) == {"open", "due_soon", "overdue"}
    assert all(f"within={tree.head_a.pk}" in url for url in links.values())
    for url in links.values():
        assert f'href="{url.replace("&", "&amp;")}"' in html
    assert client.get(links["overdue"]).status_code == 200


def test_children_show_their_figures_and_officer_activity(client, clock, tree, people, figures):
    client.force_login(people.head_officer)
    response = client.get(unit_url(tree.head_a))
    rows = {row["unit"]: row for row in response.context["children"]}
    a1, a2 = rows[tree.branch_a1], rows[tree.branch_a2]
    assert (a1["received"], a2["received"]) == (3, 1)
    assert (a1["reception_days"], a1["consumers_met"], a1["follow_ups_open"]) == (2, 11, 2)
    assert a2["reception_days"] == 0  # held in January, outside the period
    assert a1["officer"]
    html = response.content.decode()
    assert "Reception days" in html and "Consumers met" in html and "Follow-ups open" in html


def test_filters_change_the_figures(client, clock, tree, people, figures):
    client.force_login(people.head_officer)
    response = client.get(unit_url(tree.head_a, product_line="health"))
    received = next(r for r in response.context["rows"] if r["key"] == "received")
    assert received["current"] == 1
    # the children's links keep the filter
    assert all("product_line=health" in row["url"] for row in response.context["children"])


def test_chart_data_and_table_alternatives(client, clock, tree, people, figures):
    client.force_login(people.head_officer)
    response = client.get(unit_url(tree.head_a, period="quarter", value="2026-Q1"))
    ctx = response.context
    # twelve months up to the quarter's end, the quarter's three marked
    chart = ctx["trend_chart"]
    assert chart["months"][0] == "2025-04" and chart["months"][-3:] == [
        "2026-01",
        "2026-02",
        "2026-03",
    ]
    assert chart["received"][-3:] == [1, 4, 0] and sum(chart["received"]) == 5
    assert chart["period"] == ["2026-01", "2026-03"]
    assert [m["month"] for m in ctx["trend"] if m["in_period"]] == chart["months"][-3:]
    # a year is long enough on its own
    year = client.get(unit_url(tree.head_a, period="year", value="2025")).context
    assert year["trend_chart"]["months"][0] == "2025-01" and year["trend_chart"]["period"] is None
    html = response.content.decode()
    for chart in ("trend", "categories", "children"):
        assert f'id="dash-{chart}-chart"' in html
        assert f'id="dash-{chart}-data"' in html
    for caption in ("trend-caption", "categories-caption", "children-caption"):
        assert f'id="{caption}"' in html
    assert "<script>" not in html  # CSP: data only, no inline code


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_export(client, clock, tree, people, figures):
    client.force_login(people.head_officer)
    response = client.get(export_url(tree.head_a, format="csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    disposition = unquote(response["Content-Disposition"])
    assert tree.head_a.name in disposition and "2026-02.csv" in disposition
    rows = read_csv(response)
    assert rows[0] == ["Figure", "Unit of measure", "February 2026", "January 2026", "Difference"]
    assert len(rows) == 1 + len(FIGURES)
    by_label = {row[0]: row for row in rows[1:]}
    assert by_label["Complaints received"][1:] == ["number", "4", "1", "3"]
    # not computable stays empty, never 0: nothing was decided
    assert by_label["Decided within the deadline"][2:] == ["", "", ""]
    # open now has no previous period
    assert by_label["Open now"][3] == ""


def test_csv_export_follows_the_filters(client, clock, tree, people, figures):
    client.force_login(people.head_officer)
    url = export_url(
        tree.head_a, format="csv", period="custom", start="2026-01-01", end="2026-02-28"
    )
    response = client.get(url)
    rows = read_csv(response)
    assert rows[0][2:4] == ["2026-01-01 to 2026-02-28", "2025-11-03 to 2025-12-31"]
    assert "20260101-20260228.csv" in unquote(response["Content-Disposition"])
    received = next(row for row in rows if row[0] == "Complaints received")
    assert received[2] == "5"


def test_xlsx_export(client, clock, tree, people, figures):
    client.force_login(people.chief)
    response = client.get(
        export_url(
            tree.group, format="xlsx", insurer=tree.insurer_a.pk, period="year", value="2026"
        )
    )
    assert response.status_code == 200
    assert "2026.xlsx" in unquote(response["Content-Disposition"])
    book = load_workbook(io.BytesIO(response.content))
    sheet, about = book.worksheets
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Figure", "Unit of measure", "Year 2026", "Year 2025", "Difference")
    assert len(rows) == 1 + len(FIGURES)
    received = next(row for row in rows if row[0] == "Complaints received")
    assert received[2:4] == (5, 0)
    facts = dict(about.iter_rows(values_only=True))
    assert facts["Org unit"] == tree.group.name
    assert facts["Insurer"] == tree.insurer_a.short_name


def test_export_refuses_bad_format_and_sends_bad_filters_back(client, clock, tree, people):
    client.force_login(people.head_officer)
    assert client.get(export_url(tree.head_a, format="pdf")).status_code == 404
    response = client.get(export_url(tree.head_a, format="csv", period="month", value="x"))
    assert response.status_code == 302
    assert response["Location"] == unit_url(tree.head_a, period="month", value="x")


def test_change_is_rounded_and_judged():
    from sqi.dashboard_table import BY_KEY, change

    moved = change(BY_KEY["received"], 5, 6)
    assert (moved["direction"], moved["text"], moved["percent"]) == ("down", "1", "17")
    assert moved["verdict"] is None
    assert change(BY_KEY["on_time_rate"], 0.9, 0.85)["verdict"] == "better"
    assert change(BY_KEY["days_to_decision.median"], 12.0, 10.0)["verdict"] == "worse"
    assert change(BY_KEY["on_time_rate"], None, 0.85) is None
    assert change(BY_KEY["open"], 3, 3) is None  # counted today: nothing to compare


def test_index_panel_and_report_links(client, clock, tree, people):
    client.force_login(people.chief)
    group = client.get(unit_url(tree.group))
    # a group: the panel waits for an insurer to be chosen, with a link for each
    links = {g["insurer"]: g["url"] for g in group.context["group_insurers"]}
    assert set(links) == {tree.insurer_a, tree.insurer_b}
    assert links[tree.insurer_a] == unit_url(tree.group, insurer=tree.insurer_a.pk)
    assert "sqi/dashboard/_index_panel.html" not in [t.name for t in group.templates]
    chosen = client.get(links[tree.insurer_a])
    assert chosen.context["group_insurers"] == []
    assert chosen.context["panel_insurer"] == tree.insurer_a
    assert "sqi/dashboard/_index_panel.html" in [t.name for t in chosen.templates]
    # a head office: its own insurer; a branch: none
    head = client.get(unit_url(tree.head_a))
    assert head.context["panel_insurer"] == tree.insurer_a
    assert client.get(unit_url(tree.branch_a1)).context["panel_insurer"] is None
    # the monthly report of the chosen month once it is over, else of the last full month
    assert head.context["report_pdf_url"] == f"/reports/{tree.head_a.pk}/2026-02/report.pdf"
    january = client.get(unit_url(tree.head_a, period="month", value="2026-01"))
    assert january.context["report_pdf_url"].endswith("/2026-01/report.pdf")
    running = client.get(unit_url(tree.head_a, period="quarter", value="2026-Q1"))
    assert running.context["report_pdf_url"].endswith("/2026-02/report.pdf")
    assert "data-report-pdf" in head.content.decode()
