"""Serializer helpers shared by the apps' APIs."""

import copy


class PrebuiltFieldsMixin:
    """Build a ModelSerializer's fields once per class instead of on every instance.

    ``ModelSerializer.get_fields`` inspects the model and builds every field anew each time
    a serializer is made (about 1 ms for the complaint detail, on every 201 and every
    detail read). The fields depend on the class alone (no serializer using this mixin
    changes them by context or instance), so they are built once and each instance gets
    a deep copy — what DRF does for declared fields anyway.
    """

    def get_fields(self):
        cls = type(self)
        prototype = cls.__dict__.get("_prebuilt_fields")
        if prototype is None:
            prototype = super().get_fields()
            cls._prebuilt_fields = prototype
        return copy.deepcopy(prototype)
