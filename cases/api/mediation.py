"""Mediation cases API: the scoped list and detail, escalation and direct application,
the steps of a case, its sessions and its timeline.

Each endpoint validates its input with a small serializer, calls one service or selector,
and returns. Scope is the selectors' (a case outside it is 404); the rules of each step are
the services' (a ValidationError is a 400 naming the field, PermissionDenied a 403). The
consumer's name and phone are always masked here; the full data needs the audited reveal.
"""

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from complaints import selectors as complaint_selectors
from complaints import services as complaint_services
from complaints.models import Complaint
from insurers.models import Insurer, OrgUnit

from .. import selectors, services
from ..forms_mediation import NOTE_MAX, REASON_MAX, SEARCH_MAX, SUMMARY_MAX
from ..models import (
    CaseEvent,
    CaseStatus,
    MediationCase,
    MediationOrganization,
    MediationSession,
    SessionMode,
)
from ..selectors import available_case_actions

# ---- shapes --------------------------------------------------------------------------------


def _consumer(case: MediationCase) -> tuple[str, str]:
    if case.complaint is not None:
        return case.complaint.complainant_name, case.complaint.complainant_phone
    return case.applicant_name, case.applicant_phone


class MediationCaseSerializer(serializers.ModelSerializer):
    """One shape for the list and the detail, so clients see the same fields everywhere
    (and the schema names the case's states once). ``allowed_actions`` are the steps the
    requesting user may take on the case now."""

    organization_name = serializers.CharField(source="organization.name", read_only=True)
    insurer_name = serializers.CharField(source="insurer.short_name", read_only=True)
    org_unit_name = serializers.CharField(source="org_unit.name", read_only=True)
    complaint = serializers.SerializerMethodField()
    consumer_name = serializers.SerializerMethodField()
    consumer_phone = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = MediationCase
        fields = [
            "reference",
            "status",
            "organization",
            "organization_name",
            "insurer",
            "insurer_name",
            "org_unit",
            "org_unit_name",
            "complaint",
            "consumer_name",
            "consumer_phone",
            "claimed_amount",
            "summary",
            "applied_at",
            "accepted_at",
            "concluded_at",
            "refusal_reason",
            "outcome_note",
            "settlement_amount",
            "settlement_terms",
            "signed_on",
            "judicially_confirmed",
            "court",
            "confirmed_on",
            "allowed_actions",
        ]

    def get_complaint(self, obj) -> str | None:
        """The reference of the complaint behind the case; null for a direct application."""
        return obj.complaint.reference if obj.complaint is not None else None

    def get_consumer_name(self, obj) -> str:
        return complaint_selectors.mask_name(_consumer(obj)[0])

    def get_consumer_phone(self, obj) -> str:
        return complaint_selectors.mask_phone(_consumer(obj)[1])

    def get_allowed_actions(self, obj) -> list[str]:
        return available_case_actions(case=obj, user=self.context["request"].user)


class CaseFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=CaseStatus.choices, required=False)
    insurer = serializers.IntegerField(required=False)
    organization = serializers.IntegerField(required=False)
    applied_from = serializers.DateField(required=False)
    applied_to = serializers.DateField(required=False)
    q = serializers.CharField(
        required=False, max_length=SEARCH_MAX, help_text=_("A case or complaint reference.")
    )

    def validate(self, data):
        start, end = data.get("applied_from"), data.get("applied_to")
        if start and end and start > end:
            raise serializers.ValidationError(
                {"applied_to": _("The end date comes before the start date.")}
            )
        return data


class CaseInputSerializer(serializers.Serializer):
    """Open a case. With ``complaint``: insurer staff escalate that complaint (the insurer,
    unit and consumer come from it). Without: a mediator records a direct application to
    their organisation, naming the insurer, unit and applicant."""

    complaint = serializers.CharField(
        required=False, max_length=20, help_text=_("The reference of the complaint to escalate.")
    )
    organization = serializers.PrimaryKeyRelatedField(
        queryset=MediationOrganization.objects.all(),
        required=False,
        help_text=_("Required for an escalation; a mediator's own organisation otherwise."),
    )
    summary = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=SUMMARY_MAX
    )
    claimed_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True, min_value=0
    )
    insurer = serializers.PrimaryKeyRelatedField(queryset=Insurer.objects.all(), required=False)
    org_unit = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all(), required=False)
    applicant_name = serializers.CharField(required=False, max_length=100)
    applicant_phone = serializers.CharField(required=False, max_length=20)

    def validate(self, data):
        required = ["organization"] if data.get("complaint") else ["insurer", "org_unit"]
        if not data.get("complaint"):
            required += ["applicant_name", "applicant_phone", "summary"]
        missing = {name: _("This field is required.") for name in required if not data.get(name)}
        if missing:
            raise serializers.ValidationError(missing)
        return data


