"""Public, read-only API of the awarded showcase cases (``/api/v1/showcase-cases/``).

Anonymous readers are welcome; like the gallery it only ever answers with awarded cases —
a draft's slug is a 404 here too, whoever asks. Filters and search are the gallery's.
"""

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, permissions, serializers, viewsets

from .. import showcase_selectors as selectors
from ..models import AwardCategory, AwardProgramme, KeyFigure, ShowcaseCase, ShowcaseImage
from ..showcase import sanitise_body


class FilterSerializer(serializers.Serializer):
    year = serializers.IntegerField(required=False, min_value=1990, max_value=2100)
    programme = serializers.IntegerField(required=False, min_value=1, help_text=_("Programme id"))
    category = serializers.IntegerField(required=False, min_value=1, help_text=_("Category id"))
    insurer = serializers.IntegerField(
        required=False, min_value=1, help_text=_("Insurer id: cases awarded to this insurer.")
    )
    group = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text=_("Group org unit id: cases awarded to the group or any of its insurers."),
    )
    tag = serializers.SlugField(required=False, allow_unicode=True, max_length=40)
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text=_("Words from the title, summary or text (Chinese found anywhere in a text)."),
    )


class ProgrammeSerializer(serializers.ModelSerializer):
    class Meta:
        model = AwardProgramme
        fields = ["id", "name", "organiser", "year", "announced"]


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = AwardCategory
        fields = ["id", "name"]


class AwardeeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[("insurer", "insurer"), ("group", "group")])
    id = serializers.IntegerField()
    name = serializers.CharField()
    short_name = serializers.CharField()


class FigureSerializer(serializers.ModelSerializer):
    class Meta:
        model = KeyFigure
        fields = ["label", "value", "unit"]


class ImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ShowcaseImage
        fields = ["url", "width", "height", "alt", "caption"]

    def get_url(self, obj) -> str:
        return selectors.public_image_url(obj.case, obj)


class ShowcaseListSerializer(serializers.ModelSerializer):
    programme = ProgrammeSerializer(read_only=True)
    category = CategorySerializer(read_only=True)
    awardees = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()
    figures = FigureSerializer(many=True, read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = ShowcaseCase
        fields = [
            "slug",
            "title",
            "year",
            "programme",
            "category",
            "awardees",
            "tags",
            "figures",
            "summary",
            "is_demo_text",
            "awarded_at",
            "url",
        ]

    @extend_schema_field(AwardeeSerializer(many=True))
    def get_awardees(self, obj) -> list[dict]:
        rows = [
            {"kind": "group", "id": u.pk, "name": u.name, "short_name": u.name}
            for u in obj.org_units.all()
        ]
        rows += [
            {"kind": "insurer", "id": i.pk, "name": i.name_zh, "short_name": i.short_name}
            for i in obj.insurers.all()
        ]
        return rows

    def get_tags(self, obj) -> list[str]:
        return [t.name for t in obj.tags.all()]

    def get_url(self, obj) -> str:
        return reverse("cases:showcase_detail", args=[obj.slug])


class ShowcaseDetailSerializer(ShowcaseListSerializer):
    body = serializers.SerializerMethodField(help_text=_("Sanitised HTML."))
    images = ImageSerializer(many=True, read_only=True)

    class Meta(ShowcaseListSerializer.Meta):
        fields = [*ShowcaseListSerializer.Meta.fields, "body", "images"]

    def get_body(self, obj) -> str:
        return sanitise_body(obj.body)


@extend_schema_view(
    list=extend_schema(parameters=[FilterSerializer]),
)
class ShowcaseCaseViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Awarded showcase cases: anyone may read them."""

    permission_classes = [permissions.AllowAny]
    lookup_field = "slug"
    lookup_value_regex = r"[^/]+"
    queryset = ShowcaseCase.objects.none()
    filter_backends: list = []

    def get_serializer_class(self):
        return ShowcaseListSerializer if self.action == "list" else ShowcaseDetailSerializer

    def get_queryset(self):
        if self.action != "list":
            return selectors.public_showcases()
        filters = FilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.public_showcases(dict(filters.validated_data))

    def get_object(self):
        case = selectors.showcase_get_public(self.kwargs["slug"])
        if case is None:
            raise Http404
        return case
