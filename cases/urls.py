"""Mediation pages (staff and mediators) and the public showcase gallery."""

from django.urls import path

from . import views_mediation, views_showcase

app_name = "cases"

urlpatterns = [
    # mediation, for mediators and insurer staff
    path("work/mediation/", views_mediation.board, name="mediation_board"),
    path("work/mediation/new/", views_mediation.case_apply, name="case_apply"),
    path(
        "work/mediation/escalate/<str:complaint_reference>/",
        views_mediation.escalate,
        name="escalate",
    ),
    path("work/mediation/<str:reference>/", views_mediation.case_detail, name="case_detail"),
    path(
        "work/mediation/<str:reference>/actions/<str:action>/",
        views_mediation.case_action,
        name="case_action",
    ),
    path(
        "work/mediation/<str:reference>/sessions/",
        views_mediation.session_log,
        name="session_log",
    ),
    # the public showcase gallery
    path("cases/", views_showcase.showcase_list, name="showcase_list"),
    path("cases/<str:slug>/", views_showcase.showcase_detail, name="showcase_detail"),
    path(
        "cases/<str:slug>/images/<int:pk>/",
        views_showcase.showcase_image,
        name="showcase_image",
    ),
]
