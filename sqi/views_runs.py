"""Placeholder: filled in by the views_runs work."""

urlpatterns: list = []
