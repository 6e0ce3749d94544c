"""Model artefacts encrypted at rest: a random key per file, wrapped by the master key.

File format (all integers big-endian):

    header  = MAGIC (8 bytes) | nonce prefix (8 random bytes) | chunk size (4 bytes)
    chunk i = AES-256-GCM(file key, nonce = prefix | i (4 bytes), plaintext[i], ad) -> ciphertext | tag

Every chunk holds `chunk size` plaintext bytes except the last, which holds the rest (possibly
none: an empty file is one empty final chunk). The associated data of chunk i is the header plus
i and a final-chunk flag, so a reordered, dropped, duplicated or appended chunk, a truncated file
and a changed header all fail authentication instead of decrypting to something else.

The file key is wrapped with AES-256-GCM under `settings.ARTEFACT_MASTER_KEY` (base64 of 32 bytes)
and stored beside the version as text; the master key never touches the storage.

Files stream through: encryption goes chunk by chunk into a temporary file that is then handed to
the default storage, and decryption yields one verified chunk at a time, so memory stays at about
one chunk whatever the artefact's size.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import struct
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files import File
from django.core.files.storage import default_storage

from marketplace.errors import MarketplaceError

CHUNK_SIZE = 1024 * 1024  # plaintext bytes per chunk (1 MiB)
MAX_CHUNK_SIZE = 64 * 1024 * 1024  # a header claiming more is corrupt, not a reason to allocate it
MAGIC = b"AGRART\x00\x01"  # format name and version 1
NONCE_PREFIX_BYTES = 8
TAG_BYTES = 16
HEADER = struct.Struct(f">{len(MAGIC)}s{NONCE_PREFIX_BYTES}sI")
CHUNK_AD = struct.Struct(">IB")  # chunk index, final flag
MAX_CHUNKS = 2**32  # the nonce's counter is 4 bytes
WRAP_VERSION = "v1"
WRAP_AD = b"agora artefact file key v1"
KEY_BYTES = 32
WRAP_NONCE_BYTES = 12
STORAGE_DIR = "artefacts"
MAX_NAME_LENGTH = 255  # ListingVersion.artefact_name


class ArtefactUnreadable(MarketplaceError):
    """The stored artefact or its wrapped key failed authentication: tampered with, truncated, or
    encrypted under another master key. Nothing it would have yielded can be trusted."""

    code = "artefact_unreadable"
    status_code = 500
    default_message = "The stored model file could not be decrypted and verified."


@dataclass(frozen=True)
class EncryptedArtefact:
    path: str  # name in the default storage, e.g. "artefacts/<uuid>.enc"
    wrapped_key: str  # the file key, wrapped by the master key (text, for ListingVersion.wrapped_key)
    sha256: str  # hex digest of the plaintext
    size: int  # plaintext bytes
    name: str  # the uploaded file's base name, for ListingVersion.artefact_name (never in the path)


def _master_key() -> bytes:
    """The 32-byte master key from settings; ImproperlyConfigured when it is not base64 of 32 bytes."""
    try:
        key = base64.b64decode(settings.ARTEFACT_MASTER_KEY, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured("ARTEFACT_MASTER_KEY must be base64 of 32 bytes.") from exc
    if len(key) != KEY_BYTES:
        raise ImproperlyConfigured("ARTEFACT_MASTER_KEY must be base64 of exactly 32 bytes.")
    return key


def wrap_key(file_key: bytes) -> str:
    """The file key encrypted under the master key, as "v1:<base64 of nonce | ciphertext | tag>"."""
    nonce = os.urandom(WRAP_NONCE_BYTES)
    sealed = AESGCM(_master_key()).encrypt(nonce, file_key, WRAP_AD)
    return f"{WRAP_VERSION}:{base64.b64encode(nonce + sealed).decode('ascii')}"


def unwrap_key(wrapped_key: str) -> bytes:
    """The file key back from `wrap_key`'s text. Raises ArtefactUnreadable (wrong master key,
    altered or malformed text)."""
    version, _, payload = wrapped_key.partition(":")
    try:
        if version != WRAP_VERSION:
            raise ValueError(version)
        raw = base64.b64decode(payload, validate=True)
        file_key = AESGCM(_master_key()).decrypt(raw[:WRAP_NONCE_BYTES], raw[WRAP_NONCE_BYTES:], WRAP_AD)
    except (ValueError, binascii.Error, InvalidTag) as exc:
        raise ArtefactUnreadable("The artefact's key could not be unwrapped with the master key.") from exc
    if len(file_key) != KEY_BYTES:
        raise ArtefactUnreadable("The artefact's key has the wrong length.")
    return file_key


def _read_exact(stream: IO[bytes] | File[Any], size: int) -> bytes:
    """Up to `size` bytes; fewer only at the end of the stream (reads may return short)."""
    parts: list[bytes] = []
    missing = size
    while missing > 0:
        part = stream.read(missing)
        if not part:
            break
        parts.append(part)
        missing -= len(part)
    return b"".join(parts)


def _chunk_ad(header: bytes, index: int, *, final: bool) -> bytes:
    return header + CHUNK_AD.pack(index, 1 if final else 0)


def _rewind(source: File[Any]) -> None:
    if source.closed:
        source.open("rb")
    # A stream that cannot seek is read from where it is, i.e. its start.
    with contextlib.suppress(AttributeError, OSError, ValueError):
        source.seek(0)


def artefact_display_name(name: str) -> str:
    """The uploaded file's base name, without any client-side folders, at most 255 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base[-MAX_NAME_LENGTH:] or "artefact"


