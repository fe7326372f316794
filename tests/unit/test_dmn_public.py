"""DMN files from public test suites (tests/data/dmn_public/README.md): each is refused or accepted with messages
that name file and line, never with a traceback."""
from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from lxml import etree

from engine.i18n import translations
from engine.roles import LANE_ROLES
from engine.runtime.dmn_files import UnreadableDecision, read_dmn
from engine.runtime.decisions import decision_problems
from engine.runtime.parser import SourceFile
from engine.runtime.validation import Problem, untranslated, validate_files
from engine.views import filled
from policies.loader import default_policy
from tests.unit.dmn_support import caller_for

PUBLIC = Path(__file__).resolve().parents[1] / "data" / "dmn_public"
FILES = sorted(PUBLIC.rglob("*.dmn"))
NO_PROCESS = "no executable process found"


def problems_of(files: list[SourceFile]) -> list[Problem]:
    policy = default_policy()
    takes_policy = "policy" in inspect.signature(validate_files).parameters
    bundle, problems = validate_files(files, policy if takes_policy else LANE_ROLES)
    untranslated(files)
    return problems + (decision_problems(bundle, policy) if bundle else [])


def test_the_collection_is_large_enough():
    assert len(FILES) >= 12


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.parametrize("with_caller", [False, True], ids=["alone", "called"])
def test_a_public_dmn_file_gives_problems_never_a_traceback(path, with_caller):
    dmn = SourceFile(path.name, path.read_bytes())
    files = [dmn, caller_for(dmn.data)] if with_caller and b"decision " in dmn.data else [dmn]
    problems = problems_of(files)
    assert all(isinstance(p, Problem) and p.file in {f.name for f in files} for p in problems), problems
    located = [p for p in problems if p.message != NO_PROCESS]
    assert all(p.line for p in located), [str(p) for p in located if not p.line]
    assert not any("Traceback" in p.message or "Error(" in p.message for p in problems), problems


@pytest.mark.parametrize("name, expected", [
    ("NoDecision.dmn", "NoDecision.dmn, line 5, element 'definitions': the file holds no decision"),
    ("RequiredDecision.dmn", "RequiredDecision.dmn, line 24, element 'buyComputer': the file holds 3 decisions"),
    ("DecisionWithLiteralExpression.dmn", "decision 'decision' has no decision table (literalExpression, variable)"),
    ("MissingIds.missingRuleId.dmn", "MissingIds.missingRuleId.dmn, line 12: the rule element has no id"),
    ("Imported_Model.dmn", "this DMN version (https://www.omg.org/spec/DMN/20230324/MODEL/) is not supported"),
    ("date_decision.dmn", "row 2, input 'IsItTrue': FEEL expression 'datetime.datetime(2017,11,1,10)' is not "
                          "supported"),
    ("string_decision.dmn", "input 'Gender' has no input expression"),
])
def test_what_a_designer_reads_about_a_file_the_engine_cannot_run(name, expected):
    path = next(p for p in FILES if p.name == name)
    dmn = SourceFile(path.name, path.read_bytes())
    assert any(expected in str(p) for p in problems_of([dmn, caller_for(dmn.data)] if b"decision " in dmn.data
                                                       else [dmn])), [str(p) for p in problems_of([dmn])]


def test_a_file_of_several_decisions_is_refused_in_the_reader_s_language():
    path = next(p for p in FILES if p.name == "RequiredDecision.dmn")
    with pytest.raises(UnreadableDecision) as refused:
        read_dmn(lambda node, filename: None, etree.fromstring(path.read_bytes()), path.name)
    exc = refused.value
    assert "the file holds 3 decisions" in str(exc)
    text = filled(exc.template, exc.params.items(), str(exc), translations("zh_CN").gettext)
    assert text.startswith("文件中有 3 个决策；本引擎每个 DMN 文件只运行一个决策（一张决策表）"), text


@pytest.mark.parametrize("name", ["Example.dmn", "FeelTest.dmn", "collect_hit.dmn"])
def test_a_public_table_in_plain_feel_is_accepted(name):
    path = next(p for p in FILES if p.name == name)
    dmn = SourceFile(path.name, path.read_bytes())
    assert problems_of([dmn, caller_for(dmn.data)]) == []


def test_a_version_deployed_before_with_an_uncalled_decision_of_another_shape_still_loads():
    """Validation refuses a file with several decisions; a process deployed earlier beside one keeps running."""
    from engine.runtime.parser import parse_bundle
    from tests.unit.test_feel import BUNDLED
    several = next(p for p in FILES if p.name == "RequiredDecision.dmn")
    files = [SourceFile(p.name, p.read_bytes()) for p in BUNDLED.glob("*.*") if p.suffix in (".bpmn", ".dmn")]
    files.append(SourceFile("extra.dmn", several.read_bytes()))
    assert any("holds 3 decisions" in str(p) for p in problems_of(files))
    assert parse_bundle(files, xsd_validate=False).parser.get_spec("origination")
