"""Complaints API: scoped list and detail, idempotent intake, workflow transitions, notes,
attachments and the audited ID-number reveal. Each endpoint validates, calls one service or
selector, and returns."""

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from insurers.selectors import visible_units

from .. import selectors, services
from ..models import Complaint
from . import serializers as s

TRANSITIONS = {
    "accept": (s.EmptyInput, services.complaint_accept),
    "decline": (s.DeclineInput, services.complaint_decline),
    "investigate": (s.EmptyInput, services.complaint_investigate),
    "extend": (s.ExtendInput, services.complaint_extend),
    "pause": (s.PauseInput, services.complaint_pause),
    "resume": (s.ResumeInput, services.complaint_resume),
    "decide": (s.DecideInput, services.complaint_decide),
    "close": (s.CloseInput, services.complaint_close),
    "request_review": (s.ReviewInput, services.complaint_request_review),
}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This Idempotency-Key was used with a different request.")
    default_code = "idempotency_conflict"


class CanReadComplaints(permissions.BasePermission):
    """Roles that work with complaints at all; which ones is the scope's business (404)."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.has_perm("complaints.view_complaint"))


@extend_schema_view(
    list=extend_schema(parameters=[s.ComplaintFilterSerializer]),
    create=extend_schema(
        request=s.ComplaintInputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description=_(
                    "A retry with the same key and body returns the first result; the same key "
                    "with another body answers 409."
                ),
            )
        ],
        responses={
            201: s.ComplaintDetailSerializer,
            200: s.ComplaintDetailSerializer,
            409: OpenApiResponse(description="Idempotency-Key reused with another body"),
        },
    ),
)
class ComplaintViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [CanReadComplaints]
    lookup_field = "reference"
    lookup_value_regex = r"TS\d{4}-\d{6}"
    queryset = Complaint.objects.none()
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_serializer_class(self):
        return s.ComplaintListSerializer if self.action == "list" else s.ComplaintDetailSerializer

    def get_queryset(self):
        if self.action != "list":
            return selectors.complaint_list(user=self.request.user)
        filters = s.ComplaintFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        if "within" in data:
            data["within"] = get_object_or_404(
                visible_units(user=self.request.user), pk=data["within"]
            )
        return selectors.complaint_list(user=self.request.user, filters=data)

    def _complaint(self) -> Complaint:
        complaint = self.get_object()
        complaint.allowed_actions = selectors.available_actions(
            complaint=complaint, user=self.request.user
        )
        return complaint

    def retrieve(self, request, reference=None):
        return Response(s.ComplaintDetailSerializer(self._complaint()).data)

    def _detail(self, complaint, code=status.HTTP_200_OK):
        self.kwargs["reference"] = complaint.reference
        return Response(s.ComplaintDetailSerializer(self._complaint()).data, status=code)

    def _created(self, complaint):
        complaint = selectors.complaint_created_view(complaint=complaint, user=self.request.user)
        return Response(s.ComplaintDetailSerializer(complaint).data, status=status.HTTP_201_CREATED)

    def create(self, request):
        if not request.user.has_perm("complaints.add_complaint"):
            raise exceptions.PermissionDenied()
        serializer = s.ComplaintInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            complaint = services.complaint_create(by=request.user, **serializer.validated_data)
            return self._created(complaint)
        if len(key) > 200:
            raise exceptions.ValidationError({"Idempotency-Key": [_("At most 200 characters.")]})
        try:
            complaint, created = services.complaint_create_idempotent(
                by=request.user, key=key, payload=request.data, **serializer.validated_data
            )
        except services.IdempotencyConflict as exc:
            raise Conflict() from exc
        return self._created(complaint) if created else self._detail(complaint)

    @extend_schema(
        request=s.DecideInput,
        responses=s.ComplaintDetailSerializer,
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
            "Run one workflow step. Bodies: decline {reason, note}; extend {reason, "
            "complainant_notice}; pause {kind, reason, start}; resume {end}; decide {decision, "
            "reply, remedy_amount}; close {satisfaction}; request_review {reason}; accept and "
            "investigate take none."
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
        complaint = self.get_object()
        input_class, service = TRANSITIONS[name]
        data = input_class(data=request.data)
        data.is_valid(raise_exception=True)
        service(complaint=complaint, by=request.user, **data.validated_data)
        return self._detail(complaint)

    @extend_schema(methods=["GET"], request=None, responses=s.EventSerializer(many=True))
    @extend_schema(
        methods=["POST"], request=s.NoteInputSerializer, responses={201: s.EventSerializer}
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def notes(self, request, reference=None):
        complaint = self.get_object()
        if request.method == "POST":
            data = s.NoteInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            event = services.complaint_add_note(
                complaint=complaint, by=request.user, **data.validated_data
            )
            return Response(s.EventSerializer(event).data, status=status.HTTP_201_CREATED)
        notes = selectors.complaint_timeline(complaint=complaint).filter(kind="note")
        return Response(s.EventSerializer(notes, many=True).data)

    @extend_schema(responses=s.EventSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def timeline(self, request, reference=None):
        events = selectors.complaint_timeline(complaint=self.get_object())
        return Response(s.EventSerializer(events, many=True).data)

    @extend_schema(methods=["GET"], request=None, responses=s.AttachmentSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=s.AttachmentInputSerializer,
        responses={201: s.AttachmentSerializer},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def attachments(self, request, reference=None):
        complaint = self.get_object()
        if request.method == "POST":
            data = s.AttachmentInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            attachment = services.attachment_add(
                complaint=complaint, by=request.user, upload=data.validated_data["file"]
            )
            return Response(s.AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)
        return Response(s.AttachmentSerializer(complaint.attachments.all(), many=True).data)

    # The file goes back with the type sniffed from its first bytes when it was added.
    @extend_schema(
        responses={(200, kind): bytes for kind in sorted({k for _, k in services.SIGNATURES})}
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"attachments/(?P<pk>\d+)/download",
        url_name="attachment-download",
    )
    def attachment_download(self, request, reference=None, pk=None):
        complaint = self.get_object()
        attachment = get_object_or_404(complaint.attachments, pk=pk)
        return FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=attachment.original_name,
            content_type=attachment.content_type,
        )

    @extend_schema(request=None, responses=s.RevealOutput)
    @action(detail=True, methods=["post"], url_path="reveal-id-number")
    def reveal_id_number(self, request, reference=None):
        number = services.complaint_reveal_id_number(complaint=self.get_object(), by=request.user)
        return Response({"id_number": number})
