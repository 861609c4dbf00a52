"""Admin actions that move showcase cases through the award workflow.

Imported at the bottom of ``cases/admin.py``; it appends its actions to the registered
``ShowcaseCase`` admin. Each action calls the workflow service for every selected case, so
the admin obeys exactly the rules the services enforce (staff submit drafts of their scope;
index administrators start the review, award and reject), and reports per case what could
not be done and why. Rejecting asks for the reason on an intermediate page first.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import ShowcaseCase
from .showcase import (
    REASON_MAX,
    is_reviewer,
    showcase_award,
    showcase_reject,
    showcase_start_review,
    showcase_submit,
)


def _problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(m for ms in exc.message_dict.values() for m in ms)
    return str(exc) or _("Not allowed.")


def _run(modeladmin, request, queryset, step, done_message: str, **kwargs) -> None:
    done, failed = 0, []
    for case in queryset.order_by("pk"):
        try:
            step(case=case, by=request.user, **kwargs)
        except (ValidationError, PermissionDenied) as exc:
            failed.append(f"“{case.title}”: {_problem(exc)}")
        else:
            done += 1
    if done:
        modeladmin.message_user(request, done_message % {"n": done}, messages.SUCCESS)
    for line in failed:
        modeladmin.message_user(request, line, messages.ERROR)


@admin.action(description=gettext_lazy("Submit the selected drafts for review"))
def submit_showcases(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, showcase_submit, _("%(n)d case(s) submitted."))


@admin.action(
    description=gettext_lazy("Start reviewing the selected cases"), permissions=["review"]
)
def start_review_showcases(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, showcase_start_review, _("%(n)d case(s) now in review."))


@admin.action(
    description=gettext_lazy("Award the selected cases (publishes them)"), permissions=["review"]
)
def award_showcases(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, showcase_award, _("%(n)d case(s) awarded and published."))


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=REASON_MAX,
        help_text=gettext_lazy("Kept in the case's history. At most 100 characters."),
        widget=forms.TextInput(attrs={"size": 80}),
    )


@admin.action(description=gettext_lazy("Reject the selected cases…"), permissions=["review"])
def reject_showcases(modeladmin, request, queryset):
    form = RejectForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        _run(
            modeladmin,
            request,
            queryset,
            showcase_reject,
            _("%(n)d case(s) rejected."),
            reason=form.cleaned_data["reason"],
        )
        return None  # back to the list
    return TemplateResponse(
        request,
        "cases/showcase/admin_reject.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": _("Reject showcase cases"),
            "opts": modeladmin.model._meta,
            "cases": queryset.order_by("pk"),
            "form": form,
            "action": "reject_showcases",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        },
    )


ACTIONS = [submit_showcases, start_review_showcases, award_showcases, reject_showcases]


def _has_review_permission(request) -> bool:
    return is_reviewer(request.user)


def register(site=admin.site) -> None:
    """Append the workflow actions to the registered ShowcaseCase admin (idempotent)."""
    model_admin = site._registry.get(ShowcaseCase)
    if model_admin is None:  # pragma: no cover - cases/admin.py registers it first
        return
    if not hasattr(model_admin, "has_review_permission"):
        model_admin.has_review_permission = _has_review_permission
    actions = list(model_admin.actions or [])
    actions += [action for action in ACTIONS if action not in actions]
    model_admin.actions = actions


register()
