"""What a document may be: names as people's computers have them, types by extension and leading bytes, checklists."""
from __future__ import annotations

import pytest

from engine.documents import checklist_of, checklist_problems, clean_filename, file_type
from engine.errors import InvalidInput
from engine.simulation.documents import sample_pdf
from engine.store.files import FileStore, content_key


def test_filenames_lose_folders_and_control_characters_but_keep_chinese():
    assert clean_filename("C:\\Users\\王\\财务报表 2025.pdf") == "财务报表 2025.pdf"
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("a\x00b\r\n.pdf") == "ab.pdf"
    long = clean_filename("x" * 300 + ".pdf")
    assert len(long) == 200 and long.endswith(".pdf")


def test_the_sample_pdf_is_a_pdf_and_text_in_gb18030_is_text():
    assert file_type("a.pdf", sample_pdf("Balance sheet")) == "application/pdf"
    assert file_type("a.csv", "科目,金额".encode("gb18030")) == "text/csv"
    with pytest.raises(InvalidInput):
        file_type("a.txt", b"text\x00with a NUL")


def test_a_checklist_declaration_is_read_and_checked():
    form = {"x-documents": [{"kind": "financial_statements", "title": "FS", "x-title-zh": "财务报表", "required": True},
                            {"kind": "photos", "title": "Photos"}]}
    assert [(e.kind, e.title_zh, e.required) for e in checklist_of(form)] == [
        ("financial_statements", "财务报表", True), ("photos", None, False)]
    assert checklist_problems(form["x-documents"]) == []
    assert checklist_problems({"kind": "x"}) == ["x-documents must be a list of {kind, title, x-title-zh, required}"]
    problems = checklist_problems([{"kind": "a", "title": "A", "colour": "red"}, {"kind": "a", "title": ""}])
    assert problems == ["x-documents[0]: unknown key(s) colour; known: description, kind, required, title, "
                        "x-description-zh, x-title-zh", "x-documents[1]: kind 'a' is listed twice",
                        "x-documents[1]: title must be a non-empty text"]


def test_the_file_store_keeps_bytes_by_content_key_and_stays_in_its_folder(tmp_path):
    store = FileStore(tmp_path)
    key = content_key("ab" * 32)
    store.put(key, b"one")
    store.put(key, b"one")  # the same content twice is harmless
    assert store.get(key) == b"one" and (tmp_path / "ab" / "ab" / ("ab" * 32)).exists()
    store.delete(key)
    with pytest.raises(FileNotFoundError):
        store.get(key)
    with pytest.raises(ValueError):
        store.get("../outside")
