"""Placeholder: filled in by the intake work."""
