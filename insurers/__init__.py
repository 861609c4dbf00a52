"""Insurers, the organisation tree, service officers, roles and scope."""
