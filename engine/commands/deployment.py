"""Deploying processes: validated bundles become new versions; running instances keep theirs."""
from __future__ import annotations

from sqlalchemy import select

from engine.commands.unit import Unit, open_unit
from engine.errors import NotAllowed
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
        return deploy_bundles(unit, bundles, actor, approved_by)


def deploy_bundles(unit: Unit, bundles: dict, actor: str | None, approved_by: str | None) -> list[DeployResult]:
    """Only the very first deployment into an empty database goes without a designer and a different approver;
    files that change nothing need neither (each unchanged process is a no-op)."""
    latest = {process_id: _latest(unit, process_id) for process_id in bundles}
    # the latest version's files, not its stored sha256: versions deployed before canonical hashing count too
    changed = sorted(pid for pid, bundle in bundles.items()
                     if latest[pid] is None or not unchanged(bundle, latest[pid].files))
    first = unit.session.scalar(select(ProcessVersion.id).limit(1)) is None
    if changed and not first:
        if not actor or not approved_by:
            raise NotAllowed("Deploying a change to %(processes)s needs its designer and a second person who "
                             "approves it (never the designer).", processes=", ".join(changed))
        unit.gate.check_deployment(unit, actor, approved_by, sha256_of({k: v for b in bundles.values()
                                                                         for k, v in b.items()}))
    record_policy(unit)
    results = []
    for process_id, bundle in bundles.items():
        sha = sha256_of(bundle)
        if process_id not in changed:
            results.append(DeployResult(process_id, latest[process_id].version, False))
            continue
        latest_version = latest[process_id]
        loaded = unit.workflows.specs.get(process_id, sha, bundle)
        version = ProcessVersion(
            process_id=process_id, version=(latest_version.version + 1) if latest_version else 1, name=loaded.name,
            sha256=sha, files=bundle, start_message=loaded.start_message, designed_by=actor,
            approved_by=approved_by, deployed_at=unit.clock.now())
        unit.session.add(version)
        unit.audit.record("process_deployed", actor=approved_by or actor, process_id=process_id,
                          process_version=version.version,
                          detail={"sha256": sha, "files": sorted(bundle), "designed_by": actor,
                                  "approved_by": approved_by})
        results.append(DeployResult(process_id, version.version, True))
    return results


def _latest(unit: Unit, process_id: str) -> ProcessVersion | None:
    return unit.session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == process_id)
                               .order_by(ProcessVersion.version.desc()).limit(1))


def record_policy(unit: Unit) -> None:
    """The first time a policy version is used, its deployment is an audit event."""
    policy = unit.policy
    seen = [detail or {} for detail in unit.session.scalars(select(AuditEvent.detail).where(
        AuditEvent.action == "policy_deployed", AuditEvent.policy_version == policy.version))]
    if any(d.get("sha256") not in (None, policy.sha256) for d in seen) and \
            not any(d.get("sha256") == policy.sha256 for d in seen):
        raise NotAllowed("Policy version %(version)s was deployed before with other content; a changed policy needs "
                         "a new version number.", version=policy.version)
    if not seen:
        unit.audit.record("policy_deployed", detail={"version": policy.version, "sha256": policy.sha256})
