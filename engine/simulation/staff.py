"""A standard credit department (one branch and head office), used by the demo, the simulation and tests."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

BRANCH = "BJ01"
HEAD_OFFICE = "HO"


@dataclass(frozen=True)
class Member:
    username: str
    display_name: str
    grants: tuple[tuple[str, str | None, Decimal | None], ...]  # (role, branch, limit)


def _m(username, name, *grants):
    return Member(username, name, tuple(grants))


def standard_team(branch: str = BRANCH) -> list[Member]:
    """Enough people for every duty pair to be satisfiable, including two committees of seven."""
    team = [
        _m("cm_wang", "王客户经理", ("customer_manager", branch, None)),
        _m("cm_li", "李客户经理", ("customer_manager", branch, None)),
        _m("cm_zhao", "赵客户经理", ("customer_manager", branch, None)),
        _m("cm_sun", "孙客户经理", ("customer_manager", branch, None)),
        _m("rev_chen", "陈审查", ("credit_reviewer", branch, None)),
        _m("rev_zhou", "周审查", ("credit_reviewer", branch, None)),
        _m("risk_liu", "刘风险经理", ("risk_manager", branch, Decimal("3000000"))),
        _m("risk_yang", "杨风险经理", ("risk_manager", branch, Decimal("1000000"))),
        _m("chair_huang", "黄主任委员", ("committee_chair", branch, None), ("committee_member", branch, None)),
        _m("ho_chair_he", "何主任委员", ("committee_chair", HEAD_OFFICE, None), ("committee_member", HEAD_OFFICE, None)),
        _m("disb_xu", "徐出账审核", ("disbursement_reviewer", branch, None)),
        _m("acct_ma", "马会计", ("accounting_operator", branch, None)),
        _m("coll_hu", "胡押品管理", ("collateral_custodian", branch, None)),
        _m("plm_guo", "郭贷后经理", ("post_loan_manager", branch, None)),
        _m("plm_lin", "林贷后经理", ("post_loan_manager", branch, None)),
        _m("plh_luo", "罗贷后负责人", ("post_loan_head", branch, None)),
        _m("cro_gao", "高风险管理", ("credit_risk_officer", branch, None)),
        _m("apo_deng", "邓资产保全", ("asset_preservation_officer", branch, None)),
        _m("head_qian", "钱支行负责人", ("branch_head", branch, None)),
        _m("designer_zheng", "郑流程设计", ("process_designer", None, None)),
        _m("designer_wu", "吴流程设计", ("process_designer", None, None)),
        _m("auditor_xie", "谢合规审计", ("auditor", None, None)),
        _m("admin", "系统管理员", ("admin", None, None)),
    ]
    surnames = ["冯", "韩", "曹", "彭", "董", "袁"]
    for i, surname in enumerate(surnames, start=1):
        team.append(_m(f"member{i}", f"{surname}委员", ("committee_member", branch, None)))
        team.append(_m(f"ho_member{i}", f"总行{surname}委员", ("committee_member", HEAD_OFFICE, None)))
    return team


def seed_team(engine, password: str | None, branch: str = BRANCH) -> list[Member]:
    """Create the standard team (skips people who already exist)."""
    team = standard_team(branch)
    engine.add_people(team, password)
    return team
