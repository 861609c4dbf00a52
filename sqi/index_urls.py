"""Pages of the index: public ranking, profiles and methodology; intake and runs for staff."""

from django.urls import include, path

app_name = "sqi"

urlpatterns = [
    path("", include("sqi.views_public")),
    path("", include("sqi.views_intake")),
    path("", include("sqi.views_runs")),
]
