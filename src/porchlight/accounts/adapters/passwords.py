"""argon2id password hashing (RFC 9106 parameters via argon2-cffi's defaults)."""

from __future__ import annotations

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2PasswordHasher:
    def __init__(self, *, fast_for_tests: bool = False) -> None:
        # Tests use small parameters so the suite stays quick; never used outside tests.
        self._hasher = (
            _Argon2(time_cost=1, memory_cost=1024, parallelism=1) if fast_for_tests else _Argon2()
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
