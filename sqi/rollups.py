"""Placeholder: the set-based rollups are being written (see sqi/tasks.py for the callers)."""


def rollup_complaint_statistics(*, period: str) -> int:
    raise NotImplementedError


def rollup_claim_statistics(*, period: str) -> int:
    raise NotImplementedError


def rollup_recent_periods() -> dict[str, dict[str, int]]:
    raise NotImplementedError