class RefuseInput(serializers.Serializer):
    refusal_reason = serializers.CharField(max_length=REASON_MAX)


class SettleInput(serializers.Serializer):
    settlement_amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    settlement_terms = serializers.CharField(max_length=NOTE_MAX)
    signed_on = serializers.DateField()
    outcome_note = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=NOTE_MAX
    )
    judicially_confirmed = serializers.BooleanField(required=False, default=False)
    court = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    confirmed_on = serializers.DateField(required=False, allow_null=True, default=None)


class NoteInput(serializers.Serializer):
    outcome_note = serializers.CharField(max_length=NOTE_MAX)


class EmptyInput(serializers.Serializer):
    pass


def _kwargs(**names):
    """Input field → service keyword: the API names fields as the case's own fields (and
    as the services' errors do), the services take shorter keywords."""

    def convert(data: dict) -> dict:
        return {names.get(key, key): value for key, value in data.items()}

    return convert


#: step → (input serializer, service, input-to-keyword conversion)
TRANSITIONS = {
    "accept": (EmptyInput, services.case_accept, _kwargs()),
    "refuse": (RefuseInput, services.case_refuse, _kwargs(refusal_reason="reason")),
    "start": (EmptyInput, services.case_start, _kwargs()),
    "settle": (
        SettleInput,
        services.case_settle,
        _kwargs(settlement_amount="amount", settlement_terms="terms", outcome_note="note"),
    ),
    "fail": (NoteInput, services.case_fail, _kwargs(outcome_note="note")),
    "withdraw": (NoteInput, services.case_withdraw, _kwargs(outcome_note="note")),
}


class SessionSerializer(serializers.ModelSerializer):
    recorded_by = serializers.SerializerMethodField()

    class Meta:
        model = MediationSession
        fields = ["id", "date", "mode", "attendees", "notes", "next_step", "recorded_by"]

    def get_recorded_by(self, obj) -> str | None:
        if obj.created_by is None:
            return None
        return obj.created_by.get_full_name() or obj.created_by.get_username()


class SessionInput(serializers.Serializer):
    date = serializers.DateField()
    mode = serializers.ChoiceField(choices=SessionMode.choices)
    attendees = serializers.CharField(max_length=500)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=NOTE_MAX)
    next_step = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class CaseEventSerializer(serializers.ModelSerializer):
    # Plain strings: the case's states are named once in the schema, on the case itself.
    from_status = serializers.CharField(help_text=_("The state before a step; empty otherwise."))
    to_status = serializers.CharField(help_text=_("The state after a step; empty otherwise."))
    actor = serializers.SerializerMethodField()

    class Meta:
        model = CaseEvent
        fields = ["id", "at", "from_status", "to_status", "text", "actor"]

    def get_actor(self, obj) -> str | None:
        if obj.actor is None:
            return None
        return obj.actor.get_full_name() or obj.actor.get_username()


