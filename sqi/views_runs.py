"""Index runs for index administrators: start one, watch its progress, read its validation
report and results, download its canonical inputs, publish it.

The work is in :mod:`sqi.runs` and the ``compute_index`` task; these views only take the
request and show the state. The progress fragment is polled by htmx every second while the
run is pending or computing, so the page updates without a reload.
"""

from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import runs
from .models import IndexRun, Methodology, PeerGroup, Period, RunStatus

RUNS_LISTED = 50
FINISHED = (RunStatus.VALIDATED, RunStatus.PUBLISHED, RunStatus.SUPERSEDED, RunStatus.FAILED)


def requires(perm: str):
    """Signed-in users holding ``perm`` (index administrators, superusers); else 403."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.has_perm(perm):
                raise PermissionDenied(gettext("Only index administrators can do this."))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class RunForm(forms.Form):
    period = forms.ModelChoiceField(
        label=_("Period"), queryset=Period.objects.all(), to_field_name="code"
    )
    peer_group = forms.ChoiceField(label=_("Peer group"), choices=PeerGroup.choices)
    methodology = forms.ModelChoiceField(
        label=_("Methodology"),
        queryset=Methodology.objects.all(),
        to_field_name="version",
        required=False,
        empty_label=_("The default"),
    )
    publish = forms.BooleanField(label=_("Publish when it validates"), required=False)


@requires("sqi.view_indexrun")
@require_http_methods(["GET", "POST"])
def run_list(request):
    form = RunForm(initial={"peer_group": PeerGroup.PROPERTY})
    if request.method == "POST":
        if not request.user.has_perm("sqi.add_indexrun"):
            raise PermissionDenied(gettext("Only index administrators can do this."))
        form = RunForm(request.POST)
        if form.is_valid():
            try:
                data = form.cleaned_data
                run = runs.index_run_start(
                    period=data["period"],
                    peer_group=data["peer_group"],
                    methodology=data["methodology"],
                    publish=data["publish"],
                    by=request.user,
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                return redirect("sqi:run_detail", pk=run.pk)
    listed = IndexRun.objects.select_related("period", "methodology", "created_by")[:RUNS_LISTED]
    return render(request, "sqi/runs/list.html", {"form": form, "runs": listed})


def _run(pk: int) -> IndexRun:
    return get_object_or_404(
        IndexRun.objects.select_related("period", "methodology", "created_by", "published_by"),
        pk=pk,
    )


@requires("sqi.view_indexrun")
@require_GET
def run_detail(request, pk: int):
    run = _run(pk)
    keys = list(run.methodology.dimensions)
    results = [
        (result, [result.dimensions.get(key) for key in keys])
        for result in run.results.select_related("insurer").order_by("rank", "insurer__short_name")
    ]
    context = {
        "run": run,
        "results": results,
        "dimensions": [run.methodology.dimensions[key] for key in keys],
        "finished": run.status in FINISHED,
        "can_publish": run.status == RunStatus.VALIDATED
        and request.user.has_perm("sqi.publish_indexrun"),
    }
    return render(request, "sqi/runs/detail.html", context)


@requires("sqi.view_indexrun")
@require_GET
def run_progress(request, pk: int):
    """The htmx fragment: status and progress; once the run has finished, a full refresh."""
    run = _run(pk)
    response = render(
        request, "sqi/runs/_progress.html", {"run": run, "finished": run.status in FINISHED}
    )
    if run.status in FINISHED and request.GET.get("watching"):
        response["HX-Refresh"] = "true"
    return response


@requires("sqi.view_indexrun")
@require_GET
def run_inputs(request, pk: int):
    """The run's canonical inputs: ``python -m sqi.methodology`` on this file reproduces it."""
    run = _run(pk)
    if not run.inputs:
        return JsonResponse({"detail": gettext("This run has no inputs yet.")}, status=404)
    response = HttpResponse(
        runs.canonical_json(run.inputs), content_type="application/json; charset=utf-8"
    )
    name = f"sqi-run-{run.pk}-{run.period.code}-{run.peer_group}-inputs.json"
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


@requires("sqi.publish_indexrun")
@require_POST
def run_publish(request, pk: int):
    run = _run(pk)
    try:
        runs.index_run_publish(run=run, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            gettext("Run #%(pk)s is now the published index for %(period)s, %(group)s.")
            % {"pk": run.pk, "period": run.period.code, "group": run.get_peer_group_display()},
        )
    return redirect("sqi:run_detail", pk=run.pk)


urlpatterns = [
    path("index/runs/", run_list, name="run_list"),
    path("index/runs/<int:pk>/", run_detail, name="run_detail"),
    path("index/runs/<int:pk>/progress/", run_progress, name="run_progress"),
    path("index/runs/<int:pk>/inputs.json", run_inputs, name="run_inputs"),
    path("index/runs/<int:pk>/publish/", run_publish, name="run_publish"),
]
