"""The admin of the index: intake (statistics, claims, imports, methodology) and runs."""

from . import admin_intake, admin_runs  # noqa: F401
