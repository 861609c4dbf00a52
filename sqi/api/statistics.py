"""Placeholder: filled in by the statistics work."""

urlpatterns: list = []
