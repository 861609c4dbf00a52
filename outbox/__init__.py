"""The transactional outbox: Celery work written in the caller's transaction, relayed later.

The lowest of our apps (it imports none of them), so that every app may hand work to Celery
through it. See :mod:`outbox.services`.
"""
