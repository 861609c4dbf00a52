from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views

admin.site.site_header = _("SQI Consumer Protection administration")
admin.site.site_title = _("SQI Consumer Protection admin")
admin.site.index_title = _("Administration")

handler404 = "sqi.api.page_not_found"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("prefs/elder/", views.elder_mode, name="elder_mode"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    # Complaints first: intake is the busiest route, and each include tried before the
    # matching one costs every request a walk through its patterns.
    path("api/v1/", include("complaints.api.urls")),
    path("api/v1/", include("insurers.api.urls")),
    path("api/v1/", include("cases.api.urls")),
    path("api/v1/", include("sqi.api.urls")),
    path("", include("complaints.urls")),
    path("", include("cases.urls")),
    path("", include("sqi.index_urls")),
    path("", include("insurers.urls")),
]
