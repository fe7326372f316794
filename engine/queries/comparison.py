"""Two file sets side by side for a reviewer: the changes in words and both diagrams with what to mark on each."""
from __future__ import annotations

from engine.runtime.catalog import ProcessTexts, form_file
from engine.runtime.diff import UNREADABLE, diagram_marks, diff_bundles
from engine.runtime.diff_bpmn import read_diagram
from engine.runtime.parser import parse_xml
from engine.views import DifferenceView, ComparisonView, DiagramPairView


def changes(old: dict[str, str], new: dict[str, str]) -> list[DifferenceView]:
    return [DifferenceView(c.kind, c.what, c.element, c.file, c.template, c.params, c.process)
            for c in diff_bundles(old, new)]


def _diagram(files: dict[str, str], name: str, locale: str | None) -> str | None:
    if name not in files:
        return None
    try:
        parse_xml(files[name].encode("utf-8"))
    except UNREADABLE:  # not XML the engine accepts: nothing is handed to the viewer
        return None
    try:
        return ProcessTexts.of(files).diagram(name, locale)
    except UNREADABLE:  # a catalog or form that does not read: the diagram as stored
        return files[name]


def _process_of(files: dict[str, str], name: str) -> str | None:
    try:
        return next(iter(read_diagram(files[name], None).processes), None)
    except UNREADABLE:
        return None


def _users(files: dict[str, str], found: list[DifferenceView], marks: dict, side: str) -> None:
    """Tasks that call a changed decision table or show a changed form are marked changed too."""
    decisions = {c.params.get("decision") for c in found if c.file.endswith(".dmn")}
    forms = {c.file for c in found if c.file.startswith("forms/")}
    for name in (n for n in files if n.endswith(".bpmn")):
        try:
            nodes = read_diagram(files[name], None).nodes.values()
        except UNREADABLE:
            continue
        for node in nodes:
            if node.texts.get("decision") in decisions or form_file(name, node.props.get("form") or "") in forms:
                marks.setdefault(name, {"old": {}, "new": {}})[side].setdefault(node.id, "changed")


def comparison(old: dict[str, str], new: dict[str, str], locale: str | None,
               shown: tuple[str, ...] = ()) -> ComparisonView:
    """Every BPMN file with something to mark gets its pair of diagrams, also when only its forms or decision
    tables changed (the tasks using them are marked); `shown` names diagrams to draw even if nothing in them changed."""
    found = changes(old, new)
    marks = diagram_marks(found)
    _users(old, found, marks, "old")
    _users(new, found, marks, "new")
    changed = sorted(set(marks) | set(shown) | {c.file for c in found if c.file.endswith(".bpmn")})
    pairs = []
    for name in changed:
        side = marks.get(name, {"old": {}, "new": {}})
        pairs.append(DiagramPairView(name, _process_of(new if name in new else old, name),
                                     _diagram(old, name, locale), _diagram(new, name, locale),
                                     side["old"], side["new"]))
    return ComparisonView(tuple(found), tuple(pairs))
