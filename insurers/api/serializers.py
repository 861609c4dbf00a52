"""Serializers for the insurers API: shapes only; validation lives in the models and services."""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..models import Insurer, Level, OrgUnit, ReceptionDay, ServiceOfficer


class InsurerSerializer(serializers.ModelSerializer):
    group = serializers.PrimaryKeyRelatedField(
        queryset=OrgUnit.objects.filter(level=Level.GROUP), allow_null=True, required=False
    )

    class Meta:
        model = Insurer
        fields = [
            "id",
            "name_zh",
            "name_en",
            "short_name",
            "licence_type",
            "credit_code",
            "group",
            "established",
            "is_agricultural",
            "active",
        ]
        # Uniqueness and the checksum are checked by the model (full_clean in the service),
        # so that the admin, the API and imports give the same messages.
        extra_kwargs = {"credit_code": {"validators": []}, "name_zh": {"validators": []}}


class OrgUnitSerializer(serializers.ModelSerializer):
    parent = serializers.IntegerField(
        source="parent_id",
        allow_null=True,
        required=False,
        help_text=_("Parent unit id; null for a unit at the top of the tree."),
    )
    children_count = serializers.IntegerField(source="numchild", read_only=True)

    class Meta:
        model = OrgUnit
        fields = ["id", "name", "level", "insurer", "parent", "region", "depth", "children_count"]
        read_only_fields = ["depth"]


class OrgUnitUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrgUnit
        fields = ["name", "level", "insurer", "region"]


class ServiceOfficerSerializer(serializers.ModelSerializer):
    user = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.all())
    user_name = serializers.SerializerMethodField()
    is_active = serializers.BooleanField(read_only=True)
    title = serializers.ChoiceField(
        choices=ServiceOfficer._meta.get_field("title").choices, required=False
    )

    class Meta:
        model = ServiceOfficer
        fields = ["id", "user", "user_name", "org_unit", "title", "appointed", "ended", "is_active"]

    def get_user_name(self, officer) -> str:
        return officer.user.get_full_name() or officer.user.get_username()


class ReceptionDaySerializer(serializers.ModelSerializer):
    class Meta:
        model = ReceptionDay
        fields = [
            "id",
            "officer",
            "date",
            "place",
            "consumers_met",
            "issues_raised",
            "follow_ups",
            "follow_ups_open",
        ]
