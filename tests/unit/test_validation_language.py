"""A Chinese risk manager reads every deployment problem in Chinese: the message is a template filled in her
language, the English text stays for logs and English readers."""
import json

from engine.i18n import translations
from engine.runtime.parser import SourceFile
from engine.runtime.validation import catalog_problems, untranslated, validate_files
from policies import default_policy

from tests.unit.test_validation import FORM, GOOD, TEMPLATE, files

POLICY = default_policy()
ZH = translations("zh_CN").gettext


def problems(source_files):
    _bundle, found = validate_files(source_files, POLICY)
    return found


def test_a_task_outside_the_policy_is_explained_in_chinese_with_its_codes_kept():
    found = problems(files(lane="teller", duty='<spiffworkflow:property name="duty" value="dance" />'))
    texts = [p.text(ZH) for p in found]
    assert "人工任务 'Check the file' 位于泳道 'teller'，该泳道不是已知角色" in texts[0], texts
    assert any("职责 'dance' 未在制度 2026.3 中定义" in t for t in texts), texts
    assert [p.message for p in found][0].startswith("user task 'Check the file' is in lane 'teller'")


def test_a_refused_script_and_an_unknown_call_are_explained_in_chinese():
    [refused] = problems(files(script="import os"))
    assert refused.text(ZH).startswith("脚本第 1 行被拒绝：")  # the evaluator's own reason stays English
    assert refused.message == "script line 1 is refused: imports are not allowed"
    [unknown] = problems(files(condition="lookup(ok)"))
    assert unknown.text(ZH).startswith("网关条件 'lookup(ok)' 调用的函数 'lookup' 在运行时不存在"), unknown.text(ZH)


def test_an_element_the_engine_does_not_run_is_explained_in_chinese():
    xml = TEMPLATE.format(**GOOD).replace("bpmn:scriptTask", "bpmn:serviceTask")
    [found] = problems([SourceFile("tiny.bpmn", xml.encode()), SourceFile("forms/check.json", FORM)])
    assert found.text(ZH).startswith("不支持服务任务（serviceTask）'Calculate'：引擎不调用任何外部服务")
    assert "is not supported" not in found.text(ZH)


def test_unreadable_files_are_explained_in_chinese():
    broken = TEMPLATE.format(**GOOD).replace("</bpmn:process>", "")
    found = problems([SourceFile("broken.bpmn", broken.encode()), SourceFile("forms/bad.json", b"[1]")])
    texts = [p.text(ZH) for p in found]
    assert texts[0].startswith("XML 格式不正确："), texts
    assert texts[1].startswith("内容是 JSON list；表单须为一个 JSON 对象"), texts


def test_catalog_problems_and_missing_english_are_explained_in_chinese():
    bpmn = TEMPLATE.format(**GOOD).encode()
    catalog = json.dumps({"elements": {"nowhere": {"name": "Nowhere"}}}).encode()
    model_files = [SourceFile("tiny.bpmn", bpmn), SourceFile("tiny.en.json", catalog)]
    [stray] = catalog_problems(model_files)
    assert stray.text(ZH) == "翻译了元素 'nowhere'，但 tiny.bpmn 中没有该元素（或该元素没有名称）"
    warnings = [p.text(ZH) for p in untranslated(model_files)]
    assert "'Check the file' 缺少英文名称" in warnings, warnings


def test_the_reason_a_script_is_refused_reads_in_chinese_too():
    from engine.i18n import translations
    from engine.runtime.validation import validate_files
    from policies import default_policy
    from engine.runtime.parser import SourceFile
    from engine.bootstrap import BUNDLED_BPMN

    files = [SourceFile(p.name, p.read_bytes()) for p in sorted(BUNDLED_BPMN.glob("*.bpmn"))
             if p.name == "origination.bpmn"]
    text = files[0].data.decode("utf-8")
    assert "<bpmn:script>" in text
    files[0] = SourceFile("origination.bpmn", text.replace("<bpmn:script>", "<bpmn:script>import os\n", 1).encode())
    dmns = [SourceFile(p.name, p.read_bytes()) for p in sorted(BUNDLED_BPMN.glob("*.dmn"))]
    forms = [SourceFile(f"forms/{p.name}", p.read_bytes()) for p in sorted((BUNDLED_BPMN / "forms").glob("*.json"))]
    _bundle, problems = validate_files(files + dmns + forms, default_policy())
    [refused] = [p for p in problems if "import" in p.message]
    chinese = refused.text(translations("zh_CN").gettext)
    assert "import" in refused.message and "imports are not allowed" not in chinese, chinese
