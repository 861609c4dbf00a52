"""Admin for mediation (organisations, mediators, cases) and the showcase-case library.

Mediation cases are scoped like everything else (``insurers.admin.ScopedAdmin``): insurer
staff see the cases of their subtree, a mediator the cases of their own organisation, and a
case outside one's scope is 404. The admin finds, reads and corrects cases; it never moves
one through its workflow: the status and every field the steps write are read-only, cases
are opened through the services (escalation, direct application) and never deleted, and
history is read, never reverted.

Showcase cases are kept simple here: the award workflow belongs to ``cases.showcase`` (its
admin actions, if any, live in ``admin_showcase_actions``), so the status and the reviewer's
fields are read-only; staff see the cases of the insurers in their scope and change drafts
only; a body written here is sanitised exactly as the services sanitise it.
"""

import importlib

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from insurers.admin import ReadOnlyInline as BaseReadOnlyInline
from insurers.admin import ScopedAdmin
from insurers.roles import sees_every_unit
from insurers.selectors import insurer_list, visible_units

from .models import (
    OPEN_CASE_STATES,
    AwardCategory,
    AwardProgramme,
    CaseEvent,
    KeyFigure,
    MediationCase,
    MediationOrganization,
    MediationSession,
    Mediator,
    ShowcaseCase,
    ShowcaseImage,
    ShowcaseStatus,
    Tag,
)
from .services import mediator_organization_id
from .showcase import image_errors, sanitise_body

# ---- mediation -----------------------------------------------------------------------------


@admin.register(MediationOrganization)
class MediationOrganizationAdmin(SimpleHistoryAdmin):
    list_display = ["name", "region", "contact", "active"]
    list_filter = ["active", "region"]
    search_fields = ["name", "region"]


@admin.register(Mediator)
class MediatorAdmin(SimpleHistoryAdmin):
    list_display = ["user", "organization", "active"]
    list_filter = ["active", "organization"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "organization__name"]
    list_select_related = ["user", "organization"]
    autocomplete_fields = ["user", "organization"]


def _case_perm(request, action: str, case=None) -> bool:
    return request.user.has_perm(f"cases.{action}_mediationcase", case)


class CaseReadOnlyInline(BaseReadOnlyInline):
    """A read-only list under a case, visible to whoever may see the case."""

    parent_perm = "cases.%s_mediationcase"


class MediationSessionInline(CaseReadOnlyInline):
    model = MediationSession
    fields = ("date", "mode", "attendees", "notes", "next_step", "created_by")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")


class CaseEventInline(CaseReadOnlyInline):
    model = CaseEvent
    fields = ("at", "actor", "from_status", "to_status", "text")
    ordering = ("at", "pk")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


#: What a person may correct while a case is open: what it is about and who applied.
CASE_EDITABLE_FIELDS = ("summary", "claimed_amount", "applicant_name", "applicant_phone")


@admin.register(MediationCase)
class MediationCaseAdmin(ScopedAdmin):
    unit_lookup = "org_unit"
    list_display = [
        "reference",
        "status",
        "organization",
        "insurer",
        "org_unit",
        "complaint",
        "claimed_amount",
        "applied_at",
    ]
    list_filter = [
        "status",
        ("organization", admin.RelatedOnlyFieldListFilter),
        ("insurer", admin.RelatedOnlyFieldListFilter),
        "applied_at",
        "judicially_confirmed",
    ]
    search_fields = ["=reference", "=complaint__reference"]
    search_help_text = _("A case or complaint reference, exactly.")
    list_select_related = ["organization", "insurer", "org_unit", "complaint"]
    list_per_page = 50
    show_full_result_count = False
    date_hierarchy = "applied_at"
    inlines = [MediationSessionInline, CaseEventInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("reference", "status"),
                    ("organization", "complaint"),
                    ("insurer", "org_unit"),
                    "board_link",
                ]
            },
        ),
        (
            _("The dispute"),
            {"fields": ["claimed_amount", "summary", ("applicant_name", "applicant_phone")]},
        ),
        (
            _("Workflow"),
            {
                "fields": [
                    ("applied_at", "accepted_at", "concluded_at"),
                    "refusal_reason",
                    "outcome_note",
                    ("settlement_amount", "signed_on"),
                    "settlement_terms",
                    ("judicially_confirmed", "court", "confirmed_on"),
                ]
            },
        ),
        (_("Record"), {"fields": [("created_by", "created", "updated")]}),
    ]

    def scope(self, request, queryset):
        """Mediators see their organisation's cases; everyone else their subtree's."""
        if sees_every_unit(request.user):
            return queryset
        org = mediator_organization_id(request.user)
        if org is not None:
            return queryset.filter(organization_id=org)
        return super().scope(request, queryset)

    def get_readonly_fields(self, request, obj=None):
        every = [
            name
            for fieldset in self.fieldsets
            for line in fieldset[1]["fields"]
            for name in (line if isinstance(line, tuple) else (line,))
        ]
        if (
            obj is not None
            and obj.status in OPEN_CASE_STATES
            and self.has_change_permission(request, obj)
        ):
            editable = set(CASE_EDITABLE_FIELDS)
            if obj.complaint_id:  # the consumer is the complaint's; nothing to edit here
                editable -= {"applicant_name", "applicant_phone"}
            return [name for name in every if name not in editable]
        return every

    @admin.display(description=_("mediation board"))
    def board_link(self, obj):
        try:
            url = reverse("cases:case_detail", args=[obj.reference])
        except NoReverseMatch:  # pragma: no cover - the mediation pages route it
            return ""
        return format_html('<a href="{}">{}</a>', url, gettext("Open the case to act on it"))

    # Cases are opened by escalation or application, never added or deleted here.
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


