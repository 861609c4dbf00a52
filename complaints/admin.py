"""Admin for complaints, their timeline, notifications and imports — scoped and audited.

Complaints are scoped like everything else (``insurers.admin.ScopedAdmin``: the user's
subtree only, 404 outside it). The admin is for finding, reading and correcting records;
it never moves a complaint through its workflow: the status and every field the workflow
writes are read-only (the FSM field is protected anyway), complaints are not added or
deleted here, and history can be read but not reverted (a revert would write an old status
past the workflow). The complainant's ID number appears only masked; the encrypted value
and its search hash are never shown.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from insurers.admin import ReadOnlyInline as BaseReadOnlyInline
from insurers.admin import ScopedAdmin
from insurers.roles import sees_every_unit
from insurers.selectors import visible_units

from . import selectors, summaries
from .models import (
    SUBCATEGORIES,
    Attachment,
    Complaint,
    Event,
    Extension,
    ImportBatch,
    Notification,
    Pause,
)

DEADLINE_STATE_LABELS = {
    "on_track": _("On track"),
    "at_risk": _("At risk"),
    "breached": _("Breached"),
}

# What a person may correct in the admin: what the complaint is about and who made it.
EDITABLE_FIELDS = (
    "product_line",
    "category",
    "subcategory",
    "amount_in_dispute",
    "narrative",
    "complainant_name",
    "complainant_phone",
)


def _complaint_perm(request, action: str, complaint=None) -> bool:
    return request.user.has_perm(f"complaints.{action}_complaint", complaint)


class ReadOnlyInline(BaseReadOnlyInline):
    """A read-only list under a complaint, visible to whoever may see the complaint."""

    parent_perm = "complaints.%s_complaint"


class PauseInline(ReadOnlyInline):
    model = Pause
    fields = ("kind", "reason", "start", "end", "created_by")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")


class ExtensionInline(ReadOnlyInline):
    model = Extension
    fields = (
        "step",
        "reason",
        "approved_by",
        "complainant_notice",
        "complainant_notified_at",
        "created",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("approved_by")


class EventInline(ReadOnlyInline):
    model = Event
    fields = ("at", "kind", "actor", "from_status", "to_status", "text")
    ordering = ("at", "pk")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class AttachmentInline(ReadOnlyInline):
    """The file itself is never linked from here: private storage has no URL. The staff
    download view streams it after checking the user's scope."""

    model = Attachment
    fields = ("original_name", "content_type", "size", "uploaded_by", "created", "download")

    @admin.display(description=_("file"))
    def download(self, obj):
        if obj.pk is None:
            return ""
        try:
            url = reverse("complaints:attachment_download", args=[obj.complaint.reference, obj.pk])
        except NoReverseMatch:  # pragma: no cover - the staff pages route it
            return ""
        return format_html('<a href="{}">{}</a>', url, gettext("Download"))

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("uploaded_by", "complaint")


class ComplaintAdminForm(forms.ModelForm):
    class Meta:
        model = Complaint
        fields = list(EDITABLE_FIELDS)

    def clean(self):
        cleaned = super().clean()
        if "category" in self.errors or "subcategory" in self.errors:
            return cleaned
        category = cleaned.get("category", self.instance.category)
        subcategory = cleaned.get("subcategory")
        if subcategory and subcategory not in SUBCATEGORIES.get(category, ()):
            # The same message as every intake channel (services.complaint_build).
            self.add_error(
                "subcategory", gettext("This subcategory does not belong to the chosen category.")
            )
        return cleaned


