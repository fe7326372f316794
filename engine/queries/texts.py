"""Step and process names in the reader's language, looked up when shown (stored names are only the fallback)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.runtime.catalog import ProcessTexts, TextsCache, locale_language
from engine.store.models import ProcessVersion


@dataclass(frozen=True)
class VersionRef:
    id: int
    process_id: str
    version: int
    sha256: str


def version_refs(session: Session) -> list[VersionRef]:
    """Every deployed version, without its files (a few dozen small rows)."""
    rows = session.execute(select(ProcessVersion.id, ProcessVersion.process_id, ProcessVersion.version,
                                  ProcessVersion.sha256).order_by(ProcessVersion.process_id, ProcessVersion.version))
    return [VersionRef(*row) for row in rows]


@dataclass(frozen=True)
class FieldBook:
    """Form field name -> its JSON Schema, and a choice's value -> a field offering it (for its titles)."""

    fields: dict[str, dict]
    choices: dict[str, dict]

    def get(self, name: str) -> dict | None:
        return self.fields.get(name)


class StepTexts:
    """One reader's view of the deployed processes' words: built per request, the parsed words cached per sha256.

    A name is looked up in the version the row belongs to (when known), then in the newest version of the same
    process (element ids are stable across versions), and else the name stored on the row is shown."""

    def __init__(self, versions: list[VersionRef], cache: TextsCache, read_files: Callable[[int], dict],
                 locale: str | None):
        self.locale = locale_language(locale)
        self._cache, self._read_files = cache, read_files
        self._by_number = {(v.process_id, v.version): v for v in versions}
        self._by_id = {v.id: v for v in versions}
        self._newest: dict[str, VersionRef] = {}
        for v in versions:
            if v.process_id not in self._newest or v.version > self._newest[v.process_id].version:
                self._newest[v.process_id] = v

    def _texts(self, ref: VersionRef) -> ProcessTexts:
        return self._cache.get(ref.sha256, lambda: self._read_files(ref.id))

    def _refs(self, process_id: str | None, version: int | None = None, version_id: int | None = None):
        exact = self._by_id.get(version_id) if version_id else self._by_number.get((process_id, version))
        for ref in (exact, self._newest.get(process_id or (exact.process_id if exact else ""))):
            if ref is not None:
                yield ref

    def _lookup(self, attr: str, process_id, element_id, version=None, version_id=None) -> str | None:
        for ref in self._refs(process_id, version, version_id):
            text = self._texts(ref).text(element_id, self.locale)
            if text is not None and getattr(text, attr):
                return getattr(text, attr)
        return None

    def step(self, process_id: str | None, element_id: str | None, stored: str | None = None,
             version: int | None = None) -> str:
        """A task's or event's name; `stored` (the name recorded on the row) when the diagrams do not know it."""
        if not element_id:
            return stored or ""
        return self._lookup("name", process_id, element_id, version) or stored or element_id

    def process(self, process_id: str, stored: str | None = None, version: int | None = None,
                version_id: int | None = None) -> str:
        return self._lookup("name", process_id, process_id, version, version_id) or stored or process_id

    def instructions(self, process_id: str, element_id: str, stored: str = "", version: int | None = None) -> str:
        return self._lookup("instructions", process_id, element_id, version) or stored

    def fields(self, process_id: str | None = None, version: int | None = None, step: str | None = None) -> FieldBook:
        """Form fields and choices for values recorded by a step: its own form first, then its process's forms,
        then every deployed process's (a post-loan task reads what origination recorded)."""
        book = FieldBook({}, {})
        refs = list(self._refs(process_id, version)) if process_id else []
        texts = [self._texts(ref) for ref in [*refs, *self._newest.values()]]
        for each in texts[:len(refs)] if step else ():
            for name, prop in each.step_fields.get(step, {}).items():
                book.fields.setdefault(name, prop)
                for value in prop.get("enum") or []:
                    if prop.get("x-enum-titles") or prop.get("x-enum-titles-zh"):
                        book.choices.setdefault(str(value), prop)
        for each in texts:
            for name, prop in each.fields.items():
                book.fields.setdefault(name, prop)
            for value, prop in each.choices.items():
                book.choices.setdefault(value, prop)
        return book

    def diagram(self, version_id: int) -> tuple[str, str] | None:
        """(file name, BPMN XML) of a version, its names in the reader's language; None if it has no diagram."""
        ref = self._by_id.get(version_id)
        if ref is None:
            return None
        texts = self._texts(ref)
        name = next(iter(sorted(texts.diagrams)), None)
        return (name, texts.diagram(name, self.locale)) if name else None


def step_texts_in(session: Session, cache: TextsCache, locale: str | None) -> StepTexts:
    """The same words for a reader inside an open session (notifications, e-mails)."""
    def read_files(version_id: int) -> dict:
        return dict(session.get(ProcessVersion, version_id).files)
    return StepTexts(version_refs(session), cache, read_files, locale)
