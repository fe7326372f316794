"""The roles of DOMAIN.md; BPMN lanes must be named with these ids."""

ROLES = {
    "customer_manager": "客户经理",
    "credit_reviewer": "授信审查岗",
    "risk_manager": "风险经理",
    "committee_member": "贷审会委员",
    "committee_chair": "主任委员",
    "disbursement_reviewer": "出账审核岗",
    "accounting_operator": "会计/支付操作",
    "collateral_custodian": "押品管理",
    "post_loan_manager": "专职贷后客户经理",
    "post_loan_head": "贷后管理部门负责人",
    "credit_risk_officer": "信贷风险管理部门",
    "branch_head": "支行/部门负责人",
    "asset_preservation_officer": "资产保全岗",
    "process_designer": "流程设计",
    "auditor": "合规/审计",
    "admin": "系统管理员",
    "core_banking": "核心系统",
}

# Roles that do no work in process lanes.
NON_LANE_ROLES = {"auditor", "admin", "process_designer", "core_banking"}
LANE_ROLES = set(ROLES) - NON_LANE_ROLES


def lane_roles(policy) -> set[str]:
    """Roles a BPMN lane may name: the policy's roles that do process work."""
    return set(policy.roles) - NON_LANE_ROLES

# The core banking system's own account: it reports loan positions (and repayments) and does no process work.
FEED_ROLE = "core_banking"
# Who may report a loan repaid (loan_repaid): the feed, or an accounting operator who books it.
REPAYMENT_ROLES = (FEED_ROLE, "accounting_operator")

# Who may see and retry incidents (failed automatic steps).
INCIDENT_ROLES = ("admin", "process_designer")

# Who may see the mandatory-leave report (强制休假): the branch head and compliance.
LEAVE_REPORT_ROLES = ("branch_head", "auditor")

# Who may hand an open task to someone else (with a reason, under the same pair rules), and for which processes.
SUPERVISOR_ROLES = {"branch_head": ("origination", "risk_warning", "classification", "workout",
                                    "collateral_revaluation", "extension"),
                    "post_loan_head": ("post_loan", "post_loan_inspection", "collection")}

# Duties whose performers answer jointly for an approval (连带问责): the signatures and the committee's votes.
SIGNING_DUTIES = ("sign_business", "approve", "vote", "chair_veto")

# Tasks whose performer is part of the record (a committee member's named vote, the chair's veto): never handed on.
PERSONAL_DUTIES = ("vote", "chair_veto", "convene_committee")


def visible_branches(grants, head_office: str) -> set[str] | None:
    """The branches whose loan files a person may open: None for every branch (a bank-wide or head-office grant).

    A grant in a branch opens that branch's files; the administrator's and the core banking feed's grants open
    none (they run or feed the system, they do not read credit files)."""
    branches: set[str] = set()
    for grant in grants:
        if grant.role in ("admin", FEED_ROLE):
            continue
        if grant.branch in (None, head_office):
            return None
        branches.add(grant.branch)
    return branches
