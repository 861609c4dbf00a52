"""/api/v1/sqi/…: statistics intake (index administrators), runs, and the published results."""

from django.urls import include, path

urlpatterns = [
    path("sqi/", include("sqi.api.statistics")),
    path("sqi/", include("sqi.api.runs")),
    path("sqi/", include("sqi.api.results")),
    path("sqi/", include("sqi.api.whatif")),
]
