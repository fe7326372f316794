"""gunicorn settings for the creditflow web app (`gunicorn -c deploy/gunicorn.conf.py 'webapp.wsgi:app'`).

Bind address and worker count are given on the command line; see docs/operations.md.
"""
import glob
import os

accesslog = None                 # the app logs every request itself, as one JSON line with the user id
worker_tmp_dir = "/dev/shm"      # worker heartbeats in memory, not on a slow or read-only disk
timeout = 60
graceful_timeout = 30            # SIGTERM: requests under way may finish for this long
control_socket_disable = True    # the service manager (systemd, compose) starts and stops the server


def on_starting(server):
    """Histograms left by an earlier run would be added to this one's: start from an empty metrics directory."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for path in glob.glob(os.path.join(directory, "*.db")):
            os.remove(path)


def child_exit(server, worker):
    """A worker that ended no longer counts in the live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
