"""Whatever a file holds, validation answers with problems naming the file, never with a traceback."""
from __future__ import annotations

import random
import re

import pytest

from engine.bootstrap import BUNDLED_BPMN
from engine.runtime.parser import SourceFile
from engine.runtime.specs import collect_files
from engine.runtime.validation import validate_files
from policies import default_policy

POLICY = default_policy()
BUNDLED = collect_files([BUNDLED_BPMN])
NAMES = {f.name for f in BUNDLED}
BPMN_NS = b"http://www.omg.org/spec/BPMN/20100524/MODEL"


def data_of(name: str) -> bytes:
    return next(f.data for f in BUNDLED if f.name == name)


def without(data: bytes, attribute: str, count: int = 0) -> bytes:
    """The file with an attribute removed (every occurrence, or the first `count`)."""
    return re.sub(rb'\s' + attribute.encode() + rb'="[^"]*"', b"", data, count=count)


def problems_with(name: str, data: bytes) -> list:
    files = [f if f.name != name else SourceFile(name, data) for f in BUNDLED]
    _bundle, problems = validate_files(files, POLICY)
    return problems


BROKEN = [
    ("origination.bpmn", "an empty file", b""),
    ("approval_tier.dmn", "an empty file", b""),
    ("origination.bpmn", "cut in half", data_of("origination.bpmn")[:len(data_of("origination.bpmn")) // 2]),
    ("entrusted_payment.dmn", "cut in half", data_of("entrusted_payment.dmn")[:900]),
    ("origination.bpmn", "no sourceRef", without(data_of("origination.bpmn"), "sourceRef", 1)),
    ("post_loan.bpmn", "no targetRef", without(data_of("post_loan.bpmn"), "targetRef")),
    ("risk_warning.bpmn", "no process id",
     re.sub(rb'(<bpmn:process) id="[^"]*"', rb"\1", data_of("risk_warning.bpmn"))),
    ("classification.bpmn", "the wrong namespace", data_of("classification.bpmn").replace(BPMN_NS, b"http://x/y")),
    ("origination.bpmn", "a DMN named .bpmn", data_of("approval_tier.dmn")),
    ("approval_tier.dmn", "a BPMN named .dmn", data_of("origination.bpmn")),
    ("post_loan.bpmn", "a property without value", without(data_of("post_loan.bpmn"), "value", 1)),
    ("origination.bpmn", "properties without names", without(data_of("origination.bpmn"), "name")),
    ("classification_floor.dmn", "no decision", re.sub(rb"<decision [\s\S]*?</decision>", b"",
                                                       data_of("classification_floor.dmn"))),
    ("classification_floor.dmn", "no namespace declaration", without(data_of("classification_floor.dmn"), "xmlns")),
    ("forms/review.schema.json", "an empty form", b""),
    ("forms/review.schema.json", "a form cut short", data_of("forms/review.schema.json")[:300]),
    ("forms/review.schema.json", "a form that is a list", b"[1, 2]"),
    ("forms/review.schema.json", "a form that is a number", b"5"),
    ("forms/review.schema.json", "a form not in UTF-8", '{"é": 1}'.encode("latin-1")),
    ("origination.en.json", "a catalog that is a number", b"5"),
]


@pytest.mark.parametrize("name, what, data", BROKEN, ids=[f"{n}: {w}" for n, w, _d in BROKEN])
def test_a_broken_file_is_refused_with_its_name(name, what, data):
    problems = problems_with(name, data)
    assert problems, what
    assert all(p.file in NAMES and p.message for p in problems), [str(p) for p in problems]
    assert any(p.file == name for p in problems) or name == "approval_tier.dmn", [str(p) for p in problems]


def mutations(seed: int, count: int):
    """Random small damage to the bundled models: a byte changed, an attribute or an element dropped."""
    rnd = random.Random(seed)
    models = sorted(f.name for f in BUNDLED if f.kind in ("bpmn", "dmn"))
    for _ in range(count):
        name = rnd.choice(models)
        data = data_of(name)
        how = rnd.randrange(3)
        if how == 0:
            at = rnd.randrange(len(data))
            yield name, data[:at] + bytes([rnd.randrange(32, 127)]) + data[at + 1:]
        elif how == 1:
            attributes = list(re.finditer(rb'\s[\w:]+="[^"]*"', data))
            cut = rnd.choice(attributes)
            yield name, data[:cut.start()] + data[cut.end():]
        else:
            elements = list(re.finditer(rb"<([\w:]+)[ >][^<]*</\1>", data))
            cut = rnd.choice(elements)
            yield name, data[:cut.start()] + data[cut.end():]


def test_random_damage_never_raises_and_every_problem_names_a_file():
    for name, data in mutations(seed=12, count=40):
        problems = problems_with(name, data)
        assert all(p.file in NAMES for p in problems), (name, [str(p) for p in problems])
