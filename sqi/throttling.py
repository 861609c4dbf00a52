"""Throttling of anonymous API requests (DRF), counted per IP address in the default cache.

The public API (published results, showcase cases, the schema) answers anyone; without a
limit one client could page through it as fast as the server answers. Authenticated
clients (session or token: staff, and the intake systems that post hundreds of complaints
a second) are never throttled here.

The rate is read at request time from ``settings.API_ANON_RATE`` (``"120/min"``,
``"2000/h"``; ``None`` turns the limit off), so tests and deployments change it like any
other setting. DRF's own ``AnonRateThrottle`` reads its rates once, at import.
"""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle


class AnonymousApiThrottle(AnonRateThrottle):
    """At most ``API_ANON_RATE`` anonymous API requests per IP address."""

    scope = "anon"

    def get_rate(self) -> str | None:
        return getattr(settings, "API_ANON_RATE", None)

    def allow_request(self, request, view) -> bool:
        # The rate may have changed since this throttle was made (settings in tests).
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


def client_ip(request) -> str | None:
    """The client's address for the login lockout (django-axes): the ``CLIENT_IP_HEADER``
    META key (REMOTE_ADDR unless a reverse proxy passes the address in a header of its own),
    falling back to REMOTE_ADDR."""
    return request.META.get(settings.CLIENT_IP_HEADER) or request.META.get("REMOTE_ADDR")
