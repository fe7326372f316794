"""DMN files as this engine runs them: one decision table per file, cells in FEEL; what Spiff cannot read is said
with the file, line and element."""
from __future__ import annotations

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from engine.runtime.feel import N_, FeelDecisionEngine


class UnreadableDecision(ValidationException):
    """A DMN file this engine cannot run, said plainly (Spiff's own exceptions end their text with '. ').

    `template` and `params` carry the message for the reader's language (None: Spiff's own English text)."""

    def __init__(self, msg, *args, template: str | None = None, params: dict | None = None, **kwargs):
        super().__init__(msg, *args, **kwargs)
        self.template = template
        self.params = params or {}

    @classmethod
    def of(cls, reason: tuple[str, dict], **kwargs) -> "UnreadableDecision":
        """The exception for a reason given as (template, params)."""
        template, params = reason
        return cls(template % params if params else template, template=template, params=params, **kwargs)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


FEEL_OUTPUT_LITERALS = {"true": "True", "false": "False", "null": "None"}
DMN_NAMESPACES = ("http://www.omg.org/spec/DMN/20151101/dmn.xsd", "http://www.omg.org/spec/DMN/20180521/MODEL/",
                  "https://www.omg.org/spec/DMN/20191111/MODEL/")


def dmn_shape_problem(root) -> tuple[tuple[str, dict], object] | None:
    """What Spiff's DMN reader would trip over (it runs one decision table per file), with the element to blame:
    ((template, params), element)."""
    namespace = etree.QName(root).namespace or ""
    if etree.QName(root).localname == "definitions" and "/spec/DMN/" in namespace and namespace not in DMN_NAMESPACES:
        return (N_("this DMN version (%(namespace)s) is not supported; save the file as DMN 1.3"),
                {"namespace": namespace}), root
    if namespace not in DMN_NAMESPACES or etree.QName(root).localname != "definitions":
        return (N_("not a DMN file: the root element is %(root)s in namespace '%(namespace)s' (DMN 1.1, 1.2 or 1.3 "
                   "definitions expected)"), {"root": etree.QName(root).localname, "namespace": namespace}), root
    ns = {"dmn": namespace}
    decisions = root.findall("dmn:decision", ns)
    if not decisions:
        return (N_("the file holds no decision; this engine runs exactly one decision (a decision table) per DMN "
                   "file: put each decision in a file of its own"), {}), root
    if len(decisions) != 1:
        return (N_("the file holds %(count)s decisions; this engine runs exactly one decision (a decision table) "
                   "per DMN file: put each decision in a file of its own"), {"count": len(decisions)}), decisions[1]
    tables = decisions[0].findall("dmn:decisionTable", ns)
    if len(tables) != 1:
        kinds = ", ".join(sorted({etree.QName(c).localname for c in decisions[0] if isinstance(c.tag, str)}))
        return (N_("decision '%(decision)s' has no decision table (%(kinds)s); this engine runs decision tables "
                   "only"), {"decision": decisions[0].get("id"), "kinds": kinds}), decisions[0]
    table = tables[0]
    inputs, outputs = table.findall("dmn:input", ns), table.findall("dmn:output", ns)
    for element in [decisions[0], table, *table.iter()]:
        name = etree.QName(element).localname if isinstance(element.tag, str) else ""
        if name in ("decision", "input", "output", "rule", "inputEntry", "outputEntry") and not element.get("id"):
            return (N_("the %(name)s element has no id; every %(name)s needs one"), {"name": name}), element
    for rule in table.findall("dmn:rule", ns):
        for what, columns in (("inputEntry", inputs), ("outputEntry", outputs)):
            if len(rule.findall(f"dmn:{what}", ns)) != len(columns):
                return (N_("rule '%(rule)s' has %(count)s %(what)s cells for %(columns)s columns"),
                        {"rule": rule.get("id"), "count": len(rule.findall(f"dmn:{what}", ns)), "what": what,
                         "columns": len(columns)}), rule
    return None


def dmn_refusal(exc: Exception) -> tuple[str, dict]:
    """Why Spiff could not read a DMN file, as (template, params); Spiff's own text stays English."""
    if "DMNDI" in str(exc) or "schema" in type(exc).__name__.lower():
        return N_("this DMN version cannot be checked; save the file as DMN 1.3 (as dmn-js and Camunda Modeler "
                  "do)"), {}
    return (N_("not a decision table this engine can run: it needs one decision with one decision table, every "
               "element with an id, in the DMN 1.1 or 1.3 namespace (%(error)s)"),
            {"error": f"{type(exc).__name__}: {exc}"})


def located(exc: ValidationException, root, filename: str | None) -> ValidationException:
    """Spiff leaves DMN errors without a line (it reads `line_number`, lxml says `sourceline`): find the element."""
    if type(exc) is ValidationException:  # Spiff's own: said plainly, without its trailing '. '
        exc = UnreadableDecision(str(exc.args[0] if exc.args else "").strip(), file_name=exc.file_name,
                                 id=getattr(exc, "id", ""), line_number=getattr(exc, "line_number", ""),
                                 tag=getattr(exc, "tag", ""), name=getattr(exc, "name", ""))
    exc.file_name = exc.file_name or filename or ""
    if not exc.line_number and root is not None:
        found = root.xpath("//*[@id=$id]", id=exc.id) if getattr(exc, "id", "") else []
        exc.id = exc.id or (root.xpath("//*[local-name()='decision']/@id") or [""])[0]
        exc.line_number = (found[0] if found else root).sourceline
    return exc


def read_dmn(add, node, filename: str | None, strict: bool = True) -> None:
    """Spiff's DMN reading (`add`), with whatever it trips over reported as a ValidationException on the file.
    `strict` (validation) also refuses the shapes Spiff would trip over only later, or in a decision no process
    calls; a version deployed before is read as it was."""
    try:
        unreadable = dmn_shape_problem(node) if strict else None
        if unreadable:
            reason, element = unreadable
            raise UnreadableDecision.of(reason, file_name=filename, id=element.get("id") or "",
                                        line_number=element.sourceline)
        add(node, filename=filename)
    except ValidationException as exc:
        raise located(exc, node, filename) from None
    except Exception as exc:  # noqa: BLE001 - Spiff raises IndexError, XPathEvalError... on DMN it cannot read
        raise located(UnreadableDecision.of(dmn_refusal(exc), file_name=filename), node, filename) from None


def feel_engine(build, dmn_parser, unreadable: set[str], decision_ref: str, node) -> FeelDecisionEngine:
    """The decision's table from Spiff (`build`, which parses it lazily), evaluated with FEEL input entries."""
    try:
        table = build(decision_ref, node).decision_table
    except ValidationException as exc:
        unreadable.add(decision_ref)
        raise located(exc, getattr(dmn_parser, "node", None), getattr(dmn_parser, "filename", None)) from None
    except Exception as exc:  # noqa: BLE001
        unreadable.add(decision_ref)
        raise located(UnreadableDecision.of(dmn_refusal(exc), file_name=dmn_parser.filename),
                      dmn_parser.node, dmn_parser.filename) from None
    for rule in table.rules:  # dmn-js writes FEEL's true/false/null in output cells too
        for out in rule.outputEntries:
            out.text = FEEL_OUTPUT_LITERALS.get((out.text or "").strip(), out.text)
    return FeelDecisionEngine(table)
