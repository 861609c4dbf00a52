"""Admin for insurers, the org tree, officers and reception days — scoped like everything else.

Every admin here filters its queryset through ``selectors.visible_units`` and asks the
object rules (``rules.py``) before showing or changing a record; a record outside the
user's scope answers 404, as it does in the pages and the API.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from treebeard.admin import TreeAdmin
from treebeard.forms import MoveNodeForm, movenodeform_factory

from . import selectors, services
from .models import (
    Insurer,
    Level,
    OrgUnit,
    ReceptionDay,
    ServiceOfficer,
    UnitMembership,
    placement_errors,
)
from .roles import sees_every_unit


class ScopedAdmin(SimpleHistoryAdmin):
    """Object permissions from django-rules; out-of-scope records are 404."""

    #: the lookup from this model to its org unit, for scoping the queryset
    unit_lookup: str | None = None

    def scope(self, request, queryset):
        if sees_every_unit(request.user):
            return queryset
        return queryset.filter(
            **{f"{self.unit_lookup}__in": selectors.visible_units(user=request.user)}
        )

    def get_queryset(self, request):
        return self.scope(request, super().get_queryset(request))

    def _perm(self, request, action, obj=None):
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}", obj)

    def has_view_permission(self, request, obj=None):
        return self._perm(request, "view", obj) or self._perm(request, "change", obj)

    def has_add_permission(self, request, *args):
        return self._perm(request, "add")

    def has_change_permission(self, request, obj=None):
        return self._perm(request, "change", obj)

    def has_delete_permission(self, request, obj=None):
        return self._perm(request, "delete", obj)

    def _in_scope_or_404(self, request, object_id):
        if object_id and self.get_object(request, unquote(object_id)) is None:
            raise Http404(_("No such record."))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._in_scope_or_404(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._in_scope_or_404(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._in_scope_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._in_scope_or_404(request, object_id)
        if request.method == "POST" and not self.has_change_permission(
            request, self.get_object(request, unquote(object_id))
        ):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is OrgUnit:
            kwargs["queryset"] = selectors.visible_units(user=request.user).order_by("path")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyInline(admin.TabularInline):
    """A read-only list under a parent record, visible to whoever may see the parent.

    ``parent_perm`` names the parent's permissions with ``%s`` for the action, e.g.
    ``"complaints.%s_complaint"``; the object rules decide on the parent record."""

    parent_perm = ""
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_view_permission(self, request, obj=None):
        user = request.user
        return user.has_perm(self.parent_perm % "view", obj) or user.has_perm(
            self.parent_perm % "change", obj
        )

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Insurer)
class InsurerAdmin(ScopedAdmin):
    list_display = ["short_name", "name_zh", "licence_type", "credit_code", "group", "active"]
    list_filter = ["licence_type", "active", "is_agricultural", "group"]
    search_fields = ["name_zh", "name_en", "short_name", "credit_code"]
    list_select_related = ["group"]

    def scope(self, request, queryset):
        if sees_every_unit(request.user):
            return queryset
        return queryset.filter(pk__in=selectors.insurer_list(user=request.user).values("pk"))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "group":
            kwargs["queryset"] = OrgUnit.objects.filter(level=Level.GROUP)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def _intended_parent(ref: OrgUnit | None, position: str) -> OrgUnit | None:
    """Where a treebeard position puts a node: under ``ref``, or beside it."""
    if ref is None:
        return None
    if position.endswith("child"):
        return ref
    return OrgUnit.objects.get_parent(ref)


class OrgUnitForm(MoveNodeForm):
    """Treebeard's move form, plus the level rules of the org tree."""

    def clean(self):
        cleaned = super().clean()
        level, insurer = cleaned.get("level"), cleaned.get("insurer")
        position = cleaned.get("treebeard_position") or "sorted-child"
        if not level:
            return cleaned
        parent = _intended_parent(cleaned.get("treebeard_ref_node"), position)
        for field, errors in placement_errors(level=level, insurer=insurer, parent=parent).items():
            for error in errors:
                self.add_error("treebeard_ref_node" if field == "parent" else field, error)
        if self.instance.pk and parent is not None and parent.path.startswith(self.instance.path):
            self.add_error("treebeard_ref_node", _("A unit cannot move under itself."))
        return cleaned