# Model formats a version's file may be in, by name suffix: ONNX, PyTorch (TorchScript or state
# dict), safetensors, GGUF/GGML, TensorRT plans and engines, Keras/HDF5, TensorFlow (SavedModel or
# frozen graph, usually zipped), TFLite, checkpoints, raw weights (.bin), NumPy archives, and a
# Triton model repository packed as .zip or .tar(.gz). Anything else (a web page, a script, an
# executable) is refused: buyers download these files, and a creator must not be able to hand them
# something else under a model's name.
ARTEFACT_SUFFIXES = (
    ".onnx",
    ".pt",
    ".pth",
    ".safetensors",
    ".gguf",
    ".ggml",
    ".plan",
    ".engine",
    ".h5",
    ".keras",
    ".pb",
    ".tflite",
    ".ckpt",
    ".bin",
    ".npz",
    ".zip",
    ".tar",
    ".tar.gz",
    ".tgz",
)
# The start of a document a browser would render or run, whatever the file is called.
_MARKUP_STARTS = (b"<!doctype", b"<html", b"<head", b"<body", b"<script", b"<svg", b"<?xml", b"<iframe")
_SNIFF_BYTES = 1024


def _size_text(size: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:g} {unit}"
    return f"{size} bytes"


def artefact_upload_problems(upload: File[Any]) -> list[str]:
    """Why an uploaded file cannot be a model artefact (empty list: it can): larger than
    settings.ARTEFACT_MAX_BYTES, a name without a model format's suffix, or content that is a web
    page or markup whatever its name. Reads the first KiB only; no side effects."""
    problems = []
    limit = int(settings.ARTEFACT_MAX_BYTES)
    if upload.size is not None and upload.size > limit:
        problems.append(f"The file is larger than the {_size_text(limit)} limit for model files.")
    name = artefact_display_name(upload.name or "").lower()
    if not name.endswith(ARTEFACT_SUFFIXES):
        problems.append("Upload a model file in a supported format: " + ", ".join(ARTEFACT_SUFFIXES) + ".")
    _rewind(upload)
    head = upload.read(_SNIFF_BYTES)
    _rewind(upload)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower() if isinstance(head, bytes) else b""
    if text.startswith(_MARKUP_STARTS) or b"<script" in text:
        problems.append("This file is a web page or markup (HTML, SVG, XML), not a model.")
    return problems


