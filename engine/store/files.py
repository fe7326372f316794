"""Where the bytes of attached documents live: a small interface, so a bank can plug in its object store."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol


class DocumentStore(Protocol):
    """Bytes by key. Keys are derived from the content's SHA-256, so writing the same key twice is harmless."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...  # FileNotFoundError when there is nothing under the key

    def delete(self, key: str) -> None: ...


def content_key(sha256: str) -> str:
    """Content-addressed: two folders of two hex digits, then the digest (keeps folders small)."""
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


class FileStore:
    """A folder on disk (by default in the instance folder). Writes go to a temporary file renamed into place,
    so a reader never sees half a file; a file left by a rolled-back upload is only an unreferenced copy."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"document key outside the store: {key!r}")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
