"""Admin of the index's inputs: periods, statistics, raw claims, imports and methodologies.

Model permissions come from the roles (``sqi/apps.py``): index administrators manage all of
this; officers and staff may read the statistics of their own insurers only. Statistics are
saved through ``sqi.services`` (the same validation and history as the API); imports and
complaint statistics are records of what happened and cannot be edited here.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from insurers.roles import sees_every_unit
from insurers.selectors import insurer_list

from . import services
from .models import (
    ComplaintStatistic,
    Methodology,
    OperatingStatistic,
    Period,
    RawClaim,
    Source,
    StatisticsImport,
)


class ScopedToInsurers(admin.ModelAdmin):
    """Rows of the insurers the user works for; every row for the market-wide roles."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if sees_every_unit(request.user):
            return queryset
        return queryset.filter(insurer__in=insurer_list(user=request.user).values("pk"))


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record of something that happened: listed and shown, never written here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Period)
class PeriodAdmin(admin.ModelAdmin):
    list_display = ["code", "kind", "year", "half", "start", "end"]
    list_filter = ["kind", "year"]
    search_fields = ["code"]
    fields = ["code", "kind", "year", "half", "start", "end"]
    readonly_fields = ["kind", "year", "half", "start", "end"]


@admin.register(OperatingStatistic)
class OperatingStatisticAdmin(ScopedToInsurers, SimpleHistoryAdmin):
    list_display = [
        "insurer",
        "period",
        "product_line",
        "claims_closed",
        "claims_paid",
        "premium_cny",
        "policies_in_force",
        "source",
        "updated",
    ]
    list_filter = ["period", "product_line", "source"]
    search_fields = ["insurer__short_name", "insurer__name_zh", "insurer__credit_code"]
    list_select_related = ["insurer", "period"]
    autocomplete_fields = ["insurer"]
    readonly_fields = ["source", "source_import", "updated"]
    fieldsets = [
        (None, {"fields": ["insurer", "period", "product_line"]}),
        (
            _("Claims"),
            {
                "fields": [
                    "claims_reported",
                    "claims_closed",
                    "claims_paid",
                    "claims_declined",
                    "payment_days_total",
                ]
            },
        ),
        (
            _("Policies"),
            {
                "fields": [
                    "premium_cny",
                    "policies_in_force",
                    "insured_persons",
                    "surrenders",
                    "surrender_amount_cny",
                ]
            },
        ),
        (_("Origin"), {"fields": ["source", "source_import", "updated"]}),
    ]

    def save_model(self, request, obj, form, change):
        services.statistic_save(statistic=obj, by=request.user, source=Source.ADMIN)

    def delete_model(self, request, obj):
        services.statistic_delete(statistic=obj, by=request.user)


@admin.register(RawClaim)
class RawClaimAdmin(ScopedToInsurers):
    """Claims come from files; here they are looked up, and corrected only in their outcome."""

    list_display = [
        "claim_no",
        "insurer",
        "product_line",
        "incident_date",
        "report_date",
        "close_date",
        "outcome",
        "amount_cny",
        "days_to_payment",
    ]
    list_filter = ["product_line", "outcome", "report_date"]
    search_fields = ["claim_no", "insurer__short_name"]
    list_select_related = ["insurer"]
    date_hierarchy = "report_date"
    readonly_fields = [
        "insurer",
        "claim_no",
        "product_line",
        "incident_date",
        "report_date",
        "days_to_payment",
        "source_import",
    ]
    fields = [
        "insurer",
        "claim_no",
        "product_line",
        "incident_date",
        "report_date",
        "close_date",
        "outcome",
        "amount_cny",
        "days_to_payment",
        "source_import",
    ]

    def has_add_permission(self, request):
        return False


@admin.register(StatisticsImport)
class StatisticsImportAdmin(ReadOnlyAdmin):
    list_display = ["at", "kind", "file_name", "rows", "by", "sha256"]
    list_filter = ["kind"]
    search_fields = ["file_name", "sha256"]
    list_select_related = ["by"]
    date_hierarchy = "at"


@admin.register(ComplaintStatistic)
class ComplaintStatisticAdmin(ScopedToInsurers, ReadOnlyAdmin):
    list_display = [
        "insurer",
        "period",
        "product_line",
        "complaints",
        "elder_complaints",
        "computed_at",
    ]
    list_filter = ["period", "product_line"]
    search_fields = ["insurer__short_name", "insurer__name_zh"]
    list_select_related = ["insurer", "period"]


@admin.register(Methodology)
class MethodologyAdmin(SimpleHistoryAdmin):
    """The JSON fields are edited as JSON; the model's ``clean`` checks the whole version
    (weights summing to 1 per peer group, known indicators…) and names the field."""

    list_display = ["version", "title", "scoring", "scoring_floor", "weighting", "is_default"]
    list_filter = ["weighting", "scoring", "is_default"]
    search_fields = ["version", "title"]
    fields = [
        "version",
        "title",
        "scoring",
        "scoring_floor",
        "weighting",
        "indicators",
        "dimensions",
        "weights",
        "winsorize",
        "is_default",
        "notes",
    ]

    def get_readonly_fields(self, request, obj=None):
        # A version that has been run is what those runs are reproduced from: it stays as it
        # was (change the default or the notes only); a new methodology is a new version.
        if obj is not None and obj.runs.exists():
            return [f for f in self.fields if f not in ("is_default", "notes")]
        return []
