"""Pages of the index: public ranking, profiles and methodology; intake and runs for staff."""

from django.urls import include, path

app_name = "sqi"

urlpatterns = [
    # Staff pages first: their fixed paths (/index/runs/…, /index/statistics/import/) must
    # not be taken for /index/<period>/<peer_group>/.
    path("", include("sqi.views_intake")),
    path("", include("sqi.views_runs")),
    path("", include("sqi.views_dashboard")),
    path("", include("sqi.views_whatif")),
    path("", include("sqi.views_reports")),
    path("", include("sqi.views_public")),
]
