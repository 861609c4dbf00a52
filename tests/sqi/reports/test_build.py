"""``sqi.reports.unit_report_build``: one report per unit and month, a real PDF (rendered
here to a page image), the figures kept as a snapshot, the officer told once."""

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image

from complaints.models import Notification
from sqi import reports
from sqi.models import UnitReport

from .conftest import BUILT_ON, FEBRUARY

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="poppler-utils is not installed (apt-get install)"
)


def build(unit, **kwargs):
    return reports.unit_report_build(unit=unit, month="2026-02", today=BUILT_ON, **kwargs)


@pytest.mark.django_db
def test_build_stores_a_pdf_and_the_figures(story, private_media):
    report, built = build(story.tree.branch_a1)
    assert built
    assert report.month == FEBRUARY
    assert report.pdf.name == f"reports/{story.tree.branch_a1.pk}/2026-02.pdf"
    assert (Path(private_media) / report.pdf.name).is_file()
    with pytest.raises(ValueError, match="no URL"):
        report.pdf.url  # noqa: B018 - never served by URL
    with report.pdf.open("rb") as f:
        assert f.read(5) == b"%PDF-"
    figures = report.figures
    assert json.loads(json.dumps(figures)) == figures  # plain JSON
    assert figures["month"] == "2026-02" and figures["previous_month"] == "2026-01"
    # three complaints at A1 and one at its sub-branch in February; one in January
    assert figures["current"]["received"] == 4
    assert figures["previous"]["received"] == 1
    assert [row["unit"] for row in figures["children"]] == [story.tree.sub_a1a.name]
    assert len(figures["trend"]) == 12 and figures["trend"][-1]["month"] == "2026-02"
    assert figures["trend"][-1]["received"] == 4
    assert figures["index"] == []  # a branch covers part of an insurer only


@needs_poppler
@pytest.mark.django_db
def test_the_pdf_renders_to_a_page_with_chinese_text(story, tmp_path):
    report, _ = build(story.tree.group)
    pdf = tmp_path / "report.pdf"
    with report.pdf.open("rb") as f:
        pdf.write_bytes(f.read())
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    page = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    width, height = page.size
    assert width > 200 and height > 200
    dark = sum(page.histogram()[:200])  # pixels darker than light grey
    assert dark > 0.002 * width * height, "the page is blank"
    text = subprocess.run(
        ["pdftotext", "-l", "1", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert story.tree.group.name in text  # 示例集团: a CJK font is embedded, not boxes
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    assert "yes" in fonts  # embedded


@pytest.mark.django_db
def test_building_again_changes_nothing(story, private_media):
    first, built = build(story.tree.branch_a1)
    pdf_bytes = first.pdf.open("rb").read()
    second, built_again = build(story.tree.branch_a1)
    assert built and not built_again
    assert second.pk == first.pk and second.built == first.built
    assert second.pdf.open("rb").read() == pdf_bytes
    assert UnitReport.objects.count() == 1


@pytest.mark.django_db
def test_rebuild_replaces_the_snapshot_and_the_file_under_the_same_name(story, private_media):
    from .conftest import receive

    first, _ = build(story.tree.branch_a1)
    receive(story.staff_a1, story.tree.branch_a1, dt.date(2026, 2, 27))
    again, built = build(story.tree.branch_a1, rebuild=True, by=story.officer_a1)
    assert built and again.pk == first.pk
    assert again.figures["current"]["received"] == 5
    assert again.built_by == story.officer_a1
    folder = Path(private_media) / "reports" / str(story.tree.branch_a1.pk)
    assert [p.name for p in folder.iterdir()] == ["2026-02.pdf"]


@pytest.mark.django_db
def test_the_officer_is_told_once_with_a_link(story):
    build(story.tree.branch_a1)
    build(story.tree.branch_a1)
    build(story.tree.branch_a1, rebuild=True)
    notes = Notification.objects.filter(user=story.officer_a1)
    assert notes.count() == 1
    link = reverse("sqi:unit_report", args=[story.tree.branch_a1.pk, "2026-02"])
    assert link in notes.get().body
    assert notes.get().dedupe_key == f"unit-report:{story.tree.branch_a1.pk}:2026-02"
    assert not Notification.objects.exclude(user=story.officer_a1).exists()


@pytest.mark.django_db
def test_a_unit_without_an_officer_gets_a_report_and_nobody_is_told(story):
    report, built = build(story.tree.sub_a1a)
    assert built and report.figures["current"]["received"] == 1
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_a_month_that_has_not_ended_has_no_report(story):
    with pytest.raises(ValueError, match="not ended"):
        reports.unit_report_build(unit=story.tree.branch_a1, month="2026-03", today=BUILT_ON)
    with pytest.raises(ValueError, match="not a month"):
        reports.unit_report_build(unit=story.tree.branch_a1, month="2026-13", today=BUILT_ON)


@pytest.mark.django_db
def test_the_whole_month_run_builds_one_report_per_unit_with_an_officer_once(story):
    first = reports.monthly_reports_build(today=BUILT_ON)
    assert first == {"month": "2026-02", "built": 5, "existing": 0, "failed": []}
    assert set(UnitReport.objects.values_list("org_unit", flat=True)) == {
        u.pk for u in story.with_officer
    }
    second = reports.monthly_reports_build(today=BUILT_ON)
    assert second == {"month": "2026-02", "built": 0, "existing": 5, "failed": []}
    assert UnitReport.objects.count() == 5
    assert Notification.objects.count() == 5


def test_months():
    assert reports.parse_month("2026-02") == dt.date(2026, 2, 1)
    assert reports.parse_month(dt.date(2026, 2, 17)) == dt.date(2026, 2, 1)
    for bad in ("2026-2", "2026-00", "26-02", "", "1999-12"):
        with pytest.raises(ValueError):
            reports.parse_month(bad)
    assert reports.last_full_month(dt.date(2026, 1, 1)) == dt.date(2025, 12, 1)
    assert reports.month_end(dt.date(2024, 2, 1)) == dt.date(2024, 2, 29)
    assert reports.month_has_ended(dt.date(2026, 2, 1), dt.date(2026, 3, 1))
    assert not reports.month_has_ended(dt.date(2026, 2, 1), dt.date(2026, 2, 28))
