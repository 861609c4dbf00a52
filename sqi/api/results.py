"""Public, read-only API of the published index: ``GET /api/v1/sqi/results/``.

``?period=2025&peer_group=life`` answers the published ranking of that period and peer
group — the same document, byte for byte, as the ranking page's JSON download. A period or
peer group that is not well-formed is a 400 naming the parameter; a well-formed one without
a published run is a 404, whether a run is being computed, validated, superseded or never
existed (``sqi.selectors_public`` only ever reads published runs).
"""

from django.http import Http404
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors_public as selectors
from ..models import PERIOD_CODE, PeerGroup

BANDS = [("excellent", "excellent"), ("pass", "pass"), ("failing", "failing")]


class RankingFilterSerializer(serializers.Serializer):
    period = serializers.RegexField(
        PERIOD_CODE.pattern,
        max_length=6,
        help_text=_("A year such as 2025, or a half-year such as 2025H1."),
    )
    peer_group = serializers.ChoiceField(choices=PeerGroup.choices)


class RankingInsurerSerializer(serializers.Serializer):
    slug = serializers.CharField(help_text=_("Its profile is /insurers/<slug>/."))
    name_zh = serializers.CharField()
    name_en = serializers.CharField()
    short_name = serializers.CharField()


class RankingScoreSerializer(serializers.Serializer):
    value = serializers.FloatField(
        allow_null=True, help_text=_("The indicator's value; rates are fractions (0.943).")
    )
    score = serializers.FloatField(allow_null=True, help_text=_("Its score, floor to 100."))


class RankingRatiosSerializer(serializers.Serializer):
    complaints_per_100m_premium = serializers.FloatField(allow_null=True)
    complaints_per_10k_policies = serializers.FloatField(allow_null=True)
    complaints_per_10k_insured = serializers.FloatField(allow_null=True)
    complaint_index = serializers.FloatField(
        allow_null=True,
        help_text=_("Share of the group's complaints over share of its premium; 1.00 = average."),
    )


class RankingResultSerializer(serializers.Serializer):
    rank = serializers.IntegerField(help_text=_("Competition rank: 1, 2, 2, 4."))
    insurer = RankingInsurerSerializer()
    total = serializers.FloatField(help_text=_("0–100, rounded half-up to two decimals."))
    band = serializers.ChoiceField(choices=BANDS, help_text=_("≥ 90 excellent, < 60 failing."))
    dimensions = serializers.DictField(
        child=serializers.FloatField(allow_null=True), help_text=_("Dimension key → score.")
    )
    indicators = serializers.DictField(
        child=RankingScoreSerializer(), help_text=_("Indicator key → value and score.")
    )
    premium_cny = serializers.FloatField()
    complaints = serializers.IntegerField(help_text=_("Accepted complaints in the period."))
    ratios = RankingRatiosSerializer()


class RankingDimensionSerializer(serializers.Serializer):
    key = serializers.CharField()
    name_zh = serializers.CharField()
    name_en = serializers.CharField()


class RankingIndicatorSerializer(serializers.Serializer):
    key = serializers.CharField()
    name_zh = serializers.CharField()
    name_en = serializers.CharField()
    dimension = serializers.CharField()
    unit = serializers.CharField()
    better = serializers.ChoiceField(choices=[("higher", "higher"), ("lower", "lower")])
    weight = serializers.FloatField(allow_null=True)


class RankingSerializer(serializers.Serializer):
    """A published ranking: the run's facts, its columns and every insurer's result."""

    period = serializers.CharField()
    peer_group = serializers.ChoiceField(choices=PeerGroup.choices)
    peer_group_name = serializers.CharField()
    methodology = serializers.CharField(
        help_text=_("The methodology version it was computed with.")
    )
    published_at = serializers.DateTimeField(allow_null=True)
    fingerprint = serializers.CharField(
        help_text=_("SHA-256 of the inputs and methodology: recomputation gives the same.")
    )
    industry_index = serializers.FloatField(
        allow_null=True, help_text=_("Premium-weighted mean of the totals.")
    )
    count = serializers.IntegerField()
    dimensions = RankingDimensionSerializer(many=True)
    indicators = RankingIndicatorSerializer(many=True)
    results = RankingResultSerializer(many=True)


class ResultsApi(APIView):
    """The published ranking of a period and peer group: anyone may read it."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[RankingFilterSerializer],
        responses={
            200: RankingSerializer,
            400: OpenApiResponse(description=_("A parameter is missing or not valid.")),
            404: OpenApiResponse(description=_("Nothing is published for this period and group.")),
        },
    )
    def get(self, request):
        filters = RankingFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        run = selectors.published_run(**filters.validated_data)
        if run is None:
            raise Http404
        document = selectors.ranking_document(run=run, results=selectors.run_results(run=run))
        return Response(RankingSerializer(document).data)


urlpatterns = [path("results/", ResultsApi.as_view(), name="sqi-results")]