class PersonalDataOutput(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField()
    id_number = serializers.CharField(allow_blank=True)


# ---- the endpoints -------------------------------------------------------------------------


class WorksWithMediation(permissions.BasePermission):
    """Roles that work with mediation cases at all; which ones is the scope's business."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.has_perm("cases.view_mediationcase"))


@extend_schema_view(
    list=extend_schema(parameters=[CaseFilterSerializer]),
    create=extend_schema(
        request=CaseInputSerializer,
        responses={201: MediationCaseSerializer},
        description=_(
            "Escalate a complaint ({complaint, organization, summary?, claimed_amount?}, "
            "insurer staff in scope) or record a direct application ({insurer, org_unit, "
            "applicant_name, applicant_phone, summary, claimed_amount?}, a mediator)."
        ),
    ),
)
class MediationCaseViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    permission_classes = [WorksWithMediation]
    lookup_field = "reference"
    lookup_value_regex = r"TJ\d{4}-\d{6}"
    queryset = MediationCase.objects.none()
    filter_backends: list = []

    serializer_class = MediationCaseSerializer

    def get_queryset(self):
        if self.action != "list":
            return selectors.case_list(user=self.request.user)
        filters = CaseFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.case_list(user=self.request.user, filters=filters.validated_data)

    def _detail(self, case: MediationCase, code=status.HTTP_200_OK) -> Response:
        """The case as stored now, with the steps that follow."""
        case = selectors.case_get(user=self.request.user, reference=case.reference)
        return Response(self.get_serializer(case).data, status=code)

    def create(self, request):
        data = CaseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        reference = fields.pop("complaint", "")
        case = self._escalate(reference, fields) if reference else self._apply(fields)
        return self._detail(case, status.HTTP_201_CREATED)

    def _escalate(self, reference: str, fields: dict) -> MediationCase:
        try:
            complaint = complaint_selectors.complaint_get(
                user=self.request.user, reference=reference
            )
        except Complaint.DoesNotExist:
            raise exceptions.ValidationError(
                {"complaint": [_("There is no complaint with this reference in your scope.")]}
            ) from None
        return services.case_open_from_complaint(
            complaint=complaint,
            organization=fields["organization"],
            by=self.request.user,
            summary=fields.get("summary", ""),
            claimed_amount=fields.get("claimed_amount"),
        )

    def _apply(self, fields: dict) -> MediationCase:
        organization = fields.get("organization")
        if organization is None:
            org_id = services.mediator_organization_id(self.request.user)
            if org_id is None:
                raise exceptions.ValidationError({"organization": [_("This field is required.")]})
            organization = MediationOrganization.objects.get(pk=org_id)
        return services.case_apply(
            organization=organization,
            insurer=fields["insurer"],
            org_unit=fields["org_unit"],
            applicant_name=fields["applicant_name"],
            applicant_phone=fields["applicant_phone"],
            summary=fields["summary"],
            claimed_amount=fields.get("claimed_amount"),
            by=self.request.user,
        )

    @extend_schema(
        request=SettleInput,
        responses=MediationCaseSerializer,
        parameters=[
            OpenApiParameter(
                "name",
                str,
                OpenApiParameter.PATH,
                enum=sorted(TRANSITIONS),
                description=_("The step"),
            )
        ],
        description=_(
            "Run one step of the case. Bodies: refuse {refusal_reason}; settle "
            "{settlement_amount, settlement_terms, signed_on, outcome_note, "
            "judicially_confirmed, court, confirmed_on}; fail and withdraw {outcome_note}; "
            "accept and start take none. A step the case's state does not allow is a 400 "
            "naming status."
        ),
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"transitions/(?P<name>[a-z_]+)",
        url_name="transition",
    )
    def transition(self, request, reference=None, name=None):
        if name not in TRANSITIONS:
            raise Http404
        case = self.get_object()
        input_class, service, convert = TRANSITIONS[name]
        data = input_class(data=request.data)
        data.is_valid(raise_exception=True)
        service(case=case, by=request.user, **convert(data.validated_data))
        return self._detail(case)

    @extend_schema(methods=["GET"], request=None, responses=SessionSerializer(many=True))
    @extend_schema(methods=["POST"], request=SessionInput, responses={201: SessionSerializer})
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def sessions(self, request, reference=None):
        case = self.get_object()
        if request.method == "POST":
            data = SessionInput(data=request.data)
            data.is_valid(raise_exception=True)
            session = services.session_log(case=case, by=request.user, **data.validated_data)
            return Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED)
        sessions = case.sessions.select_related("created_by")
        return Response(SessionSerializer(sessions, many=True).data)

    @extend_schema(responses=CaseEventSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def timeline(self, request, reference=None):
        events = selectors.case_timeline(case=self.get_object())
        return Response(CaseEventSerializer(events, many=True).data)

    @extend_schema(
        request=None,
        responses=PersonalDataOutput,
        description=_(
            "The consumer's full name, phone and ID number, for the complaint behind the "
            "case; the reveal is recorded on the complaint's timeline."
        ),
    )
    @action(detail=True, methods=["post"], url_path="reveal-personal-data")
    def reveal_personal_data(self, request, reference=None):
        case = self.get_object()
        complaint = case.complaint
        if complaint is None:
            raise exceptions.ValidationError(
                {"complaint": [_("This case was applied for directly; no complaint is behind it.")]}
            )
        number = complaint_services.complaint_reveal_id_number(complaint=complaint, by=request.user)
        return Response(
            {
                "name": complaint.complainant_name,
                "phone": complaint.complainant_phone,
                "id_number": number or complaint.id_number_masked,
            }
        )
