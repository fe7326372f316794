"""Two versions of a DMN file compared: decisions, hit policy, columns, and each rule's cells by row."""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.runtime.diff import ADDED, CHANGED, REMOVED, Change, N_, shown
from engine.runtime.diff_bpmn import local
from engine.runtime.parser import parse_xml


@dataclass
class Rule:
    id: str
    row: int  # 1-based, as the table shows it
    inputs: dict = field(default_factory=dict)  # input column id -> cell text
    outputs: dict = field(default_factory=dict)  # output column id -> cell text
    description: str | None = None


@dataclass
class Table:
    id: str
    name: str | None
    hit_policy: str = "UNIQUE"
    inputs: dict = field(default_factory=dict)  # column id -> what it reads (its expression, else its label)
    outputs: dict = field(default_factory=dict)  # column id -> what it sets (its name, else its label)
    rules: dict = field(default_factory=dict)  # rule id -> Rule, in table order


def _text(element) -> str | None:
    found = next((c for c in element if local(c.tag) == "text"), None)
    return (found.text or "").strip() if found is not None else None


def read_tables(text: str | None) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    if text is None:
        return tables
    root = parse_xml(text.encode("utf-8"))
    for decision in (d for d in root.iter() if local(d.tag) == "decision"):
        table = Table(decision.get("id"), decision.get("name"))
        tables[table.id] = table
        grid = next((t for t in decision if local(t.tag) == "decisionTable"), None)
        if grid is None:
            continue
        table.hit_policy = grid.get("hitPolicy", "UNIQUE")
        inputs, outputs = [], []
        for column in grid:
            tag = local(column.tag)
            if tag == "input":
                expression = next((e for e in column if local(e.tag) == "inputExpression"), None)
                column_id = column.get("id") or f"input{len(inputs) + 1}"
                table.inputs[column_id] = (_text(expression) if expression is not None else None) or column.get("label")
                inputs.append(column_id)
            elif tag == "output":
                column_id = column.get("id") or f"output{len(outputs) + 1}"
                table.outputs[column_id] = column.get("name") or column.get("label") or column_id
                outputs.append(column_id)
            elif tag == "rule":
                rule = Rule(column.get("id") or f"row{len(table.rules) + 1}", len(table.rules) + 1)
                cells = [c for c in column if local(c.tag) in ("inputEntry", "outputEntry")]
                rule.inputs = dict(zip(inputs, (_text(c) for c in cells if local(c.tag) == "inputEntry")))
                rule.outputs = dict(zip(outputs, (_text(c) for c in cells if local(c.tag) == "outputEntry")))
                rule.description = next(((d.text or "").strip() for d in column if local(d.tag) == "description"), None)
                table.rules[rule.id] = rule
    return tables


def _cells(table: Table, rule: Rule) -> str:
    ins = ", ".join(f"{table.inputs[k]} {shown(v)}" for k, v in rule.inputs.items())
    outs = ", ".join(f"{table.outputs[k]} = {shown(v)}" for k, v in rule.outputs.items())
    return f"{ins} → {outs}"


def diff_dmn(file: str, before: str | None, after: str | None) -> list[Change]:
    old, new = read_tables(before), read_tables(after)
    changes: list[Change] = []
    for decision_id in [*old, *[d for d in new if d not in old]]:
        if decision_id not in new:
            changes.append(Change(REMOVED, "decision", decision_id, file, N_("Decision %(decision)s removed"),
                                  {"decision": decision_id}))
        elif decision_id not in old:
            changes.append(Change(ADDED, "decision", decision_id, file, N_("Decision %(decision)s added"),
                                  {"decision": decision_id}))
        else:
            changes += _table_changes(file, old[decision_id], new[decision_id])
    return changes


def _table_changes(file: str, old: Table, new: Table) -> list[Change]:
    decision = {"decision": new.id}
    found = []

    def change(kind, what, element, template, **params):
        found.append(Change(kind, what, element, file, template, {**decision, **params}))

    if old.hit_policy != new.hit_policy:
        change(CHANGED, "decision", new.id, N_("Decision %(decision)s: hit policy changed from %(old)s to %(new)s"),
               old=old.hit_policy, new=new.hit_policy)
    for kind_of, before, after in (("input", old.inputs, new.inputs), ("output", old.outputs, new.outputs)):
        for column in [*before, *[c for c in after if c not in before]]:
            if column not in after:
                change(REMOVED, "decision column", column, N_("Decision %(decision)s: column %(column)s removed"),
                       column=before[column])
            elif column not in before:
                change(ADDED, "decision column", column, N_("Decision %(decision)s: column %(column)s added"),
                       column=after[column])
            elif before[column] != after[column]:
                change(CHANGED, "decision column", column,
                       N_("Decision %(decision)s: column %(old)s now reads %(new)s"), old=before[column],
                       new=after[column])
    for rule_id in [*old.rules, *[r for r in new.rules if r not in old.rules]]:
        rule_old, rule_new = old.rules.get(rule_id), new.rules.get(rule_id)
        if rule_new is None:
            change(REMOVED, "decision rule", rule_id, N_("Decision %(decision)s: row %(row)s removed (%(cells)s)"),
                   row=rule_old.row, cells=_cells(old, rule_old))
            continue
        if rule_old is None:
            change(ADDED, "decision rule", rule_id, N_("Decision %(decision)s: row %(row)s added (%(cells)s)"),
                   row=rule_new.row, cells=_cells(new, rule_new))
            continue
        for cells_old, cells_new, columns, template in (
                (rule_old.inputs, rule_new.inputs, new.inputs,
                 N_("Decision %(decision)s row %(row)s: input %(column)s changed from %(old)s to %(new)s")),
                (rule_old.outputs, rule_new.outputs, new.outputs,
                 N_("Decision %(decision)s row %(row)s: output %(column)s changed from %(old)s to %(new)s"))):
            for column in columns:
                if column in cells_old and column in cells_new and cells_old[column] != cells_new[column]:
                    change(CHANGED, "decision rule", rule_id, template, row=rule_new.row, column=columns[column],
                           old=shown(cells_old[column]), new=shown(cells_new[column]))
        if rule_old.description != rule_new.description:
            change(CHANGED, "decision rule", rule_id, N_("Decision %(decision)s row %(row)s: description changed"),
                   row=rule_new.row)
    common = [r for r in old.rules if r in new.rules]
    if common != [r for r in new.rules if r in old.rules]:
        change(CHANGED, "decision", new.id,
               N_("Decision %(decision)s: the order of its rows changed (hit policy %(hit_policy)s)"),
               hit_policy=new.hit_policy)
    return found
