"""deploy/compose.yaml describes the topology the topology test runs, with the database roles of docs/audit.md."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from engine.settings import KEYS, PREFIX

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]


def statements(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [" ".join(s.split()) for s in "\n".join(lines).split(";") if s.strip()]


def documented(block: str) -> list[str]:
    doc = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    return statements(re.search(rf"<!-- sql:{block} -->\s*```sql\n(.*?)```", doc, re.S).group(1))


def test_everything_after_the_database_waits_for_migrations_to_succeed():
    assert SERVICES["db"]["image"] == "postgres:15"
    assert any(v.startswith("pgdata:") for v in SERVICES["db"]["volumes"]) and "pgdata" in COMPOSE["volumes"]
    assert SERVICES["migrate"]["command"][-1] == "creditflow init-db && creditflow deploy"
    for name in ("grants", "web", "worker"):
        assert SERVICES[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
    for name in ("web", "worker"):
        assert SERVICES[name]["depends_on"]["grants"] == {"condition": "service_completed_successfully"}, name


def test_web_runs_four_gunicorn_workers_with_metrics_on_a_tmpfs_and_a_readiness_check():
    web = SERVICES["web"]
    assert web["command"][0] == "gunicorn" and web["command"][-1] == "webapp.wsgi:app"
    assert web["command"][web["command"].index("--workers") + 1] == "4"
    assert "0.0.0.0:8000" in web["command"] and web["ports"] == ["127.0.0.1:8000:8000"]
    assert web["environment"]["PROMETHEUS_MULTIPROC_DIR"] in web["tmpfs"]
    assert "/readyz" in " ".join(web["healthcheck"]["test"])


def test_two_timer_workers():
    worker = SERVICES["worker"]
    assert worker["command"] == ["creditflow", "worker"] and worker["deploy"]["replicas"] == 2


def test_no_secret_in_the_file_and_every_setting_name_is_known():
    for name, service in SERVICES.items():
        for variable, value in (service.get("environment") or {}).items():
            if variable.startswith(PREFIX):
                assert variable[len(PREFIX):].lower() in KEYS, f"{name}: {variable} is not a setting"
                assert variable not in (f"{PREFIX}SECRET_KEY", f"{PREFIX}DATABASE_URL"), name
            assert not variable.endswith("PASSWORD"), f"{name}: {variable} (give a password as a secret file)"
    made = (DEPLOY / "make-secrets").read_text(encoding="utf-8")
    for secret in COMPOSE["secrets"].values():
        assert secret["file"].startswith("./secrets/") and secret["file"][2:] in made


def test_database_roles_and_grants_are_the_ones_docs_audit_md_prescribes():
    assert statements((DEPLOY / "postgres" / "grants.sql").read_text(encoding="utf-8")) == documented("owner")
    script = (DEPLOY / "postgres" / "initdb" / "10-creditflow-roles.sh").read_text(encoding="utf-8")
    created = statements(script.split("<<'SQL'", 1)[1].split("\nSQL", 1)[0])
    as_documented = [s.replace(":'owner_password'", "'change-me-owner'").replace(":'app_password'", "'change-me-app'")
                     for s in created]
    assert as_documented == documented("superuser")


def test_the_image_installs_the_pinned_set_and_runs_as_a_user():
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert "pip install -c constraints.txt ." in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
