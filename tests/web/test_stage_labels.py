"""Every stage a bundled process sets, and every rule the engine acts as, has words on the pages."""
import re
from pathlib import Path

from engine.bootstrap import BUNDLED_BPMN
from webapp.templating import STAGE_LABELS, actor_label

STAGE = re.compile(r'<spiffworkflow:property name="stage" value="([a-z_]+)"')


def test_every_stage_a_bundled_process_sets_has_a_label():
    stages = {m for path in Path(BUNDLED_BPMN).glob("*.bpmn") for m in STAGE.findall(path.read_text("utf-8"))}
    assert stages and stages <= set(STAGE_LABELS), sorted(stages - set(STAGE_LABELS))


def test_the_engines_rules_read_as_words_and_people_as_recorded(app):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert actor_label("system:servicing") not in ("", "system:servicing")
        assert actor_label("system:anything") != "system:anything"
        assert actor_label("cm_wang") == "cm_wang"
