from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import services
from .models import OutboxMessage


class PendingFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("pending", _("pending")), ("dispatched", _("dispatched"))]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(dispatched_at__isnull=True)
        if self.value() == "dispatched":
            return queryset.filter(dispatched_at__isnull=False)
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Read-only: rows are written by the services and sent by the relay."""

    list_display = ["id", "task", "created", "dispatched_at", "attempts", "key"]
    list_filter = [PendingFilter, "task"]
    search_fields = ["task", "key", "task_id"]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    actions = ["relay_now"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Send the selected pending messages now"), permissions=["view"])
    def relay_now(self, request, queryset):
        ids = list(queryset.filter(dispatched_at__isnull=True).values_list("pk", flat=True))
        counts = services.outbox_relay(ids=ids, limit=len(ids) or 1)
        self.message_user(
            request,
            gettext("Sent: %(sent)d; failed: %(failed)d.") % counts,
            messages.SUCCESS if not counts["failed"] else messages.WARNING,
        )
