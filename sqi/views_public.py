"""Placeholder: filled in by the views_public work."""

urlpatterns: list = []
