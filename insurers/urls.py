"""Pages of the insurers app: service officers' reception days."""

from django.urls import path

from . import views

app_name = "insurers"

urlpatterns = [
    path("reception-days/", views.reception_days, name="reception_days"),
    path("reception-days/<int:pk>/edit/", views.reception_day_edit, name="reception_day_edit"),
]
