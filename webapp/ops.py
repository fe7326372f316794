"""What operators and their tools ask of a running app: liveness, readiness, Prometheus metrics, request logs."""
from __future__ import annotations

import logging
import os
import time

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask_login import current_user
from prometheus_client import REGISTRY, CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client import multiprocess

from engine.ops.health import readiness
from engine.ops.metrics import WorkCollector

from .extensions import credit_engine

bp = Blueprint("ops", __name__)
log = logging.getLogger("creditflow.web")
REQUEST_SECONDS = Histogram("creditflow_http_request_seconds", "HTTP request latency by endpoint and status",
                            ["method", "endpoint", "status"],
                            buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))


@bp.get("/healthz")
def healthz():
    """The process is up and serving."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Ready for traffic: database reachable, migrations current, timer lag below the threshold."""
    report = readiness(credit_engine(), current_app.config["READY_MAX_TIMER_LAG_SECONDS"])
    return jsonify(report), 200 if report["ready"] else 503


@bp.get("/metrics")
def metrics():
    """Prometheus text format: per-process latency (all gunicorn workers with PROMETHEUS_MULTIPROC_DIR) and the
    state of the work, read from the database."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        process_registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(process_registry)
    else:
        process_registry = REGISTRY
    work = current_app.extensions["creditflow.metrics"]
    return Response(generate_latest(process_registry) + generate_latest(work), content_type=CONTENT_TYPE_LATEST)


def _start():
    g.request_started = time.perf_counter()


def _finish(response):
    started = g.pop("request_started", None)
    if started is None or request.endpoint in ("ops.metrics", "ops.healthz", "static"):
        return response
    seconds = time.perf_counter() - started
    endpoint = request.endpoint or "unknown"
    REQUEST_SECONDS.labels(request.method, endpoint, str(response.status_code)).observe(seconds)
    user = getattr(g.get("api_user"), "username", None) or (
        current_user.username if current_user and current_user.is_authenticated else None)
    log.info("%s %s %s", request.method, request.path, response.status_code, extra={
        "method": request.method, "path": request.path, "status": response.status_code, "user": user,
        "duration_ms": round(seconds * 1000, 2), "command": endpoint})
    return response


def init_app(app) -> None:
    work = CollectorRegistry(auto_describe=False)
    work.register(WorkCollector(app.extensions["creditflow"]))
    app.extensions["creditflow.metrics"] = work
    app.before_request(_start)
    app.after_request(_finish)
