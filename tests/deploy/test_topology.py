"""The production topology as real processes: migrations, gunicorn with several workers, two timer workers, one
PostgreSQL database; a loan moves on over the JSON API while requests spread over the gunicorn workers."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from engine.bootstrap import build_engine
from engine.simulation.documents import sample_pdf
from engine.simulation.staff import seed_team
from tests.integration.conftest import FORMS, SMALL

pytestmark = pytest.mark.postgres
GUNICORN_CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"
CREDITFLOW = Path(sys.executable).with_name("creditflow")


class Api:
    """HTTP against the served app, one connection per request, counting what the latency histogram must see."""

    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"
        self.observed = 0  # requests the app measures (all but /metrics and /healthz)
        self.lock = threading.Lock()

    def call(self, method: str, path: str, token: str | None = None, body: dict | None = None):
        request = urllib.request.Request(self.base + path, method=method,
                                         data=None if body is None else json.dumps(body).encode())
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        if body is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, raw = error.code, error.headers, error.read()
        if path not in ("/metrics", "/healthz"):
            with self.lock:
                self.observed += 1
        is_json = headers.get("Content-Type", "").startswith("application/json")
        return status, headers, json.loads(raw) if is_json else raw.decode()

    def ok(self, method: str, path: str, token: str | None = None, body: dict | None = None):
        status, headers, data = self.call(method, path, token, body)
        assert status in (200, 201), (method, path, status, data)
        assert headers["X-Frame-Options"] == "DENY"
        return data

    def take(self, token: str, ref: str, step: str) -> int:
        """The id of this step on the loan from my tasks, else claimed from those available to me."""
        for kind in ("mine", "available"):
            for item in self.ok("GET", f"/api/v1/tasks?kind={kind}", token)["items"]:
                if item["loan_ref"] == ref and item["step"] == step:
                    if kind == "available":
                        self.ok("POST", f"/api/v1/tasks/{item['id']}/claim", token)
                        assert item["id"] in [i["id"] for i in self.ok("GET", "/api/v1/tasks?kind=mine", token)["items"]]
                    return item["id"]
        raise AssertionError(f"{step} on {ref} is neither mine nor available")

    def complete(self, token: str, ref: str, step: str) -> None:
        item_id = self.take(token, ref, step)
        form = self.ok("GET", f"/api/v1/tasks/{item_id}", token)["form"]
        for entry in form.get("x-documents", []):  # the task's checklist: attach what it requires
            if entry.get("required"):
                self.attach(token, ref, item_id, entry["kind"])
        self.ok("POST", f"/api/v1/tasks/{item_id}/complete", token, {"data": FORMS[step]})

    def attach(self, token: str, ref: str, item_id: int, kind: str) -> None:
        """A sample PDF on the task, as multipart/form-data."""
        boundary = "creditflow-boundary"
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                 for name, value in (("kind", kind), ("task", item_id))]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{kind}.pdf"\r\n'
                     f"Content-Type: application/pdf\r\n\r\n".encode() + sample_pdf(kind) + b"\r\n")
        request = urllib.request.Request(self.base + f"/api/v1/loans/{ref}/documents", method="POST",
                                         data=b"".join(parts) + f"--{boundary}--\r\n".encode())
        request.add_header("Authorization", f"Bearer {token}")
        request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201, response.read()
        with self.lock:
            self.observed += 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(api: Api, server: subprocess.Popen, log: Path, seconds: float = 25) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, f"gunicorn exited with {server.returncode}:\n{log.read_text()[-3000:]}"
        try:
            if api.call("GET", "/readyz")[0] == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.3)
    raise AssertionError(f"/readyz never answered 200:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen, seconds: float = 15) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=seconds)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_gunicorn_workers_and_timer_workers_share_one_database(database_url, tmp_path):
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    (metrics_dir / "histogram_999999.db").write_bytes(b"left by an earlier run")
    env = {k: v for k, v in os.environ.items() if k not in ("CREDITFLOW_CONFIG", "CREDITFLOW_DATABASE_URL")}
    env.update(CREDITFLOW_DATABASE_URL=database_url, CREDITFLOW_INSTANCE_PATH=str(tmp_path / "instance"),
               CREDITFLOW_SECRET_KEY="topology-test-secret-key", CREDITFLOW_LOG_FORMAT="json",
               PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    for command in (["init-db"], ["deploy"]):
        done = subprocess.run([str(CREDITFLOW), *command], env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr

    port = free_port()
    api = Api(port)
    web_log = tmp_path / "gunicorn.log"
    processes = []
    try:
        with open(web_log, "w") as log:
            server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF),
                                       "--bind", f"127.0.0.1:{port}", "--workers", "3", "webapp.wsgi:app"],
                                      env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
        processes.append(server)
        workers = []
        for n in (1, 2):
            with open(tmp_path / f"worker{n}.log", "w") as log:
                workers.append(subprocess.Popen([str(CREDITFLOW), "worker", "--interval", "1"], env=env,
                                                cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT))
        processes.extend(workers)
        wait_ready(api, server, web_log)
        assert not (metrics_dir / "histogram_999999.db").exists()  # emptied before the workers started

        engine = build_engine(database_url)
        try:
            seed_team(engine, None)
            tokens = {user: engine.issue_token(user) for user in ("cm_wang", "rev_chen", "cm_li", "risk_liu")}
        finally:
            engine.db.dispose()

        ref = api.ok("POST", "/api/v1/loans", tokens["cm_wang"], SMALL)["reference"]
        for step, user in (("investigate", "cm_wang"), ("review", "rev_chen"), ("sign_business", "cm_wang"),
                           ("sign_risk", "risk_liu")):
            api.complete(tokens[user], ref, step)
        loan = api.ok("GET", f"/api/v1/loans/{ref}", tokens["cm_wang"])
        assert loan["stage"] == "contract"
        assert "prepare_contract" in [task["step"] for task in loan["open_tasks"]]
        with ThreadPoolExecutor(max_workers=6) as pool:  # overlapping requests keep several workers busy at once
            statuses = list(pool.map(lambda _i: api.ok("GET", "/api/v1/tasks?kind=mine", tokens["cm_wang"]),
                                     range(24)))
        assert all(s["total"] >= 1 for s in statuses)

        served_by = list(metrics_dir.glob("histogram_*.db"))
        assert len(served_by) >= 2, "every request went to one gunicorn worker"
        families = {f.name: f for f in text_string_to_metric_families(api.ok("GET", "/metrics"))}
        counted = sum(s.value for s in families["creditflow_http_request_seconds"].samples
                      if s.name == "creditflow_http_request_seconds_count")
        assert counted >= api.observed  # every worker's requests, whichever worker answered the scrape
        open_items = {s.labels["role"]: s.value for s in families["creditflow_open_work_items"].samples}
        assert open_items.get("customer_manager", 0) >= 1

        time.sleep(3)
        assert [w.poll() for w in workers] == [None, None], "a timer worker died"
        assert [stop(w) for w in workers] == [0, 0]
        assert stop(server) == 0
        assert "Timer worker stopped." in (tmp_path / "worker1.log").read_text()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
