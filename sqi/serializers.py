"""Serializer helpers shared by the apps' APIs."""

import copy

from rest_framework.serializers import BaseSerializer


def _has_inner_fields(field) -> bool:
    """A field holding other fields (a nested serializer, ListField, a many relation): its
    inner fields are bound to it, so it must be copied whole."""
    return isinstance(field, BaseSerializer) or any(
        hasattr(field, name) for name in ("child", "child_relation")
    )


class PrebuiltFieldsMixin:
    """Build a serializer's fields once per class instead of on every instance.

    ``ModelSerializer.get_fields`` inspects the model and builds every field anew each time
    a serializer is made (about 1 ms for the complaint detail, on every 201 and every
    detail read), and even a plain ``Serializer`` deep-copies its declared fields, which
    re-runs each field's ``__init__`` (another ~0.8 ms for intake). The fields depend on the
    class alone (no serializer using this mixin changes them by context or instance), so
    they are built once, never bound, and each instance gets its own copies: a shallow copy
    of a plain field (binding sets attributes on the copy only; what the copies share —
    validators, choices, the queryset — is only read), a deep copy of a field that holds
    other fields.
    """

    def get_fields(self):
        cls = type(self)
        prototype = cls.__dict__.get("_prebuilt_fields")
        if prototype is None:
            prototype = super().get_fields()
            cls._prebuilt_fields = prototype
        return {
            name: copy.deepcopy(field) if _has_inner_fields(field) else copy.copy(field)
            for name, field in prototype.items()
        }
