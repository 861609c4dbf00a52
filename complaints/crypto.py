"""Encryption and keyed hashing of complainants' ID numbers.

``FIELD_ENCRYPTION_KEY`` (one Fernet key, or several separated by commas: the first encrypts,
all decrypt, so keys can be rotated) is never used directly: two sub-keys are derived from the
first key with HKDF, one to encrypt and one to compute the keyed hash (HMAC-SHA256) that makes
exact-match search possible without decrypting anything.
"""

import base64
import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def _master_keys() -> list[bytes]:
    keys = [k.strip() for k in settings.FIELD_ENCRYPTION_KEY.split(",") if k.strip()]
    if not keys:
        raise RuntimeError("FIELD_ENCRYPTION_KEY is empty")
    return [base64.urlsafe_b64decode(k) for k in keys]


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


@cache
def _fernet(key_setting: str) -> MultiFernet:
    return MultiFernet(
        [
            Fernet(base64.urlsafe_b64encode(_derive(m, b"sqi id-number encrypt")))
            for m in _master_keys()
        ]
    )


@cache
def _hash_key(key_setting: str) -> bytes:
    return _derive(_master_keys()[0], b"sqi id-number search")


def encrypt(value: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(value.encode()).decode("ascii")


def decrypt(token: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(token.encode("ascii")).decode()


def search_hash(value: str) -> str:
    """A keyed hash for exact-match lookup; the same input always gives the same hex digest."""
    key = _hash_key(settings.FIELD_ENCRYPTION_KEY)
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
