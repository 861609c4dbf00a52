"""Insurers API: scoped reads, writes through the services, 404 outside the user's scope."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.response import Response

from .. import selectors, services
from ..models import Level, LicenceType, OrgUnit
from ..roles import sees_every_unit
from ..selectors import active_officer_of
from .serializers import (
    InsurerSerializer,
    OrgUnitSerializer,
    OrgUnitUpdateSerializer,
    ReceptionDaySerializer,
    ServiceOfficerSerializer,
)


class ScopedObjectPermissions(permissions.DjangoObjectPermissions):
    """Model permission from the role, object permission from the scope rules.

    Reading needs the view permission; a record outside the scope is 404 (the queryset
    never holds it), a record in scope that the role may not change is 403.
    """

    perms_map = {
        **permissions.DjangoObjectPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request, view):
        if request.method not in permissions.SAFE_METHODS and view.kwargs.get(
            view.lookup_url_kwarg or view.lookup_field
        ):
            # A write to one record is decided on the record: 404 when it is outside the
            # scope (the queryset lacks it), 403 when it is inside but the role may not write.
            if not request.user or not request.user.is_authenticated:
                return False
            model = view.get_queryset().model
            return request.user.has_perms(self.get_required_permissions("GET", model))
        return super().has_permission(request, view)


class ScopedViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [ScopedObjectPermissions]
    filter_backends: list = []

    def _respond(self, instance, status_code=status.HTTP_200_OK):
        instance = self.get_queryset().get(pk=instance.pk)
        return Response(self.get_serializer(instance).data, status=status_code)


def _filter_params(request, names):
    return {name: request.query_params.get(name) or None for name in names}


class InsurerFilterSerializer(serializers.Serializer):
    licence_type = serializers.ChoiceField(choices=LicenceType.choices, required=False)
    active = serializers.BooleanField(required=False, allow_null=True, default=None)


@extend_schema_view(
    list=extend_schema(parameters=[InsurerFilterSerializer]),
)
class InsurerViewSet(ScopedViewSet):
    """Insurers: read for scoped users, write for index administrators."""

    serializer_class = InsurerSerializer
    queryset = selectors.Insurer.objects.none()

    def get_queryset(self):
        if self.action == "list":
            filters = InsurerFilterSerializer(data=self.request.query_params)
            filters.is_valid(raise_exception=True)
            return selectors.insurer_list(user=self.request.user, filters=filters.validated_data)
        return selectors.insurer_list(user=self.request.user)

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        insurer = services.insurer_create(**serializer.validated_data)
        return self._respond(insurer, status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        insurer = self.get_object()
        serializer = self.get_serializer(insurer, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        services.insurer_update(insurer=insurer, data=serializer.validated_data)
        return self._respond(insurer)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)


class OrgUnitFilterSerializer(serializers.Serializer):
    within = serializers.IntegerField(
        required=False, help_text=_("Only this unit and everything below it.")
    )
    level = serializers.ChoiceField(choices=Level.choices, required=False)
    insurer = serializers.IntegerField(required=False)


@extend_schema_view(
    list=extend_schema(parameters=[OrgUnitFilterSerializer]),
    partial_update=extend_schema(request=OrgUnitUpdateSerializer),
    update=extend_schema(request=OrgUnitUpdateSerializer),
)
class OrgUnitViewSet(ScopedViewSet):
    """The org tree. ``?within=<id>`` lists a subtree; ``parent`` on write places a unit."""

    serializer_class = OrgUnitSerializer
    queryset = OrgUnit.objects.none()

    def get_queryset(self):
        user = self.request.user
        if self.action != "list":
            return selectors.org_unit_list(user=user)
        filters = OrgUnitFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        within = None
        if "within" in data:
            within = get_object_or_404(selectors.visible_units(user=user), pk=data["within"])
        return selectors.org_unit_list(user=user, within=within, filters=data)

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        parent_id = data.pop("parent_id", None)
        parent = None
        if parent_id is not None:
            parent = selectors.visible_units(user=request.user).filter(pk=parent_id).first()
            if parent is None:
                raise serializers.ValidationError({"parent": [_("No such org unit.")]})
        unit = services.org_unit_create(parent=parent, **data)
        return self._respond(unit, status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        unit = self.get_object()
        serializer = OrgUnitUpdateSerializer(unit, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        services.org_unit_update(unit=unit, data=serializer.validated_data)
        return self._respond(unit)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)


class ServiceOfficerEndSerializer(serializers.Serializer):
    ended = serializers.DateField(help_text=_("The last day of the appointment."))


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("active", bool, description="Only active appointments")]
    ),
    partial_update=extend_schema(request=ServiceOfficerEndSerializer),
)
class ServiceOfficerViewSet(ScopedViewSet):
    """Service-officer appointments; one active officer per unit."""

    serializer_class = ServiceOfficerSerializer
    queryset = selectors.ServiceOfficer.objects.none()

    def get_queryset(self):
        active = self.request.query_params.get("active")
        flag = None if active is None else active.lower() in ("1", "true", "yes")
        return selectors.service_officer_list(user=self.request.user, active=flag)

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if not selectors.unit_is_visible(user=request.user, unit=data["org_unit"]):
            raise serializers.ValidationError({"org_unit": [_("No such org unit.")]})
        officer = services.service_officer_appoint(
            user=data["user"],
            org_unit=data["org_unit"],
            appointed=data["appointed"],
            title=data.get("title"),
        )
        return self._respond(officer, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        """Only ending an appointment is a change; a new officer is a new appointment."""
        officer = self.get_object()
        data = ServiceOfficerEndSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.service_officer_end(officer=officer, **data.validated_data)
        return self._respond(officer)


class ReceptionDayViewSet(ScopedViewSet):
    """Reception days (接待日): officers log their own; everyone in scope reads them."""

    serializer_class = ReceptionDaySerializer
    queryset = selectors.ReceptionDay.objects.none()

    def get_queryset(self):
        return selectors.reception_day_list(user=self.request.user)

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        officer = data.pop("officer")
        own = active_officer_of(user=request.user)
        allowed = (own is not None and own.pk == officer.pk) or (sees_every_unit(request.user))
        if not allowed:
            raise serializers.ValidationError(
                {"officer": [_("You can only log reception days for your own appointment.")]}
            )
        day = services.reception_day_log(officer=officer, **data)
        return self._respond(day, status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        day = self.get_object()
        serializer = self.get_serializer(day, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "officer" in data and data.pop("officer").pk != day.officer_id:
            raise serializers.ValidationError(
                {"officer": [_("A reception day stays with the officer who held it.")]}
            )
        services.reception_day_update(day=day, data=data)
        return self._respond(day)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)
