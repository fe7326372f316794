"""Failed sign-ins per user name and address: a few free attempts, then a doubling wait."""
from __future__ import annotations

import threading
import time


class SignInThrottle:
    """In-process counter (per worker); enough to make password guessing slow and visible in the audit trail."""

    def __init__(self, free_attempts: int = 3, max_lock_seconds: int = 900, clock=time.monotonic):
        self.free_attempts = free_attempts
        self.max_lock_seconds = max_lock_seconds
        self.clock = clock
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, username: str, address: str) -> int:
        """Seconds before this user name may be tried again from this address (0: go ahead)."""
        count, last = self._failures.get(self._key(username, address), (0, 0.0))
        if count < self.free_attempts:
            return 0
        lock = min(2 ** (count - self.free_attempts + 1), self.max_lock_seconds)
        return max(0, int(round(last + lock - self.clock() + 0.499)))

    def failed(self, username: str, address: str) -> None:
        key = self._key(username, address)
        with self._lock:
            count, _last = self._failures.get(key, (0, 0.0))
            self._failures[key] = (count + 1, self.clock())
            if len(self._failures) > 10_000:  # forget the oldest, so the table cannot grow without bound
                for stale in sorted(self._failures, key=lambda k: self._failures[k][1])[:1_000]:
                    del self._failures[stale]

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._failures.pop(self._key(username, address), None)

    @staticmethod
    def _key(username: str, address: str) -> tuple[str, str]:
        return (username.strip().lower(), address or "")
