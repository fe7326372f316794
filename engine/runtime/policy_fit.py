"""Whether a diagram fits the policy it will run under: every duty defined, every lane allowed to do its duty."""
from __future__ import annotations

from policies import PolicySet


def duty_problems(policy: PolicySet, label: str, duty: str, lane: str | None, lane_roles: set[str]) -> list[str]:
    """For a user task: nobody could ever be offered a duty the policy lacks, or one its lane's role may not do."""
    spec = policy.duty_specs.get(duty)
    if spec is None:
        return [f"user task '{label}': {undefined(policy, duty)}"]
    if lane in lane_roles and lane not in spec.roles:
        return [f"user task '{label}' is in lane '{lane}', but policy {policy.version} lets only "
                f"{', '.join(spec.roles)} do duty '{duty}'; move the task to one of those lanes or choose another duty"]
    return []


def recorded_duty_problems(policy: PolicySet, label: str, duty: str | None) -> list[str]:
    """For an event that records who set a process off (a message start event's `duty`)."""
    if duty is None or duty in policy.duties:
        return []
    return [f"'{label}' records {undefined(policy, duty)}"]


def undefined(policy: PolicySet, duty: str) -> str:
    return f"duty '{duty}' is not defined in policy {policy.version}; defined: {', '.join(sorted(policy.duties))}"
