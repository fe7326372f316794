"""Loading and validating policy files: errors name the file and the key."""
import ast
import sys
from pathlib import Path

import pytest
import yaml

from policies import DEFAULT_POLICY, PolicyFormatError, load_policy, parse_policy

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEXT = DEFAULT_POLICY.read_text(encoding="utf-8")


def edited(change) -> str:
    doc = yaml.safe_load(DEFAULT_TEXT)
    change(doc)
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def load_text(tmp_path, text, name="bank.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_policy(path)


def test_default_policy_loads():
    policy = load_policy()
    assert policy.version == "2026.3"
    assert len(policy.sha256) == 64
    assert {"investigate", "approve", "post_loan_manager", "approve_deployment"} <= policy.duties
    assert [r.id for r in policy.pairs] == [f"SOD-{i:02d}" for i in range(1, 20)]
    assert policy.params["chair_veto_hours"] == 24


def test_sha256_changes_with_the_file(tmp_path):
    policy = load_text(tmp_path, DEFAULT_TEXT.replace('version: "2026.3"', 'version: "2026.4"'))
    assert policy.version == "2026.4" and policy.sha256 != load_policy().sha256


def test_rule_naming_an_unknown_duty(tmp_path):
    text = edited(lambda d: d["incompatible"][0].__setitem__("b", ["review", "aprove"]))
    with pytest.raises(PolicyFormatError) as err:
        load_text(tmp_path, text)
    assert str(err.value) == f"{tmp_path / 'bank.yaml'}: incompatible[0].b[1]: unknown duty or group 'aprove'"
    assert err.value.key == "incompatible[0].b[1]"


def test_malformed_yaml_names_file_line_and_key(tmp_path):
    text = DEFAULT_TEXT.replace("    scope: subject\n", "    scope: [subject\n", 1)
    with pytest.raises(PolicyFormatError) as err:
        load_text(tmp_path, text)
    message = str(err.value)
    assert message.startswith(str(tmp_path / "bank.yaml"))
    assert "not valid YAML at line" in message and "scope" in message


def test_schema_error_names_the_key():
    text = edited(lambda d: d["incompatible"][3].pop("scope"))
    with pytest.raises(PolicyFormatError, match=r"^x\.yaml: incompatible\[3\]: 'scope' is a required property"):
        parse_policy(text, "x.yaml")


def test_unknown_scope_is_refused():
    text = edited(lambda d: d["incompatible"][0].__setitem__("scope", "branch"))
    with pytest.raises(PolicyFormatError, match=r"incompatible\[0\]\.scope"):
        parse_policy(text, "x.yaml")


def test_money_may_not_be_a_float():
    text = edited(lambda d: d["parameters"].__setitem__("tier_ceiling_dual_signature", 3000000.5))
    with pytest.raises(PolicyFormatError, match=r"parameters\.tier_ceiling_dual_signature"):
        parse_policy(text, "x.yaml")


def test_unknown_parameter_is_refused():
    text = edited(lambda d: d["parameters"].__setitem__("chair_veto_hour", 12))
    with pytest.raises(PolicyFormatError, match=r"x\.yaml: parameters: .*chair_veto_hour"):
        parse_policy(text, "x.yaml")


def test_fraction_above_one_is_refused():
    text = edited(lambda d: d["parameters"].__setitem__("committee_pass_fraction", "3/2"))
    with pytest.raises(PolicyFormatError, match=r"parameters\.committee_pass_fraction"):
        parse_policy(text, "x.yaml")


def test_duplicate_key_is_refused():
    text = DEFAULT_TEXT.replace("  chair_veto_hours: 24", "  chair_veto_hours: 24\n  chair_veto_hours: 48")
    with pytest.raises(PolicyFormatError, match="duplicate key 'chair_veto_hours'"):
        parse_policy(text, "x.yaml")


def test_duplicate_rule_id_is_refused():
    text = edited(lambda d: d["incompatible"][1].__setitem__("id", "SOD-01"))
    with pytest.raises(PolicyFormatError, match=r"incompatible\[1\]\.id: rule id 'SOD-01' is used twice"):
        parse_policy(text, "x.yaml")


def test_duty_with_unknown_role_is_refused():
    text = edited(lambda d: d["duties"]["review"].__setitem__("roles", ["credit_reviwer"]))
    with pytest.raises(PolicyFormatError, match=r"duties\.review\.roles\[0\]: unknown role 'credit_reviwer'"):
        parse_policy(text, "x.yaml")


def test_group_with_unknown_duty_is_refused():
    text = edited(lambda d: d["duty_groups"]["investigator"]["duties"].append("investigat"))
    with pytest.raises(PolicyFormatError, match=r"duty_groups\.investigator\.duties\[2\]"):
        parse_policy(text, "x.yaml")


def test_tier_ceilings_must_rise():
    text = edited(lambda d: d["parameters"].__setitem__("tier_ceiling_branch_committee", 1000000))
    with pytest.raises(PolicyFormatError, match=r"authority\.tiers\[1\]\.ceiling"):
        parse_policy(text, "x.yaml")


def test_limit_for_unknown_role_is_refused():
    text = edited(lambda d: d["authority"]["limits"][0].__setitem__("role", "risk_boss"))
    with pytest.raises(PolicyFormatError, match=r"authority\.limits\[0\]\.role"):
        parse_policy(text, "x.yaml")


def test_non_mapping_and_missing_file(tmp_path):
    with pytest.raises(PolicyFormatError, match="must be a YAML mapping"):
        parse_policy("- just\n- a list\n", "x.yaml")
    with pytest.raises(PolicyFormatError, match=r"missing\.yaml: \(file\): cannot read"):
        load_policy(tmp_path / "missing.yaml")


def test_check_against_bpmn():
    policy = load_policy()
    roles = set(policy.roles)
    assert policy.check_against_bpmn({"investigate", "review", "approve", "vote"}, roles) == []
    problems = policy.check_against_bpmn({"investigate", "sign_off"}, roles - {"customer_manager"})
    assert "BPMN uses duty 'sign_off', which policy 2026.3 does not define" in problems
    assert any("'investigate' is done by customer_manager" in p for p in problems)
    problems = policy.check_against_bpmn({"approve", "vote"}, {"customer_manager"})
    assert any("AUTH-01" in p and "risk_manager" in p for p in problems)
    assert any("committee member role" in p for p in problems)


def test_policies_import_no_framework():
    allowed = set(sys.stdlib_module_names) | {"yaml", "jsonschema", "policies"}
    for path in (ROOT / "policies").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


def test_docs_list_every_rule():
    doc = (ROOT / "docs" / "policy-format.md").read_text(encoding="utf-8")
    for rule in load_policy().rules:
        assert rule.id in doc, f"docs/policy-format.md does not describe {rule.id}"
