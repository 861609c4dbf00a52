"""The OpenAPI schema documents the errors every endpoint can answer, not only its success.

A client (and the schemathesis fuzz in tests/security/test_api_fuzz.py) may rely on the
status codes the schema lists. The errors follow from how DRF answers, so they are added
here once for every operation rather than by hand on each view:

- 400 — the request has a body or query parameters to validate;
- 403 — the view needs a signed-in user or a permission (anonymous requests get 403, not
  401: session authentication comes first and sends no ``WWW-Authenticate``);
- 404 — the path names a record, or the list is paginated (a page past the end);
- 415 — the request sends a body, in a media type the endpoint may not read;
- 429 — the view throttles (anonymous requests to the public API).

A view's own ``@extend_schema(responses=...)`` for one of these codes wins.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions, serializers


class ErrorSerializer(serializers.Serializer):
    """DRF's answer for an error that is not about the request's fields."""

    detail = serializers.CharField(help_text=_("What went wrong, in the user's language."))


VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": "Field name (or non_field_errors) → messages.",
    "additionalProperties": {},
}
WRITE_METHODS = {"POST", "PUT", "PATCH"}


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, response in self._error_responses().items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses

    def _error_responses(self) -> dict[str, OpenApiResponse]:
        errors = {}
        has_query = any(
            p.get("in") in ("query", "header") for p in self._get_parameters() if "in" in p
        )
        if self.method in WRITE_METHODS or has_query:
            errors["400"] = OpenApiResponse(
                VALIDATION_ERROR_SCHEMA, description=_("The request is not valid.")
            )
        if not all(isinstance(p, permissions.AllowAny) for p in self.view.get_permissions()):
            errors["403"] = OpenApiResponse(
                ErrorSerializer,
                description=_("Not signed in, or not allowed to do this."),
            )
        if "{" in self.path or self._is_paginated_list():
            errors["404"] = OpenApiResponse(
                ErrorSerializer, description=_("No such record, or no such page.")
            )
        if self.method in WRITE_METHODS:
            errors["415"] = OpenApiResponse(
                ErrorSerializer, description=_("The body's media type is not one this reads.")
            )
        if self.view.get_throttles():
            errors["429"] = OpenApiResponse(
                ErrorSerializer, description=_("Too many requests: try again later.")
            )
        return errors

    def _is_paginated_list(self) -> bool:
        return self.method == "GET" and self._is_list_view() and self._get_paginator() is not None
