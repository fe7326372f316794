"""Deploying processes: validated bundles become new versions; running instances keep theirs."""
from __future__ import annotations

from sqlalchemy import select

from engine.commands.unit import Unit, open_unit
from engine.kernel import Kernel
from engine.runtime.specs import prepare_deployment, sha256_of, unchanged
from engine.store.models import AuditEvent, ProcessVersion
from engine.views import DeployResult


def deploy(kernel: Kernel, files, actor: str | None, approved_by: str | None, source: str) -> list[DeployResult]:
    """Deploy changed processes as new versions; unchanged ones are a no-op. All or nothing: files that fail
    validation raise DeploymentRejected before anything is written.

    `actor` designed the change and `approved_by` approves it: the policy's four-eyes rule applies."""
    bundles = prepare_deployment(files, kernel.policy)
    with open_unit(kernel, source, "deploy") as unit:
        return _deploy(unit, bundles, actor, approved_by)


def _deploy(unit: Unit, bundles: dict, actor: str | None, approved_by: str | None) -> list[DeployResult]:
    if approved_by:
        unit.gate.check_deployment(unit, actor, approved_by, sha256_of({k: v for b in bundles.values()
                                                                         for k, v in b.items()}))
    record_policy(unit)
    results = []
    for process_id, bundle in bundles.items():
        sha = sha256_of(bundle)
        latest = unit.session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == process_id)
                                     .order_by(ProcessVersion.version.desc()).limit(1))
        # the latest version's files, not its stored sha256: versions deployed before canonical hashing count too
        if latest is not None and unchanged(bundle, latest.files):
            results.append(DeployResult(process_id, latest.version, False))
            continue
        loaded = unit.workflows.specs.get(process_id, sha, bundle)
        version = ProcessVersion(
            process_id=process_id, version=(latest.version + 1) if latest else 1, name=loaded.name,
            sha256=sha, files=bundle, start_message=loaded.start_message, designed_by=actor,
            approved_by=approved_by or actor, deployed_at=unit.clock.now())
        unit.session.add(version)
        unit.audit.record("process_deployed", actor=approved_by or actor, process_id=process_id,
                          process_version=version.version,
                          detail={"sha256": sha, "files": sorted(bundle), "designed_by": actor,
                                  "approved_by": approved_by})
        results.append(DeployResult(process_id, version.version, True))
    return results


def record_policy(unit: Unit) -> None:
    """The first time a policy version is used, its deployment is an audit event."""
    policy = unit.policy
    seen = unit.session.scalar(select(AuditEvent.id).where(
        AuditEvent.action == "policy_deployed", AuditEvent.policy_version == policy.version).limit(1))
    if seen is None:
        unit.audit.record("policy_deployed", detail={"version": policy.version, "sha256": policy.sha256})
