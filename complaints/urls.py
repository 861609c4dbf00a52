"""Complaint pages: the public form and status lookup, and the staff workbench."""

from django.urls import path

from . import views, views_import, views_public

app_name = "complaints"

urlpatterns = [
    # public, anonymous
    path("complaints/new/", views_public.complaint_new, name="public_new"),
    path("complaints/new/received/", views_public.complaint_received, name="public_received"),
    path("complaints/status/", views_public.complaint_status, name="public_status"),
    # staff
    path("work/", views.workbench, name="workbench"),
    path("work/complaints/", views.complaint_list, name="list"),
    path("work/complaints/export.<str:fmt>", views.complaint_export, name="export"),
    path("work/complaints/new/", views.complaint_new, name="new"),
    path("work/complaints/<str:reference>/", views.complaint_detail, name="detail"),
    path(
        "work/complaints/<str:reference>/actions/<str:action>/",
        views.complaint_action,
        name="action",
    ),
    path("work/complaints/<str:reference>/notes/", views.complaint_note, name="note"),
    path(
        "work/complaints/<str:reference>/attachments/",
        views.attachment_upload,
        name="attachment_upload",
    ),
    path(
        "work/complaints/<str:reference>/attachments/<int:pk>/",
        views.attachment_download,
        name="attachment_download",
    ),
    path("work/complaints/<str:reference>/reveal/", views.reveal_id_number, name="reveal"),
    path("work/extensions/<int:pk>/approve/", views.extension_approve, name="extension_approve"),
    path("work/notifications/", views.notification_list, name="notifications"),
    path("work/imports/", views_import.import_page, name="import"),
    path("work/imports/template.<str:fmt>", views_import.import_template, name="import_template"),
]
