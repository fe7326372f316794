"""Ed25519 signatures on checkpoints: the bank keeps the private key in a file outside the database, so whoever
can rewrite the database cannot forge a checkpoint that verifies under the bank's public key."""
from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from engine.settings import ConfigurationError

SIGNED_FIELDS = ("event_id", "head_hash", "events", "created_at")
PRIVATE_FILE, PUBLIC_FILE = "checkpoint-signing.pem", "checkpoint-signing.pub.pem"

# Why a checkpoint's signature is refused (English templates; the CLI and the web app translate them).
MESSAGES = {
    "unsigned": "it carries no signature",
    "other_key": "it was signed by another key (fingerprint %(fingerprint)s)",
    "altered": "its signature does not match its content (it was altered after signing, or forged)",
}


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, hex: what a checkpoint names and the pages show."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def signed_bytes(point: dict) -> bytes:
    """The exact text that is signed: the checkpoint's fields, sorted keys, no whitespace."""
    content = {name: point.get(name) for name in SIGNED_FIELDS}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(point: dict, private_key: Ed25519PrivateKey) -> dict:
    """The checkpoint with its signature (base64) and the signing key's fingerprint."""
    signature = base64.b64encode(private_key.sign(signed_bytes(point))).decode("ascii")
    return {**point, "signature": signature, "key_fingerprint": fingerprint(private_key.public_key())}


def refusal(point: dict, public_key: Ed25519PublicKey) -> tuple[str, dict] | None:
    """None when the checkpoint is signed by this key over exactly its content, else (reason code, params)."""
    if not point.get("signature"):
        return "unsigned", {}
    named = str(point.get("key_fingerprint") or "")
    if named != fingerprint(public_key):
        return "other_key", {"fingerprint": named[:16] or "?"}
    try:
        public_key.verify(base64.b64decode(str(point["signature"]), validate=True), signed_bytes(point))
    except (InvalidSignature, ValueError):
        return "altered", {}
    return None


def generate_key_pair(directory: str | Path) -> tuple[Path, Path]:
    """A new key pair in `directory`: the private key readable by its owner only (0600), never overwritten."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    private_path, public_path = folder / PRIVATE_FILE, folder / PUBLIC_FILE
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # FileExistsError: keep the old one
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem)
    os.chmod(private_path, 0o600)  # whatever the umask
    public_path.write_bytes(public_pem)
    return private_path, public_path


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read the checkpoint signing key: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"{path}: not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"{path}: the checkpoint signing key must be an Ed25519 key")
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """A PEM public key, or the public half of a PEM private key."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read the public key: {exc.strerror}") from None
    if b"PRIVATE KEY" in data:
        return load_private_key(path).public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise ConfigurationError(f"{path}: not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigurationError(f"{path}: the checkpoint key must be an Ed25519 key")
    return key
