"""Where each S3 bucket lives: looked up once per bucket, then kept process-wide for a while.

Process-wide rather than per session: a bucket's region is the same for every user (S3 tells
anyone, even an unsigned caller, in HeadBucket's x-amz-bucket-region header), so sharing the
answer reveals nothing a role could not learn, and each later call is still made with the
user's own credentials, which decide what they may see. Only lookups that succeed are kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from .. import clock

TTL_SECONDS = 3600  # bounds how long a bucket deleted and re-created elsewhere is looked for
MAX_BUCKETS = 4096


class BucketRegions:
    """bucket name -> region, least recently used dropped first, each entry for TTL_SECONDS."""

    def __init__(self, max_size: int = MAX_BUCKETS, ttl: float = TTL_SECONDS) -> None:
        self.max_size, self.ttl = max_size, ttl
        self.lookups = 0  # how many times a lookup ran (tests read this)
        self._lock = threading.Lock()
        self._regions: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def get(self, bucket: str, lookup: Callable[[str], str | None]) -> str | None:
        """The bucket's region: cached, else lookup(bucket) (None when it cannot tell)."""
        now = clock.now()
        with self._lock:
            entry = self._regions.get(bucket)
            if entry is not None and entry[1] > now:
                self._regions.move_to_end(bucket)
                return entry[0]
        region = lookup(bucket)  # outside the lock: one slow bucket must not hold up the rest
        with self._lock:
            self.lookups += 1
            if region is not None:
                self._regions[bucket] = (region, now + self.ttl)
                self._regions.move_to_end(bucket)
                while len(self._regions) > self.max_size:
                    self._regions.popitem(last=False)
        return region

    def forget(self, bucket: str) -> None:
        """Drop a bucket's entry (S3 said it lives elsewhere after all)."""
        with self._lock:
            self._regions.pop(bucket, None)
