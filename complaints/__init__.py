"""Complaints: intake, the legal-deadline workflow, audit and the staff workbench (issue 3)."""
