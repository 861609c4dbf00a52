"""The action forms of a workflow page: one small form per step the user may take now.

Shared by the complaint page and the mediation case page (``cases`` builds on
``complaints``), so both offer steps, keep a failed step's form open with its errors, and
show the errors of a step that is no longer on offer, in the same way.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class Step:
    """A workflow step as a detail page offers it: its form, the service it calls, the
    button's label, the message once done, the button style."""

    form: type
    service: Callable
    label: Promise
    done: Promise
    style: str = "btn-secondary"
    #: a plain button, no fields to fill in
    button_only: bool = False


def step_forms(
    *,
    available: Iterable[str],
    specs: Mapping[str, object],
    bound: tuple[str, object] | None,
    make_form: Callable[..., object],
    url_for: Callable[[str], str],
) -> tuple[list[dict], list[str]]:
    """The forms to show and the errors to show above them.

    ``specs[name]`` describes a step (its label, style and form class); ``make_form(spec,
    prefix=name)`` builds an unbound form; ``bound`` is the (name, form) of a step just
    submitted, shown again with its errors.
    """
    available = list(available)
    bound_name, bound_form = bound or (None, None)
    steps = []
    for name in available:
        spec = specs[name]
        form = bound_form if name == bound_name else None
        steps.append(
            {
                "name": name,
                "spec": spec,
                "form": form or make_form(spec, prefix=name),
                "open": form is not None,
                "url": url_for(name),
            }
        )
    # Errors of a step that is not on offer (a stale page, a forbidden move) still show.
    errors: list[str] = []
    if bound_form is not None:
        errors = list(bound_form.non_field_errors())
        if bound_name not in available:
            for field, messages in bound_form.errors.items():
                if field != "__all__":
                    errors.extend(messages)
    return steps, errors
