"""Read a policy YAML file, validate it, and build a PolicySet; errors name file and key."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from . import rules as R
from .committee import CommitteeSpec
from .policyset import DutySpec, PolicySet, Tier

HERE = Path(__file__).resolve().parent
DEFAULT_POLICY = HERE / "default.yaml"
SCHEMA = HERE / "schema.json"

MONEY_PARAMS = {"dual_investigation_threshold", "tier_ceiling_dual_signature", "tier_ceiling_branch_committee"}
FRACTION_PARAMS = {"committee_quorum_fraction", "committee_pass_fraction", "customer_pull_share",
                   "collateral_cover_ratio"}


class PolicyFormatError(ValueError):
    """The policy file cannot be used; the message names the file and the key."""

    def __init__(self, file: str, key: str, problem: str):
        super().__init__(f"{file}: {key}: {problem}")
        self.file, self.key, self.problem = file, key, problem


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of silently keeping the last."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)
# Dates stay the text the bank wrote (quoted or not), so the schema checks them and errors name the key.
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


def _key(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


def _parse_yaml(text: str, file: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        if mark is None:
            raise PolicyFormatError(file, "(document)", f"not valid YAML: {problem}") from None
        lines = text.splitlines()
        near = lines[mark.line].strip() if mark.line < len(lines) else ""
        context = getattr(exc, "context_mark", None)
        started = context if context is not None and context.line < mark.line else None
        key = _key_at_line(lines, (started or mark).line)
        where = f" ({exc.context} started at line {started.line + 1})" if started is not None else ""
        raise PolicyFormatError(
            file, key,
            f"not valid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}{where} (near {near!r})",
        ) from None


def _key_at_line(lines: list[str], index: int) -> str:
    """The nearest `key:` at or above a line, so a syntax error still names a key."""
    for i in range(min(index, len(lines) - 1), -1, -1):
        stripped = lines[i].strip().lstrip("- ")
        if ":" in stripped and not stripped.startswith("#"):
            return f"line {i + 1} ({stripped.split(':', 1)[0].strip()})"
    return f"line {index + 1}"


def _validate_schema(doc: Any, file: str) -> None:
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise PolicyFormatError(file, _key(first.absolute_path), first.message + more)


class _Builder:
    """Semantic checks the schema cannot express, then construction."""

    def __init__(self, doc: Mapping[str, Any], file: str):
        self.doc, self.file = doc, file
        self.roles: Mapping[str, Any] = doc["roles"]
        self.duties: dict[str, DutySpec] = {}
        self.groups: dict[str, frozenset[str]] = {}
        self.ids: set[str] = set()

    def fail(self, key: str, problem: str) -> None:
        raise PolicyFormatError(self.file, key, problem)

    def role(self, name: str, key: str) -> str:
        if name not in self.roles:
            self.fail(key, f"unknown role {name!r}")
        return name

    def duty(self, name: str, key: str) -> str:
        if name not in self.duties:
            self.fail(key, f"unknown duty {name!r}")
        return name

    def unique(self, rule_id: str, key: str) -> str:
        if rule_id in self.ids:
            self.fail(key, f"rule id {rule_id!r} is used twice")
        self.ids.add(rule_id)
        return rule_id

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in self.doc["parameters"].items():
            if name in MONEY_PARAMS:
                out[name] = Decimal(str(value))
            elif name in FRACTION_PARAMS:
                frac = Fraction(value)
                if not 0 < frac <= 1:
                    self.fail(f"parameters.{name}", f"{value} must be a fraction between 0 and 1")
                out[name] = frac
            else:
                out[name] = value
        return out

    def read_duties(self) -> None:
        for name, d in self.doc["duties"].items():
            roles = tuple(self.role(r, f"duties.{name}.roles[{i}]") for i, r in enumerate(d["roles"]))
            self.duties[name] = DutySpec(name, d["en"], d["zh"], d["done"], roles)

    def read_groups(self) -> None:
        for name, g in self.doc["duty_groups"].items():
            if name in self.duties:
                self.fail(f"duty_groups.{name}", "a group may not have the name of a duty")
            self.groups[name] = frozenset(
                self.duty(d, f"duty_groups.{name}.duties[{i}]") for i, d in enumerate(g["duties"])
            )

    def expand(self, names: list[str], key: str) -> frozenset[str]:
        out: set[str] = set()
        for i, name in enumerate(names):
            if name in self.duties:
                out.add(name)
            elif name in self.groups:
                out |= self.groups[name]
            else:
                self.fail(f"{key}[{i}]", f"unknown duty or group {name!r}")
        return frozenset(out)

    def pairs(self) -> tuple[R.PairRule, ...]:
        out = []
        for i, r in enumerate(self.doc["incompatible"]):
            key = f"incompatible[{i}]"
            out.append(R.PairRule(
                id=self.unique(r["id"], f"{key}.id"), name=r["name"]["en"], name_zh=r["name"]["zh"],
                source=r["source"], a=tuple(r["a"]), b=tuple(r["b"]),
                duties_a=self.expand(r["a"], f"{key}.a"), duties_b=self.expand(r["b"], f"{key}.b"),
                scope=r["scope"], note=r.get("note", ""),
            ))
        return tuple(out)

    def controls(self) -> dict[str, R.Control]:
        return {
            key: R.Control(key, self.unique(c["id"], f"controls.{key}.id"), c["name"]["en"], c["name"]["zh"],
                           c["source"], c.get("note", ""))
            for key, c in self.doc["controls"].items()
        }

    def tiers(self, params: Mapping[str, Any]) -> tuple[Tier, ...]:
        raw = self.doc["authority"]["tiers"]
        tiers: list[Tier] = []
        for i, t in enumerate(raw):
            key = f"authority.tiers[{i}].ceiling"
            ceiling_param = t.get("ceiling")
            if ceiling_param is None and i < len(raw) - 1:
                self.fail(key, "every tier but the last needs a ceiling parameter")
            if ceiling_param is not None and ceiling_param not in MONEY_PARAMS:
                self.fail(key, f"{ceiling_param!r} is not a money parameter")
            ceiling = params[ceiling_param] if ceiling_param else None
            if ceiling is not None and tiers and tiers[-1].ceiling is not None and ceiling <= tiers[-1].ceiling:
                self.fail(key, "tier ceilings must rise from the first tier to the last")
            tiers.append(Tier(t["tier"], ceiling_param, ceiling, t.get("zh", "")))
        return tuple(tiers)

    def limits(self) -> tuple[R.LimitRule, ...]:
        out = []
        for i, lim in enumerate(self.doc["authority"]["limits"]):
            key = f"authority.limits[{i}]"
            out.append(R.LimitRule(
                self.unique(lim["id"], f"{key}.id"), lim["name"]["en"], lim["name"]["zh"], lim["source"],
                self.duty(lim["duty"], f"{key}.duty"), self.role(lim["role"], f"{key}.role"), lim["require_limit"],
            ))
        return tuple(out)

    def escalation(self) -> dict[str, tuple[str, str | None]]:
        """Up the authority chain: duty -> ("head_office", None) or ("role", the higher role)."""
        out: dict[str, tuple[str, str | None]] = {}
        for duty, step in self.doc["authority"].get("escalation", {}).items():
            key = f"authority.escalation.{duty}"
            self.duty(duty, key)
            role = step.get("role")
            if step["to"] == "role":
                if role is None:
                    self.fail(key, "name the higher role (role: ...)")
                self.role(role, f"{key}.role")
                if role not in self.duties[duty].roles:
                    self.fail(f"{key}.role", f"role {role!r} may not perform {duty!r}; add it to the duty's roles")
            elif role is not None:
                self.fail(f"{key}.role", "a role is named only with to: role")
            out[duty] = (step["to"], role)
        return out

    def tier_settings(self, tier_names: set[str]) -> tuple[frozenset[str], frozenset[str], dict[str, str | None]]:
        a = self.doc["authority"]
        loan_types = frozenset(a["loan_types"])
        for i, lt in enumerate(a["one_tier_up"]):
            if lt not in loan_types:
                self.fail(f"authority.one_tier_up[{i}]", f"unknown loan type {lt!r}")
        for duty, path in a["tier_checked_duties"].items():
            self.duty(duty, f"authority.tier_checked_duties.{duty}")
            if path is not None and path not in tier_names:
                self.fail(f"authority.tier_checked_duties.{duty}", f"unknown tier {path!r}")
        return loan_types, frozenset(a["one_tier_up"]), dict(a["tier_checked_duties"])

    def days(self, name: str) -> dict[date, int]:
        """The dates of `calendar.<name>`, each with its index for error messages."""
        out: dict[date, int] = {}
        for i, text in enumerate(self.doc.get("calendar", {}).get(name, [])):
            try:
                out[date.fromisoformat(text)] = i
            except ValueError as exc:
                self.fail(f"calendar.{name}[{i}]", f"{text!r} is not a date ({exc})")
        return out

    def calendar(self) -> tuple[frozenset[date], frozenset[date]]:
        """The bank's own closing and working days; a day cannot be both."""
        closing, working = self.days("closing_days"), self.days("working_days")
        for day, i in working.items():
            if day in closing:
                self.fail(f"calendar.working_days[{i}]", f"{day} is also a closing day")
        return frozenset(closing), frozenset(working)

    def mandatory_leave_roles(self) -> tuple[str, ...]:
        roles = self.doc["mandatory_leave"]["roles"]
        return tuple(self.role(r, f"mandatory_leave.roles[{i}]") for i, r in enumerate(roles))

    def committee(self, tier_names: set[str]) -> CommitteeSpec:
        c = self.doc["committee"]
        members = tuple(self.role(r, f"committee.member_roles[{i}]") for i, r in enumerate(c["member_roles"]))
        chair = self.role(c["chair_role"], "committee.chair_role")
        for level in c["levels"]:
            if level not in tier_names:
                self.fail(f"committee.levels.{level}", f"unknown tier {level!r}")
        if c["file_work"] not in self.groups:
            self.fail("committee.file_work", f"unknown duty group {c['file_work']!r}")
        votes = frozenset(self.duty(d, f"committee.vote_duties[{i}]") for i, d in enumerate(c["vote_duties"]))
        return CommitteeSpec(members, chair, dict(c["levels"]), c["file_work"], self.groups[c["file_work"]], votes)

    def build(self, sha256: str) -> PolicySet:
        params = self.params()
        self.read_duties()
        self.read_groups()
        pairs, controls, limits = self.pairs(), self.controls(), self.limits()
        tiers = self.tiers(params)
        tier_names = {t.name for t in tiers}
        loan_types, one_up, tier_checked = self.tier_settings(tier_names)
        title = self.doc.get("title", {})
        closing_days, working_days = self.calendar()
        return PolicySet(
            version=self.doc["version"], sha256=sha256, source=self.file, params=params, roles=self.roles,
            duty_specs=self.duties, groups=self.groups, pairs=pairs, controls=controls, limits=limits,
            tiers=tiers, loan_types=loan_types, one_tier_up=one_up, tier_checked_duties=tier_checked,
            committee=self.committee(tier_names), title=title.get("en", ""), raw=self.doc,
            closing_days=closing_days, working_days=working_days, mandatory_leave_roles=self.mandatory_leave_roles(),
            escalation=self.escalation(),
        )


def parse_policy(text: str | bytes, file: str = "<policy>") -> PolicySet:
    """Build a PolicySet from YAML text; `file` is the name used in error messages."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    doc = _parse_yaml(data.decode("utf-8"), file)
    if not isinstance(doc, dict):
        raise PolicyFormatError(file, "(top level)", "a policy file must be a YAML mapping")
    _validate_schema(doc, file)
    return _Builder(doc, file).build(hashlib.sha256(data).hexdigest())


def load_policy(path: str | Path | None = None) -> PolicySet:
    """Load a policy file (the bundled default.yaml when no path is given)."""
    file = Path(path) if path is not None else DEFAULT_POLICY
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise PolicyFormatError(str(file), "(file)", f"cannot read: {exc.strerror}") from None
    return parse_policy(data, str(file))


@lru_cache(maxsize=1)
def default_policy() -> PolicySet:
    return load_policy()
