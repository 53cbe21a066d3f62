"""gunicorn settings: runs `wsgi:app` behind nginx (nginx serves /static itself)."""

import multiprocessing
import os

bind = os.environ.get("PORTAL_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() * 2 + 1)))
worker_class = "gthread"
# Listing AWS resources waits on the network: threads let a worker serve others meanwhile.
threads = int(os.environ.get("GUNICORN_THREADS", 8))
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = "-"
# The default format logs the whole request line and the Referer: /callback's query holds the
# one-time authorization code and state. %(U)s is the path without the query.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(L)s'
errorlog = "-"
# Only nginx on this host may tell us the client's address and scheme (see PROXY_FIX).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Load the app once in the master: a configuration error then stops gunicorn with its one-line
# message instead of workers failing and respawning forever; workers also share its memory.
preload_app = True


def on_starting(server: object) -> None:
    """Configure the app's own logging once, in the master (workers inherit it)."""
    from webapp.logs import configure

    configure()