# ---- award programmes and tags -------------------------------------------------------------


class AwardCategoryInline(admin.TabularInline):
    model = AwardCategory
    extra = 1
    fields = ("name",)


@admin.register(AwardProgramme)
class AwardProgrammeAdmin(admin.ModelAdmin):
    list_display = ["name", "organiser", "year", "announced"]
    list_filter = ["year"]
    search_fields = ["name", "organiser"]
    inlines = [AwardCategoryInline]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}


# ---- showcase cases ------------------------------------------------------------------------


def _reviews_showcases(user) -> bool:
    """Index administrators and superusers run the award programmes and see every case."""
    return sees_every_unit(user)


class ShowcaseCaseForm(forms.ModelForm):
    class Meta:
        model = ShowcaseCase
        fields = [
            "title", "slug", "programme", "category", "year", "summary", "body",
            "is_demo_text", "insurers", "org_units", "tags",
        ]  # fmt: skip

    def clean_body(self):
        return sanitise_body(self.cleaned_data.get("body", ""))


class ShowcaseImageForm(forms.ModelForm):
    class Meta:
        model = ShowcaseImage
        fields = ("image", "alt", "caption", "order")

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if image is not None and hasattr(image, "seek"):
            errors = image_errors(image)
            if errors:
                raise forms.ValidationError(errors)
        return image


class ShowcasePartInline(admin.TabularInline):
    """Parts of a showcase case: whoever may change the case may change its parts."""

    extra = 0

    def _case_admin(self):
        return self.admin_site._registry[ShowcaseCase]

    def has_view_permission(self, request, obj=None):
        return self._case_admin().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return self._case_admin().has_change_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._case_admin().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._case_admin().has_change_permission(request, obj)


class KeyFigureInline(ShowcasePartInline):
    model = KeyFigure
    fields = ("label", "value", "unit", "order")


class ShowcaseImageInline(ShowcasePartInline):
    model = ShowcaseImage
    form = ShowcaseImageForm
    fields = ("image", "alt", "caption", "order")


@admin.register(ShowcaseCase)
class ShowcaseCaseAdmin(SimpleHistoryAdmin):
    form = ShowcaseCaseForm
    list_display = ["title", "year", "programme", "category", "status", "is_demo_text", "updated"]
    list_filter = ["status", "year", "programme", "category", "is_demo_text", "tags"]
    search_fields = ["title", "summary", "slug"]
    list_select_related = ["programme", "category"]
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ["insurers", "org_units"]
    filter_horizontal = ["tags"]
    readonly_fields = ["status", "submitted_by", "reviewed_by", "awarded_at", "created", "updated"]
    inlines = [KeyFigureInline, ShowcaseImageInline]
    fieldsets = [
        (None, {"fields": [("title", "slug"), ("programme", "category", "year"), "status"]}),
        (_("Text"), {"fields": ["summary", "body", "is_demo_text"]}),
        (_("Awardees and tags"), {"fields": ["insurers", "org_units", "tags"]}),
        (
            _("Record"),
            {"fields": [("submitted_by", "reviewed_by", "awarded_at"), ("created", "updated")]},
        ),
    ]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        user = request.user
        if _reviews_showcases(user):
            return queryset
        return queryset.filter(
            Q(insurers__in=insurer_list(user=user).values("pk"))
            | Q(org_units__in=visible_units(user=user).values("pk"))
        ).distinct()

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        user = request.user
        if not _reviews_showcases(user):
            if db_field.name == "insurers":
                kwargs["queryset"] = insurer_list(user=user)
            elif db_field.name == "org_units":
                kwargs["queryset"] = visible_units(user=user).order_by("path")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        """Authors change their drafts; reviewers anything not rejected."""
        if not super().has_change_permission(request, obj):
            return False
        if obj is None:
            return True
        if _reviews_showcases(request.user):
            return obj.status != ShowcaseStatus.REJECTED
        return obj.status == ShowcaseStatus.DRAFT

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        return obj is None or obj.status == ShowcaseStatus.DRAFT or _reviews_showcases(request.user)

    def _in_scope_or_404(self, request, object_id):
        if object_id and self.get_object(request, unquote(object_id)) is None:
            raise Http404(_("No such record."))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._in_scope_or_404(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._in_scope_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    # The status moves only through the workflow; an old version is never restored.
    def revert_disabled(self, request, obj=None):
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._in_scope_or_404(request, object_id)
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


# Workflow actions for showcase cases, kept with the showcase workflow's own code. Only its
# absence is tolerated: an import error inside that module still fails loudly.
try:
    importlib.import_module(f"{__package__}.admin_showcase_actions")
except ModuleNotFoundError as exc:
    if exc.name != f"{__package__}.admin_showcase_actions":
        raise
