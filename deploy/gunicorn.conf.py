"""gunicorn settings: runs `wsgi:app` behind nginx (nginx serves /static itself)."""

import glob
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
# one-time authorization code and state. %(U)s is the path without the query. Last, the
# request id the app answered with (nginx's, or its own): the same as in nginx's line and in
# the app's log lines of that request.
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(L)s %({x-request-id}o)s'
)
errorlog = "-"
# Only nginx on this host may tell us the client's address and scheme (see PROXY_FIX).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Load the app once in the master: a configuration error then stops gunicorn with its one-line
# message instead of workers failing and respawning forever; workers also share its memory.
preload_app = True


def on_starting(server: object) -> None:
    """Set up logging once, in the master (workers inherit it); drop an earlier run's metrics."""
    from webapp.logs import configure

    configure()
    # With PROMETHEUS_MULTIPROC_DIR every worker keeps its metrics in files there, and a scrape
    # adds up all files: those of processes of an earlier run would count again. systemd's
    # RuntimeDirectory starts empty anyway; this covers other ways of starting. No worker runs
    # yet, and the master's own files (written while it loaded the app) stay.
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        for path in glob.glob(os.path.join(directory, "*.db")):
            if not path.endswith(f"_{os.getpid()}.db"):
                os.remove(path)


def child_exit(server: object, worker: object) -> None:
    """A worker has ended: stop counting its live gauges (its counters keep adding up)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
