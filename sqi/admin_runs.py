"""Admin of index runs: progress (polled without a reload), validation, results, publishing.

Runs are created and computed by ``sqi.runs`` (from the run page, the ``compute_index``
command or the actions below), never typed in: every field here is read-only.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from insurers.admin import ReadOnlyInline

from . import runs
from .models import IndexResult, IndexRun, RunStatus


class IndexResultInline(ReadOnlyInline):
    model = IndexResult
    parent_perm = "sqi.%s_indexrun"
    fields = ["rank", "insurer", "total", "dimensions", "complaints"]
    ordering = ["rank"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("insurer")


@admin.register(IndexRun)
class IndexRunAdmin(admin.ModelAdmin):
    change_form_template = "admin/sqi/indexrun/change_form.html"
    list_display = [
        "id",
        "period",
        "peer_group",
        "methodology",
        "status",
        "progress",
        "industry_index",
        "short_fingerprint",
        "created",
    ]
    list_filter = ["status", "peer_group", "period", "methodology"]
    list_select_related = ["period", "methodology"]
    search_fields = ["fingerprint", "period__code"]
    date_hierarchy = "created"
    readonly_fields = [
        "period",
        "peer_group",
        "methodology",
        "status",
        "progress",
        "fingerprint",
        "industry_index",
        "weights",
        "excluded",
        "validation",
        "timings",
        "error",
        "task_id",
        "created_by",
        "created",
        "started",
        "finished",
        "published_at",
        "published_by",
    ]
    exclude = ["inputs", "progress_done", "progress_total"]
    inlines = [IndexResultInline]
    actions = ["publish_runs", "compute_again"]

    def has_add_permission(self, request):
        return False  # runs are started from the run page or the command

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("progress"))
    def progress(self, run):
        return format_html(
            '<progress max="{}" value="{}"></progress> {}/{}',
            run.progress_total or 6,
            run.progress_done,
            run.progress_done,
            run.progress_total,
        )

    @admin.display(description=_("fingerprint"), ordering="fingerprint")
    def short_fingerprint(self, run):
        return run.fingerprint[:12] or "—"

    @admin.action(description=_("Publish the selected validated run"), permissions=["publish"])
    def publish_runs(self, request, queryset):
        done = 0
        for run in queryset.order_by("created"):
            try:
                runs.index_run_publish(run=run, by=request.user)
            except ValidationError as exc:
                self.message_user(request, f"#{run.pk}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext("%(n)d run published.", "%(n)d runs published.", done) % {"n": done},
                messages.SUCCESS,
            )

    def has_publish_permission(self, request):
        return request.user.has_perm("sqi.publish_indexrun")

    @admin.action(
        description=_("Compute again with the current statistics"), permissions=["compute"]
    )
    def compute_again(self, request, queryset):
        started = []
        for old in queryset.select_related("period", "methodology"):
            run = runs.index_run_start(
                period=old.period,
                peer_group=old.peer_group,
                methodology=old.methodology,
                by=request.user,
            )
            started.append(f"#{run.pk}")
        self.message_user(
            request,
            gettext("Started %(runs)s; their progress shows on each run.")
            % {"runs": ", ".join(started)},
            messages.SUCCESS,
        )

    def has_compute_permission(self, request):
        return request.user.has_perm("sqi.add_indexrun")

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        if object_id:
            run = self.get_object(request, object_id)
            extra_context["run"] = run
            extra_context["finished"] = run is not None and run.status in (
                RunStatus.VALIDATED,
                RunStatus.PUBLISHED,
                RunStatus.SUPERSEDED,
                RunStatus.FAILED,
            )
        return super().changeform_view(request, object_id, form_url, extra_context)
