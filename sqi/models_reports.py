"""Monthly reports of an org unit: a snapshot of the dashboard's figures and its PDF.

One report per unit and calendar month. The figures are kept as they were when the report
was built (a JSON snapshot), so the printable page and the PDF say the same thing later,
whatever happens to the complaints afterwards. The PDF is stored through Django's storage
API under ``reports/<unit id>/<yyyy-mm>.pdf`` in the private storage of complaint
attachments (``PRIVATE_MEDIA_ROOT``: outside MEDIA_ROOT, no URL), since it holds scoped
figures; a view streams it after checking that the user may see the unit.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from complaints.models import private_storage
from insurers.models import OrgUnit


def report_pdf_path(report: "UnitReport", filename: str) -> str:
    return f"reports/{report.org_unit_id}/{report.month:%Y-%m}.pdf"


class UnitReport(models.Model):
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), on_delete=models.CASCADE, related_name="reports"
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month reported on."))
    created = models.DateTimeField(_("created"), auto_now_add=True)
    built = models.DateTimeField(_("built"))
    built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("built by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when the monthly task built it."),
    )
    figures = models.JSONField(_("figures"), default=dict)
    pdf = models.FileField(
        _("PDF"),
        upload_to=report_pdf_path,
        storage=private_storage,
        max_length=200,
        blank=True,
    )

    class Meta:
        verbose_name = _("monthly report")
        verbose_name_plural = _("monthly reports")
        ordering = ["org_unit", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["org_unit", "month"], name="unitreport_one_per_month")
        ]

    def __str__(self) -> str:
        return f"{self.org_unit} · {self.month:%Y-%m}"
