"""``POST /api/v1/sqi/what-if/``: an insurer's score and rank if some indicator values changed.

The answer is computed over a published run's stored inputs by the methodology's own
functions and saved nowhere. It is for the insurer's own officers and consumer-protection
staff and for index administrators: anyone else signed in gets 403 (no role) or 404 (an
insurer that is not theirs, or a period and peer group with nothing published).
"""

from django.http import Http404
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import methodology as method
from .. import selectors_public
from .. import whatif as selectors
from ..models import PERIOD_CODE, PeerGroup
from .results import BANDS, RankingScoreSerializer


class MayUseWhatIf(permissions.BasePermission):
    message = _("Only officers, consumer-protection staff and index administrators may ask.")

    def has_permission(self, request, view) -> bool:
        return selectors.may_use_what_if(user=request.user)


class ChangeSerializer(serializers.Serializer):
    """Exactly one of the three: a change in the indicator's unit, in percent, or the value."""

    delta = serializers.FloatField(
        required=False,
        help_text=_("Added to the value, in the indicator's unit (rates are fractions)."),
    )
    percent = serializers.FloatField(
        required=False,
        min_value=-100,
        help_text=_("Percent of the current value: -10 is ten percent less."),
    )
    value = serializers.FloatField(required=False, help_text=_("The new value itself."))

    def validate(self, attrs):
        if len(attrs) != 1:
            raise serializers.ValidationError(_("Give exactly one of delta, percent or value."))
        return attrs


class WhatIfInputSerializer(serializers.Serializer):
    period = serializers.RegexField(
        PERIOD_CODE.pattern,
        max_length=6,
        help_text=_("A year such as 2025, or a half-year such as 2025H1."),
    )
    peer_group = serializers.ChoiceField(choices=PeerGroup.choices)
    insurer = serializers.SlugField(help_text=_("The insurer's slug."))
    changes = serializers.DictField(
        child=ChangeSerializer(),
        allow_empty=True,
        help_text=_("Indicator key → change."),
    )

    def validate_changes(self, changes: dict) -> dict:
        unknown = {k: [_("Unknown indicator.")] for k in changes if k not in method.INDICATORS}
        if unknown:
            raise serializers.ValidationError(unknown)
        return changes


class ValueChangeSerializer(serializers.Serializer):
    # "from" is a Python keyword, so the field is declared through the source mapping.
    to = serializers.FloatField()

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.FloatField()
        return fields


class PositionSerializer(serializers.Serializer):
    total = serializers.FloatField(help_text=_("0–100, rounded half-up to two decimals."))
    rank = serializers.IntegerField(help_text=_("Competition rank: 1, 2, 2, 4."))
    band = serializers.ChoiceField(choices=BANDS)
    dimensions = serializers.DictField(child=serializers.FloatField())
    indicators = serializers.DictField(child=RankingScoreSerializer())


class WhatIfSerializer(serializers.Serializer):
    period = serializers.CharField()
    peer_group = serializers.ChoiceField(choices=PeerGroup.choices)
    insurer = serializers.CharField(help_text=_("The insurer's slug."))
    ranked = serializers.IntegerField(help_text=_("How many insurers the run ranks."))
    changes = serializers.DictField(
        child=ValueChangeSerializer(), help_text=_("The indicator values asked for.")
    )
    derived = serializers.DictField(
        child=ValueChangeSerializer(),
        help_text=_("Year-on-year indicators that follow a changed current value."),
    )
    before = PositionSerializer()
    after = PositionSerializer()


class WhatIfApi(APIView):
    """Recompute a published ranking with some of one insurer's indicator values changed."""

    permission_classes = [permissions.IsAuthenticated, MayUseWhatIf]

    @extend_schema(
        request=WhatIfInputSerializer,
        responses={
            200: WhatIfSerializer,
            400: OpenApiResponse(description=_("A field is missing or not valid.")),
            403: OpenApiResponse(description=_("Not signed in, or not allowed to ask.")),
            404: OpenApiResponse(
                description=_("Nothing published for this period and group, or not your insurer.")
            ),
        },
        examples=[
            OpenApiExample(
                "payment cycle one day shorter, complaints ten percent fewer",
                request_only=True,
                value={
                    "period": "2025",
                    "peer_group": "life",
                    "insurer": "example-life",
                    "changes": {
                        "payment_cycle_days": {"delta": -1},
                        "complaints_per_100m_premium": {"percent": -10},
                    },
                },
            )
        ],
    )
    def post(self, request):
        given = WhatIfInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        insurer = selectors.user_insurer(user=request.user, slug=data["insurer"])
        run = selectors_public.published_run(period=data["period"], peer_group=data["peer_group"])
        if insurer is None or run is None:
            raise Http404
        try:
            result = selectors.what_if(run=run, insurer=insurer, changes=data["changes"])
        except selectors.WhatIfError as exc:
            raise ValidationError(exc.detail()) from None
        document = {
            **result,
            "period": run.period.code,
            "peer_group": run.peer_group,
            "insurer": insurer.slug,
        }
        return Response(WhatIfSerializer(document).data)


urlpatterns = [path("what-if/", WhatIfApi.as_view(), name="sqi-what-if")]
