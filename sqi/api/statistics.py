"""/api/v1/sqi/statistics/ and the file imports: the index's inputs, for index administrators.

Thin: each endpoint validates its input, calls one service or selector and returns. Figures
are checked by the model (``full_clean`` in the service), so that a paid count above the
closed count or a premium of zero gets the same field-named 400 here as in the admin and
the file import.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from complaints.models import ProductLine
from insurers.models import Insurer
from insurers.roles import sees_every_unit

from .. import importing, selectors, services
from ..models import OperatingStatistic, Period


class IsIndexAdministrator(permissions.BasePermission):
    """Index administrators and superusers; everyone else 403 (anonymous: not signed in)."""

    message = _("Only index administrators can manage statistics.")

    def has_permission(self, request, view):
        return sees_every_unit(request.user)


class StatisticOutputSerializer(serializers.ModelSerializer):
    insurer = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    insurer_name = serializers.CharField(source="insurer.short_name", read_only=True)
    period = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = OperatingStatistic
        fields = [
            "id",
            "insurer",
            "insurer_name",
            "period",
            *services.STATISTIC_FIELDS[2:],
            "source",
            "source_import",
            "updated",
        ]
        read_only_fields = fields


class TextSlugRelatedField(serializers.SlugRelatedField):
    """A slug with a NUL character is a 400 naming the field: PostgreSQL refuses NUL in
    text, so the look-up would otherwise fail with a 500 (found by the API fuzz)."""

    default_error_messages = {"null_characters": _("Null characters are not allowed.")}

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("null_characters")
        return super().to_internal_value(data)


class StatisticInputSerializer(serializers.ModelSerializer):
    insurer = TextSlugRelatedField(
        slug_field="slug",
        queryset=Insurer.objects.all(),
        help_text=_("The insurer's slug, as in its public profile address."),
        error_messages={"does_not_exist": _("No insurer has the slug “{value}”.")},
    )
    period = TextSlugRelatedField(
        slug_field="code",
        queryset=Period.objects.all(),
        help_text=_("A period code such as 2025 or 2025H1; the period must exist."),
        error_messages={"does_not_exist": _("The period {value} does not exist.")},
    )

    class Meta:
        model = OperatingStatistic
        fields = list(services.STATISTIC_FIELDS)
        # The key's uniqueness and the cross-field rules are checked by the model in the
        # service, with the messages the admin and the import give.
        validators: list = []


class StatisticFilterSerializer(serializers.Serializer):
    period = serializers.CharField(required=False, help_text=_("Period code, e.g. 2025H1."))
    insurer = serializers.CharField(required=False, help_text=_("Insurer slug."))
    product_line = serializers.ChoiceField(choices=ProductLine.choices, required=False)


class ImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=_("A CSV (UTF-8 or GBK) or XLSX file."))


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(
        allow_null=True, help_text=_("Row number as the spreadsheet shows it; null: the file.")
    )
    column = serializers.CharField(help_text=_("The column's header as written in the file."))
    message = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    kind = serializers.CharField()
    file_name = serializers.CharField()
    import_id = serializers.IntegerField(allow_null=True)
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    errors = ImportErrorSerializer(many=True)


def _import_response(result: importing.ImportResult) -> Response:
    code = status.HTTP_201_CREATED if result.ok else status.HTTP_400_BAD_REQUEST
    return Response(ImportResultSerializer(result.as_dict()).data, status=code)


class ImportInputErrorSerializer(serializers.Serializer):
    file = serializers.ListField(child=serializers.CharField())


IMPORT_SCHEMA = {
    "request": {"multipart/form-data": ImportInputSerializer},
    "responses": {
        201: ImportResultSerializer,
        400: OpenApiResponse(
            # Two shapes: the file's errors, or the request's (no file, not a file).
            PolymorphicProxySerializer(
                component_name="ImportRejected",
                serializers=[ImportResultSerializer, ImportInputErrorSerializer],
                resource_type_field_name=None,
            ),
            description=_(
                "Nothing was imported: every error of the file with its row and column, "
                "or {file: [...]} when the request holds no usable file."
            ),
        ),
    },
}


@extend_schema_view(
    list=extend_schema(parameters=[StatisticFilterSerializer]),
    create=extend_schema(request=StatisticInputSerializer),
    update=extend_schema(request=StatisticInputSerializer),
    partial_update=extend_schema(request=StatisticInputSerializer),
)
class StatisticViewSet(viewsets.ModelViewSet):
    """Operating statistics per insurer, period and product line."""

    permission_classes = [IsIndexAdministrator]
    serializer_class = StatisticOutputSerializer
    queryset = OperatingStatistic.objects.none()
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if self.action != "list":
            return selectors.statistic_list()
        filters = StatisticFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.statistic_list(filters=filters.validated_data)

    def _respond(self, statistic, code=status.HTTP_200_OK):
        statistic = selectors.statistic_list().get(pk=statistic.pk)
        return Response(StatisticOutputSerializer(statistic).data, status=code)

    def create(self, request):
        data = StatisticInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        statistic = services.statistic_create(by=request.user, data=data.validated_data)
        return self._respond(statistic, status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        statistic = self.get_object()
        data = StatisticInputSerializer(statistic, data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        services.statistic_update(statistic=statistic, by=request.user, data=data.validated_data)
        return self._respond(statistic)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def destroy(self, request, pk=None):
        services.statistic_delete(statistic=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        **IMPORT_SCHEMA,
        description=_(
            "Import a file of operating statistics, all rows or none. A row whose insurer, "
            "period and product line already have figures replaces them."
        ),
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        url_name="import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_file(self, request):
        data = ImportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        result = importing.statistics_import(by=request.user, file=upload, file_name=upload.name)
        return _import_response(result)


class ClaimImportViewSet(viewsets.GenericViewSet):
    """Raw claim records arrive only by file; the claim rollup aggregates them."""

    permission_classes = [IsIndexAdministrator]
    serializer_class = ImportResultSerializer

    @extend_schema(
        **IMPORT_SCHEMA,
        description=_(
            "Load a file of raw claim records, all rows or none. A claim number already "
            "loaded for the insurer is an error."
        ),
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        url_name="import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_file(self, request):
        data = ImportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        result = importing.claims_import(by=request.user, file=upload, file_name=upload.name)
        return _import_response(result)


router = SimpleRouter()
router.register("statistics", StatisticViewSet, basename="sqi-statistic")
router.register("claims", ClaimImportViewSet, basename="sqi-claim")

urlpatterns = router.urls
