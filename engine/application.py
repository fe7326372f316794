"""The loan application: the business fields a customer manager records when starting a loan."""
from __future__ import annotations

from engine.errors import InvalidInput
from engine.forms import coerce_form, form_errors
from engine.identifiers import customer_kind

PRODUCTS = ["working_capital", "fixed_asset", "personal_consumer", "personal_business"]
LOAN_TYPES = ["new", "extension", "refinancing", "restructuring"]
RATINGS = ["excellent", "good", "average", "poor"]
GUARANTEE_TYPES = ["secured", "guaranteed", "unsecured"]  # 抵押/质押, 保证, 信用

APPLICATION_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["borrower", "product", "amount", "term_months"],
    "properties": {
        "borrower": {"type": "string", "minLength": 1, "maxLength": 200, "title": "Borrower", "x-title-zh": "借款人"},
        "product": {"type": "string", "enum": PRODUCTS, "title": "Product", "x-title-zh": "产品",
                    "x-enum-titles": {"working_capital": "Working capital loan", "fixed_asset": "Fixed-asset loan",
                                      "personal_consumer": "Personal consumer loan",
                                      "personal_business": "Personal business loan"},
                    "x-enum-titles-zh": {"working_capital": "流动资金贷款", "fixed_asset": "固定资产贷款",
                                         "personal_consumer": "个人消费贷款", "personal_business": "个人经营贷款"}},
        "amount": {"type": "number", "exclusiveMinimum": 0, "maximum": 100_000_000_000, "x-unit": "CNY",
                   "title": "Amount (CNY)", "x-title-zh": "金额（人民币元）"},
        "borrower_id": {"type": "string", "maxLength": 18, "format": "cn-unified-id", "title": "Borrower's unified identifier (unified social "
                        "credit code, or resident ID for a person)", "x-title-zh": "借款人统一社会信用代码或居民身份证号"},
        "group_identifier": {"type": "string", "maxLength": 18, "format": "cn-uscc", "title": "Group (集团客户): the parent's unified social "
                             "credit code", "x-title-zh": "所属集团客户（母公司统一社会信用代码）"},
        "group_name": {"type": "string", "maxLength": 200, "title": "Group name", "x-title-zh": "集团名称"},
        "group_exposure": {"type": "number", "minimum": 0, "maximum": 1_000_000_000_000_000, "x-unit": "CNY",
                           "title": "Your estimate of the group exposure (the engine computes it)",
                           "x-title-zh": "集团授信敞口估计（以系统计算为准）"},
        "branch": {"type": "string", "maxLength": 32, "title": "Branch", "x-title-zh": "机构"},
        "loan_type": {"type": "string", "enum": LOAN_TYPES, "default": "new", "title": "Type", "x-title-zh": "业务类型",
                      "x-enum-titles": {"new": "New loan", "extension": "Extension", "refinancing": "Refinancing",
                                        "restructuring": "Restructuring"},
                      "x-enum-titles-zh": {"new": "新增", "extension": "展期", "refinancing": "借新还旧",
                                           "restructuring": "重组"}},
        "term_months": {"type": "integer", "minimum": 1, "maximum": 360, "title": "Term (months)",
                        "x-title-zh": "期限（月）"},
        "small_enterprise": {"type": "boolean", "default": False, "title": "Small enterprise", "x-title-zh": "小型企业"},
        "new_relationship": {"type": "boolean", "default": False, "title": "New customer relationship",
                             "x-title-zh": "新建立信贷关系"},
        "rating": {"type": "string", "enum": RATINGS, "default": "good", "title": "Credit rating", "x-title-zh": "信用评级",
                   "x-enum-titles": {"excellent": "Excellent", "good": "Good", "average": "Average", "poor": "Poor"},
                   "x-enum-titles-zh": {"excellent": "优", "good": "良", "average": "一般", "poor": "差"}},
        "project_investment": {"type": "number", "minimum": 0, "maximum": 1_000_000_000_000_000, "title": "Total project investment (CNY)",
                               "x-title-zh": "项目总投资（人民币元）"},
        "guarantee_type": {"type": "string", "enum": GUARANTEE_TYPES, "default": "secured", "title": "Guarantee",
                           "x-title-zh": "担保方式",
                           "x-enum-titles": {"secured": "Secured (mortgage or pledge)", "guaranteed": "Guaranteed",
                                             "unsecured": "Unsecured (credit)"},
                           "x-enum-titles-zh": {"secured": "抵押/质押", "guaranteed": "保证", "unsecured": "信用"}},
        "guarantor": {"type": "string", "maxLength": 200, "title": "Guarantor (guaranteed loans)",
                      "x-title-zh": "保证人（保证贷款）"},
    },
    "allOf": [{"if": {"properties": {"guarantee_type": {"const": "guaranteed"}}, "required": ["guarantee_type"]},
               "then": {"required": ["guarantor"], "properties": {"guarantor": {"minLength": 1}}}}],
}


# What a new application may be: extensions, refinancing and restructuring start from the loan they change.
NEW_LOAN_SCHEMA = {**APPLICATION_SCHEMA, "properties": {
    **APPLICATION_SCHEMA["properties"],
    "loan_type": {**APPLICATION_SCHEMA["properties"]["loan_type"], "enum": ["new"],
                  "x-enum-titles": {"new": "New loan"}, "x-enum-titles-zh": {"new": "新增"}}}}


def validate_application(data: dict) -> dict:
    """Validated, defaulted and typed application values; InvalidInput names every bad field."""
    errors = form_errors(APPLICATION_SCHEMA, data or {})
    if errors:
        raise InvalidInput("The application has errors; no loan was created.",
                           field_templates=errors)
    values = coerce_form(APPLICATION_SCHEMA, data)
    for name, prop in APPLICATION_SCHEMA["properties"].items():
        if name not in values and "default" in prop:
            values[name] = prop["default"]
    values.setdefault("project_investment", 0)
    problems = {}
    for name in ("borrower_id", "group_identifier"):
        code = (values.get(name) or "").strip().upper()
        if code:
            kind = customer_kind(code)
            if kind is None or (name == "group_identifier" and kind != "company"):
                problems[name] = ("Not a valid identifier: check the 18 characters and the check character.", {})
            values[name] = code
        else:
            values.pop(name, None)
    if problems:
        raise InvalidInput("The application has errors; no loan was created.", field_templates=problems)
    if values.get("group_exposure") is not None:  # the customer manager's estimate: it can raise, never lower
        values["declared_group_exposure"] = values.pop("group_exposure")
    return values
