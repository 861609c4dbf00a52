"""Complaint API shapes. Lists carry masked personal data only; the detail gives staff in
scope the name and phone; the full ID number needs the audited reveal endpoint."""

from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from insurers.models import Insurer, OrgUnit
from insurers.selectors import unit_with_insurer
from sqi.serializers import PrebuiltFieldsMixin

from ..models import (
    NARRATIVE_MAX,
    Attachment,
    Category,
    Channel,
    Complaint,
    Decision,
    DeclineReason,
    Event,
    PauseReason,
    ProductLine,
    Satisfaction,
    Status,
    Subcategory,
)
from ..selectors import mask_name, mask_phone


class UnitField(serializers.PrimaryKeyRelatedField):
    """The handling unit, looked up with its insurer in one compiled statement
    (``insurers.selectors.unit_with_insurer``); the same answers and errors as
    ``PrimaryKeyRelatedField`` over ``queryset``."""

    def to_internal_value(self, data):
        unit = self._lookup(data)
        self.parent._unit_in_hand = unit
        return unit

    def _lookup(self, data):
        pk_field = OrgUnit._meta.pk
        try:
            if isinstance(data, bool):
                raise TypeError
            pk = pk_field.get_prep_value(data)  # what .get(pk=data) converts it with
        except (TypeError, ValueError):
            self.fail("incorrect_type", data_type=type(data).__name__)
        low, high = connection.ops.integer_field_range(pk_field.get_internal_type())
        unit = None
        if (low is None or pk >= low) and (high is None or pk <= high):
            unit = unit_with_insurer(pk)
        if unit is None:
            self.fail("does_not_exist", pk_value=data)
        return unit


class InsurerOfUnitField(serializers.PrimaryKeyRelatedField):
    def to_internal_value(self, data):
        unit = getattr(self.parent, "_unit_in_hand", None)
        if unit is not None and not isinstance(data, bool):
            try:
                if int(data) == unit.insurer_id:
                    return unit.insurer
            except (TypeError, ValueError, OverflowError):
                pass  # the plain lookup gives the plain error
        return super().to_internal_value(data)


class ComplaintInputSerializer(PrebuiltFieldsMixin, serializers.Serializer):
    """Intake. Types only: the rules (ID check digit, taxonomy, scope) are the service's."""

    # The unit first: its lookup brings its insurer along, which the insurer field then
    # takes without a query of its own when it names that insurer (the usual case).
    org_unit = UnitField(queryset=OrgUnit.objects.select_related("insurer"))
    insurer = InsurerOfUnitField(queryset=Insurer.objects.all())
    product_line = serializers.ChoiceField(choices=ProductLine.choices)
    category = serializers.ChoiceField(choices=Category.choices)
    subcategory = serializers.ChoiceField(
        choices=Subcategory.choices, required=False, allow_blank=True, default=""
    )
    channel = serializers.ChoiceField(choices=Channel.choices)
    amount_in_dispute = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True, min_value=0
    )
    narrative = serializers.CharField(max_length=NARRATIVE_MAX)
    complainant_name = serializers.CharField(max_length=100)
    complainant_phone = serializers.CharField(max_length=20)
    complainant_id_number = serializers.CharField(
        max_length=18, required=False, allow_blank=True, default=""
    )
    received_at = serializers.DateTimeField(required=False)


class ComplaintListSerializer(PrebuiltFieldsMixin, serializers.ModelSerializer):
    insurer_name = serializers.CharField(source="insurer.short_name", read_only=True)
    org_unit_name = serializers.CharField(source="org_unit.name", read_only=True)
    deadline_state = serializers.CharField(read_only=True)
    complainant_name = serializers.SerializerMethodField()
    complainant_phone = serializers.SerializerMethodField()
    id_number = serializers.CharField(source="id_number_masked", read_only=True)

    class Meta:
        model = Complaint
        fields = [
            "reference",
            "status",
            "deadline_state",
            "insurer",
            "insurer_name",
            "org_unit",
            "org_unit_name",
            "product_line",
            "category",
            "subcategory",
            "channel",
            "amount_in_dispute",
            "received_at",
            "due_date",
            "extensions",
            "decided_at",
            "decision",
            "closed_at",
            "satisfaction",
            "is_elder",
            "complainant_name",
            "complainant_phone",
            "id_number",
        ]

    def get_complainant_name(self, obj) -> str:
        return mask_name(obj.complainant_name)

    def get_complainant_phone(self, obj) -> str:
        return mask_phone(obj.complainant_phone)


class ComplaintDetailSerializer(ComplaintListSerializer):
    """For staff in scope: name and phone to contact the complainant; ID number masked."""

    allowed_actions = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta(ComplaintListSerializer.Meta):
        fields = [
            *ComplaintListSerializer.Meta.fields,
            "narrative",
            "decline_reason",
            "reply",
            "remedy_amount",
            "review_requested_at",
            "escalated_at",
            "allowed_actions",
        ]

    def get_complainant_name(self, obj) -> str:
        return obj.complainant_name

    def get_complainant_phone(self, obj) -> str:
        return obj.complainant_phone


class ComplaintFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    insurer = serializers.IntegerField(required=False)
    within = serializers.IntegerField(required=False, help_text=_("An org unit id: its subtree."))
    product_line = serializers.ChoiceField(choices=ProductLine.choices, required=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    deadline_state = serializers.ChoiceField(
        choices=[("on_track", "on_track"), ("at_risk", "at_risk"), ("breached", "breached")],
        required=False,
    )
    overdue = serializers.BooleanField(required=False, allow_null=True, default=None)
    received_from = serializers.DateField(required=False)
    received_to = serializers.DateField(required=False)
    q = serializers.CharField(
        required=False, help_text=_("Exact reference, phone or ID number."), max_length=40
    )

    def validate(self, data):
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and start > end:
            raise serializers.ValidationError(
                {"received_to": _("The end of the range is before its start.")}
            )
        return data


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ["id", "at", "kind", "from_status", "to_status", "text", "actor"]

    def get_actor(self, obj) -> str | None:
        if obj.actor is None:
            return None
        return obj.actor.get_full_name() or obj.actor.get_username()


class NoteInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=5000)


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "original_name", "content_type", "size", "sha256", "created"]


class AttachmentInputSerializer(serializers.Serializer):
    file = serializers.FileField()


# Inputs of the workflow actions, one small serializer each.
class DeclineInput(serializers.Serializer):
    reason = serializers.ChoiceField(choices=DeclineReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ExtendInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    complainant_notice = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=2000
    )


class PauseInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PauseReason.choices)
    reason = serializers.CharField(max_length=500)
    start = serializers.DateField(required=False)


class ResumeInput(serializers.Serializer):
    end = serializers.DateField(required=False)


class DecideInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Decision.choices)
    reply = serializers.CharField(max_length=5000)
    remedy_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True, min_value=0
    )


class CloseInput(serializers.Serializer):
    satisfaction = serializers.ChoiceField(choices=Satisfaction.choices)


class ReviewInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class EmptyInput(serializers.Serializer):
    pass


class RevealOutput(serializers.Serializer):
    id_number = serializers.CharField()
