from rest_framework.routers import DefaultRouter

from .mediation import MediationCaseViewSet
from .showcase import ShowcaseCaseViewSet

router = DefaultRouter()
router.register("mediation-cases", MediationCaseViewSet, basename="mediation-case")
router.register("showcase-cases", ShowcaseCaseViewSet, basename="showcase-case")

urlpatterns = router.urls