@admin.register(OrgUnit)
class OrgUnitAdmin(ScopedAdmin, TreeAdmin):
    form = movenodeform_factory(OrgUnit, form=OrgUnitForm)
    unit_lookup = "pk"
    list_display = ["name", "level", "insurer", "region"]
    list_filter = ["level", "insurer__licence_type"]
    search_fields = ["name", "insurer__short_name", "insurer__name_zh", "region"]
    list_select_related = ["insurer"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        at_top = (
            hasattr(request, "_treebeard_parent_id")
            and not request._treebeard_parent_id
            and not getattr(request, "_ignore_treebeard_filters", False)
            and not self.is_filtered(request)
        )
        if at_top and not sees_every_unit(request.user):
            # Treebeard starts the tree at its roots; a scoped user's tree starts at their units.
            return selectors.user_top_units(user=request.user).select_related("insurer")
        return queryset

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        ref = form.base_fields.get("treebeard_ref_node")
        if ref is not None:
            ref.queryset = selectors.visible_units(user=request.user).order_by("path")
        return form

    def move_node(self, request):
        """Drag-and-drop moves go through the same rules as the form."""
        try:
            node = self.get_queryset(request).get(pk=request.POST.get("node"))
            target = self.get_queryset(request).get(pk=request.POST.get("target"))
        except (OrgUnit.DoesNotExist, ValueError, TypeError) as exc:
            raise Http404(_("No such record.")) from exc
        if not self.has_change_permission(request, node):
            raise PermissionDenied
        relation = request.POST.get("relation")
        parent = target if relation == "child" else OrgUnit.objects.get_parent(target)
        try:
            services.org_unit_move(unit=node, parent=parent)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return HttpResponseBadRequest(" ".join(exc.messages))
        messages.info(request, _("Moved “%(node)s”.") % {"node": node})
        return HttpResponse("OK")


class ServiceOfficerForm(forms.ModelForm):
    class Meta:
        model = ServiceOfficer
        fields = ["user", "org_unit", "title", "appointed", "ended"]


@admin.register(ServiceOfficer)
class ServiceOfficerAdmin(ScopedAdmin):
    form = ServiceOfficerForm
    unit_lookup = "org_unit"
    list_display = ["user", "org_unit", "title", "appointed", "ended"]
    list_filter = ["title", "org_unit__level", ("ended", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "user__first_name", "user__last_name", "org_unit__name"]
    list_select_related = ["user", "org_unit"]
    autocomplete_fields = ["user", "org_unit"]
    date_hierarchy = "appointed"


@admin.register(ReceptionDay)
class ReceptionDayAdmin(ScopedAdmin):
    unit_lookup = "officer__org_unit"
    list_display = ["date", "place", "officer", "consumers_met", "follow_ups_open"]
    list_filter = ["officer__org_unit__level", "date"]
    search_fields = ["place", "issues_raised", "follow_ups", "officer__org_unit__name"]
    list_select_related = ["officer__user", "officer__org_unit"]
    date_hierarchy = "date"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "officer":
            officers = selectors.service_officer_list(user=request.user, active=True)
            if not sees_every_unit(request.user):
                officers = officers.filter(user=request.user)
            kwargs["queryset"] = officers
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(UnitMembership)
class UnitMembershipAdmin(ScopedAdmin):
    unit_lookup = "org_unit"
    list_display = ["user", "org_unit", "created"]
    search_fields = ["user__username", "org_unit__name"]
    list_select_related = ["user", "org_unit"]
    autocomplete_fields = ["user", "org_unit"]


class UnitMembershipInline(admin.TabularInline):
    model = UnitMembership
    extra = 0
    autocomplete_fields = ["org_unit"]


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class SqiUserAdmin(UserAdmin):
    inlines = [UnitMembershipInline]
    list_filter = [*UserAdmin.list_filter, "unit_memberships__org_unit__level"]
