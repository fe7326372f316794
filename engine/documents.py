"""What a document on a credit file may be: the kinds a checklist names, the file types accepted (by extension and by
their leading bytes), and the checklist a task form declares under `x-documents`."""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from policies.model import N_

from engine.errors import InvalidInput

# Kinds people pick when they attach a file; a checklist may name others (its own title then labels them).
KINDS = {
    "financial_statements": N_("Financial statements"),
    "site_visit": N_("Site-visit record or photos"),
    "contract_scan": N_("Signed contract (scan)"),
    "collateral_certificate": N_("Collateral certificate"),
    "inspection_record": N_("Inspection record"),
    "other": N_("Other document"),
}
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
CHECKLIST_KEYS = {"kind", "title", "x-title-zh", "required", "description", "x-description-zh"}

# extension -> content type; `_sniffed` says which leading bytes each must start with.
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "txt": "text/plain",
    "csv": "text/csv",
}
ALLOWED = "PDF, PNG, JPEG, DOCX, XLSX, TXT, CSV"
MAX_NAME = 200


@dataclass(frozen=True)
class ChecklistEntry:
    """One document a task's checklist asks for."""

    kind: str
    title: str
    title_zh: str | None
    required: bool


def checklist_of(form: dict) -> tuple[ChecklistEntry, ...]:
    """The documents a task form declares (deployment has checked the declaration)."""
    return tuple(ChecklistEntry(e["kind"], e.get("title") or e["kind"], e.get("x-title-zh"), bool(e.get("required")))
                 for e in form.get("x-documents", []) or [])


def checklist_problems(declared) -> list[str]:
    """What is wrong with an `x-documents` declaration (empty when it is fine)."""
    if not isinstance(declared, list):
        return ["x-documents must be a list of {kind, title, x-title-zh, required}"]
    problems, seen = [], set()
    for index, entry in enumerate(declared):
        where = f"x-documents[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where} must be an object with kind, title, x-title-zh and required")
            continue
        kind = entry.get("kind")
        if not isinstance(kind, str) or not KIND_PATTERN.match(kind):
            problems.append(f"{where}: kind {kind!r} must be lower-case letters, digits and _ (at most 40)")
        elif kind in seen:
            problems.append(f"{where}: kind '{kind}' is listed twice")
        seen.add(kind)
        for key in ("title", "x-title-zh"):
            if key in entry and (not isinstance(entry[key], str) or not entry[key].strip()):
                problems.append(f"{where}: {key} must be a non-empty text")
        if not isinstance(entry.get("title"), str):
            problems.append(f"{where}: give a title (what people see in the checklist)")
        if "required" in entry and not isinstance(entry["required"], bool):
            problems.append(f"{where}: required must be true or false")
        unknown = sorted(set(entry) - CHECKLIST_KEYS)
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(CHECKLIST_KEYS))}")
    return problems


def clean_filename(name: str) -> str:
    """The name as the person's computer had it, without folders or control characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(c for c in base if c.isprintable()).strip().strip(".")
    if len(base) > MAX_NAME:
        stem, dot, ext = base.rpartition(".")
        base = (stem[:MAX_NAME - len(ext) - 1] + "." + ext) if dot and len(ext) < 10 else base[:MAX_NAME]
    return base


def file_type(filename: str, data: bytes) -> str:
    """The content type of an accepted file; refuses (InvalidInput) a type not on the list, or bytes that are not
    what the extension says."""
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    if extension not in CONTENT_TYPES:
        raise InvalidInput("Files of this type are not accepted; allowed: %(allowed)s.", allowed=ALLOWED)
    if not _sniffed(extension, data):
        raise InvalidInput("The file's content is not a %(type)s file; allowed: %(allowed)s.",
                           type=extension.upper(), allowed=ALLOWED)
    return CONTENT_TYPES[extension]


def _sniffed(extension: str, data: bytes) -> bool:
    if extension == "pdf":
        return data.startswith(b"%PDF-")
    if extension == "png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if extension in ("jpg", "jpeg"):
        return data.startswith(b"\xff\xd8\xff")
    if extension in ("docx", "xlsx"):
        if not data.startswith(b"PK\x03\x04"):
            return False
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except (zipfile.BadZipFile, ValueError):
            return False
        return ("word/document.xml" if extension == "docx" else "xl/workbook.xml") in names
    return b"\x00" not in data[:65536] and _text(data)


def _text(data: bytes) -> bool:
    """Plain text in UTF-8 or GB18030 (what Excel in China writes CSV in)."""
    for encoding in ("utf-8", "gb18030"):
        try:
            data.decode(encoding)
            return True
        except UnicodeDecodeError:
            continue
    return False
