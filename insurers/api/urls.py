from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("insurers", views.InsurerViewSet, basename="insurer")
router.register("org-units", views.OrgUnitViewSet, basename="org-unit")
router.register("service-officers", views.ServiceOfficerViewSet, basename="service-officer")
router.register("reception-days", views.ReceptionDayViewSet, basename="reception-day")

urlpatterns = router.urls