def encrypt_to_storage(*, source: File[Any], name: str, chunk_size: int = CHUNK_SIZE) -> EncryptedArtefact:
    """Encrypt `source` under a new file key and save it to the default storage as
    "artefacts/<uuid>.enc" (`name`, the uploaded file's name, is returned cleaned and never used in
    the path). Side effects: writes one file to storage. Raises ImproperlyConfigured for a bad
    master key, ValueError for a chunk size out of range."""
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be between 1 and {MAX_CHUNK_SIZE} bytes.")
    file_key = AESGCM.generate_key(bit_length=256)
    wrapped = wrap_key(file_key)
    aead = AESGCM(file_key)
    prefix = os.urandom(NONCE_PREFIX_BYTES)
    header = HEADER.pack(MAGIC, prefix, chunk_size)
    digest = hashlib.sha256()
    size = 0
    _rewind(source)
    # A temporary file rather than a streaming upload: any storage backend accepts a plain file,
    # and the ciphertext never sits in memory.
    with tempfile.TemporaryFile() as sealed:
        sealed.write(header)
        index = 0
        chunk = _read_exact(source, chunk_size)
        while True:
            # Look one chunk ahead: the final flag is only known once the next read comes back empty.
            following = _read_exact(source, chunk_size) if len(chunk) == chunk_size else b""
            final = not following
            if index >= MAX_CHUNKS:
                raise ValueError("The file has too many chunks for this chunk size.")
            digest.update(chunk)
            size += len(chunk)
            nonce = prefix + struct.pack(">I", index)
            sealed.write(aead.encrypt(nonce, chunk, _chunk_ad(header, index, final=final)))
            if final:
                break
            chunk = following
            index += 1
        sealed.seek(0)
        path = default_storage.save(f"{STORAGE_DIR}/{uuid.uuid4().hex}.enc", File(sealed))
    return EncryptedArtefact(
        path=path,
        wrapped_key=wrapped,
        sha256=digest.hexdigest(),
        size=size,
        name=artefact_display_name(name),
    )


def iter_plaintext(*, path: str, wrapped_key: str, chunk_size: int | None = None) -> Iterator[bytes]:
    """The artefact's plaintext, one verified chunk at a time. `chunk_size`, when given, must be
    the one the file was written with (the file's authenticated header records it). Raises
    ArtefactUnreadable at the first chunk that fails verification (tampered, truncated, reordered,
    extended, or another master key), having yielded only verified chunks before it. No side effects."""
    aead = AESGCM(unwrap_key(wrapped_key))
    with default_storage.open(path, "rb") as stored:
        header = _read_exact(stored, HEADER.size)
        if len(header) != HEADER.size:
            raise ArtefactUnreadable("The artefact is shorter than its header.")
        magic, prefix, recorded_size = HEADER.unpack(header)
        if magic != MAGIC or not 0 < recorded_size <= MAX_CHUNK_SIZE:
            raise ArtefactUnreadable("The artefact's header is not one this version can read.")
        if chunk_size is not None and chunk_size != recorded_size:
            raise ArtefactUnreadable("The artefact was written with another chunk size.")
        sealed_size = recorded_size + TAG_BYTES
        index = 0
        chunk = _read_exact(stored, sealed_size)
        while True:
            following = _read_exact(stored, sealed_size) if len(chunk) == sealed_size else b""
            final = not following
            if index >= MAX_CHUNKS:
                raise ArtefactUnreadable("The artefact has more chunks than the format allows.")
            nonce = prefix + struct.pack(">I", index)
            try:
                plaintext = aead.decrypt(nonce, chunk, _chunk_ad(header, index, final=final))
            except (InvalidTag, ValueError) as exc:
                raise ArtefactUnreadable(
                    f"Chunk {index} of the artefact failed verification; the file was altered or cut short.",
                    detail={"chunk": index},
                ) from exc
            yield plaintext
            if final:
                return
            chunk = following
            index += 1


def artefact_check(*, path: str, wrapped_key: str) -> None:
    """Verify that the artefact's header and first chunk decrypt (ArtefactUnreadable otherwise), so
    a download is refused before anything is counted for a file that cannot be served."""
    next(iter_plaintext(path=path, wrapped_key=wrapped_key), None)


def artefact_delete(*, path: str) -> None:
    """Remove a stored artefact (e.g. after the version that referenced it was not saved).
    Side effects: deletes the file from the default storage; nothing when it is absent."""
    if path:
        default_storage.delete(path)
