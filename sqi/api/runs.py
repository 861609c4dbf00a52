"""Placeholder: filled in by the runs work."""

urlpatterns: list = []
