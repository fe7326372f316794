"""Whether a diagram fits the policy it will run under: every duty defined, every lane allowed to do its duty."""
from __future__ import annotations

from policies import N_, PolicySet


def duty_problems(policy: PolicySet, label: str, duty: str, lane: str | None,
                  lane_roles: set[str]) -> list[tuple[str, dict]]:
    """For a user task: nobody could ever be offered a duty the policy lacks, or one its lane's role may not do.
    Each problem is a message template and its parameters."""
    spec = policy.duty_specs.get(duty)
    if spec is None:
        return [(N_("user task '%(label)s': duty '%(duty)s' is not defined in policy %(version)s; defined: "
                    "%(duties)s"), undefined(policy, label, duty))]
    if lane in lane_roles and lane not in spec.roles:
        return [(N_("user task '%(label)s' is in lane '%(role)s', but policy %(version)s lets only %(allowed_roles)s "
                    "do duty '%(duty)s'; move the task to one of those lanes or choose another duty"),
                 {"label": label, "role": lane, "version": policy.version, "allowed_roles": ", ".join(spec.roles),
                  "duty": duty})]
    return []


def recorded_duty_problems(policy: PolicySet, label: str, duty: str | None) -> list[tuple[str, dict]]:
    """For an event that records who set a process off (a message start event's `duty`)."""
    if duty is None or duty in policy.duties:
        return []
    return [(N_("'%(label)s' records duty '%(duty)s' is not defined in policy %(version)s; defined: %(duties)s"),
             undefined(policy, label, duty))]


def undefined(policy: PolicySet, label: str, duty: str) -> dict:
    return {"label": label, "duty": duty, "version": policy.version, "duties": ", ".join(sorted(policy.duties))}
