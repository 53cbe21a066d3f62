"""Redis in each mode the portal supports, on loopback, for tests and measurements.

Each context manager starts its servers on free ports in a private directory, waits until they
are ready (polling, with generous deadlines) and stops them all on the way out: ``tls_redis``
(TLS only, ACL users with passwords, a throwaway CA, optionally a TLS Sentinel),
``sentinel_group`` (a primary, a replica and three Sentinels) and ``cluster`` (three primaries).
"""

from .cluster import Cluster, cluster
from .sentinel import SentinelGroup, sentinel_group
from .servers import ACL, MASTER, PASSWORD, USER, Servers, node, poll
from .tls import SENTINEL_PASSWORD, TlsRedis, tls_redis

__all__ = [
    "ACL",
    "MASTER",
    "PASSWORD",
    "SENTINEL_PASSWORD",
    "USER",
    "Cluster",
    "SentinelGroup",
    "Servers",
    "TlsRedis",
    "cluster",
    "node",
    "poll",
    "sentinel_group",
    "tls_redis",
]