@admin.register(Complaint)
class ComplaintAdmin(ScopedAdmin):
    form = ComplaintAdminForm
    unit_lookup = "org_unit"
    list_display = [
        "reference",
        "status",
        "insurer",
        "org_unit",
        "product_line",
        "category",
        "channel",
        "received_at",
        "due_date",
        "deadline",
    ]
    list_filter = [
        "status",
        "product_line",
        "category",
        "channel",
        "is_elder",
        "insurer__licence_type",
    ]
    # The search box takes a reference or a phone number, matched exactly (see
    # ``get_search_results``). Not the ID number: admin searches are GET requests, and the
    # term would end up in URLs, browser histories and access logs.
    search_fields = ["reference"]
    search_help_text = _("A reference or a phone number, exactly.")
    list_select_related = ["insurer", "org_unit"]
    list_per_page = 50
    show_full_result_count = False
    inlines = [PauseInline, ExtensionInline, EventInline, AttachmentInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("reference", "status"),
                    ("insurer", "org_unit"),
                    ("channel", "received_at"),
                    ("due_date", "extensions"),
                    "workbench_link",
                ]
            },
        ),
        (
            _("Complaint"),
            {
                "fields": [
                    "product_line",
                    ("category", "subcategory"),
                    "amount_in_dispute",
                    "narrative",
                ]
            },
        ),
        (
            _("Complainant"),
            {
                "fields": [
                    ("complainant_name", "complainant_phone"),
                    ("id_number_masked", "is_elder"),
                ]
            },
        ),
        (
            _("Workflow"),
            {
                "fields": [
                    ("accepted_at", "decline_reason"),
                    ("decided_at", "first_decided_at"),
                    ("decision", "remedy_amount"),
                    "reply",
                    ("closed_at", "satisfaction"),
                    ("review_requested_at", "escalated_at"),
                ]
            },
        ),
        (_("Record"), {"fields": [("created_by", "created", "updated")]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        every = [
            name
            for fieldset in self.fieldsets
            for line in fieldset[1]["fields"]
            for name in (line if isinstance(line, tuple) else (line,))
        ]
        if obj is not None and self.has_change_permission(request, obj):
            return [name for name in every if name not in EDITABLE_FIELDS]
        return every

    def get_queryset(self, request):
        return selectors.with_deadline_state(super().get_queryset(request), timezone.localdate())

    def save_model(self, request, obj, form, change):
        # An edit here (product line, category …) bypasses the services: the dashboard's
        # summary tables follow it in the same transaction, as they follow the services.
        before = summaries.stored_contribution(obj.pk)
        super().save_model(request, obj, form, change)
        summaries.apply_change(complaint=obj, before=before)

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        term = search_term.strip()
        return queryset.filter(Q(reference__iexact=term) | Q(complainant_phone=term)), False

    @admin.display(description=_("deadline"), ordering="deadline_state")
    def deadline(self, obj):
        return DEADLINE_STATE_LABELS.get(getattr(obj, "deadline_state", ""), "")

    @admin.display(description=_("workbench"))
    def workbench_link(self, obj):
        try:
            url = reverse("complaints:detail", args=[obj.reference])
        except NoReverseMatch:  # pragma: no cover - the staff pages route it
            return ""
        return format_html(
            '<a href="{}">{}</a>', url, gettext("Open in the workbench to act on it")
        )

    # Complaints are received through the intake channels and never deleted.
    def has_add_permission(self, request, *args):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # History: readable within scope, never reverted.
    def revert_disabled(self, request, obj=None):
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._in_scope_or_404(request, object_id)
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class OwnRecordsAdmin(admin.ModelAdmin):
    """Read-only records that belong to one user: they see their own, superusers all."""

    owner_field = "user"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{self.owner_field: request.user})

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404(_("No such record."))
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Notification)
class NotificationAdmin(OwnRecordsAdmin):
    list_display = ["subject", "user", "complaint", "created", "read_at"]
    list_filter = [("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["subject"]
    list_select_related = ["user", "complaint"]
    fields = ["user", "complaint", "subject", "body", "created", "read_at"]
    readonly_fields = fields


@admin.register(ImportBatch)
class ImportBatchAdmin(OwnRecordsAdmin):
    owner_field = "uploaded_by"
    list_display = ["file_name", "created", "uploaded_by", "rows", "outcome", "error_count"]
    list_filter = ["outcome"]
    search_fields = ["file_name", "=file_sha256"]
    list_select_related = ["uploaded_by"]
    fields = [
        "file_name",
        "file_sha256",
        "uploaded_by",
        "created",
        "rows",
        "outcome",
        "error_list",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        if sees_every_unit(request.user):
            return admin.ModelAdmin.get_queryset(self, request)
        return super().get_queryset(request)

    @admin.display(description=_("errors"))
    def error_count(self, obj):
        return len(obj.errors or [])

    @admin.display(description=_("errors"))
    def error_list(self, obj):
        """Where each error is and what it says; never the cell's value, which may be a
        complainant's personal data."""
        rows = []
        for error in obj.errors or []:
            if isinstance(error, dict):
                where = error.get("row", "")
                column = error.get("column") or error.get("field") or ""
                message = error.get("message") or "; ".join(map(str, error.get("messages", [])))
                rows.append((where, column, message))
            else:
                rows.append(("", "", str(error)))
        if not rows:
            return "—"
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            gettext("Row"),
            gettext("Column"),
            gettext("Message"),
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """The timelines of the complaints in one's scope, read-only: an audit trail. (Events
    are never changed, so they have no history table of their own.)"""

    list_display = ["at", "complaint", "kind", "actor", "from_status", "to_status"]
    list_filter = ["kind"]
    search_fields = ["=complaint__reference"]
    search_help_text = _("A complaint's reference, exactly.")
    list_select_related = ["complaint", "actor"]
    fields = ["complaint", "at", "kind", "actor", "from_status", "to_status", "text"]
    readonly_fields = fields

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if sees_every_unit(request.user):
            return queryset
        return queryset.filter(complaint__org_unit__in=visible_units(user=request.user))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404(_("No such record."))
        return super().change_view(request, object_id, form_url, extra_context)

    def has_view_permission(self, request, obj=None):
        complaint = obj.complaint if obj is not None else None
        return _complaint_perm(request, "view", complaint) or _complaint_perm(
            request, "change", complaint
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
