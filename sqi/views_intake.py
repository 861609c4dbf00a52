"""Placeholder: filled in by the views_intake work."""

urlpatterns: list = []
