"""Artefacts at rest: chunked AES-256-GCM under a per-file key wrapped by the master key."""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile

from marketplace.artefacts import (
    HEADER,
    TAG_BYTES,
    ArtefactUnreadable,
    encrypt_to_storage,
    iter_plaintext,
    unwrap_key,
    wrap_key,
)

CHUNK = 64  # small chunks so a few hundred bytes make many of them


def _stored_bytes(path: str) -> bytes:
    with default_storage.open(path, "rb") as handle:
        return handle.read()


def _overwrite(path: str, data: bytes) -> None:
    default_storage.delete(path)
    assert default_storage.save(path, ContentFile(data)) == path


def _decrypt(artefact, **kwargs) -> bytes:
    return b"".join(iter_plaintext(path=artefact.path, wrapped_key=artefact.wrapped_key, **kwargs))


def _sealed_chunks(raw: bytes) -> tuple[bytes, list[bytes]]:
    header, body = raw[: HEADER.size], raw[HEADER.size :]
    size = CHUNK + TAG_BYTES
    return header, [body[i : i + size] for i in range(0, len(body), size)]


@pytest.mark.parametrize("length", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 7 * CHUNK + 13])
def test_round_trip_is_exact_across_chunk_boundaries(media_root, length):
    plaintext = os.urandom(length)
    artefact = encrypt_to_storage(source=ContentFile(plaintext), name="weights.bin", chunk_size=CHUNK)
    assert artefact.path.startswith("artefacts/")
    assert artefact.path.endswith(".enc")
    assert (media_root / artefact.path).is_file()
    assert artefact.size == length
    assert artefact.sha256 == hashlib.sha256(plaintext).hexdigest()
    assert artefact.name == "weights.bin"
    chunks = list(iter_plaintext(path=artefact.path, wrapped_key=artefact.wrapped_key))
    assert b"".join(chunks) == plaintext
    assert all(len(chunk) <= CHUNK for chunk in chunks)
    # Header + one tag per chunk (an empty file is still one, empty, final chunk).
    expected_chunks = max(1, -(-length // CHUNK))
    assert len(_stored_bytes(artefact.path)) == HEADER.size + length + expected_chunks * TAG_BYTES


def test_uploaded_files_in_memory_and_on_disk_round_trip(media_root):
    plaintext = os.urandom(10 * CHUNK + 5)
    in_memory = SimpleUploadedFile("model.onnx", plaintext)
    on_disk = TemporaryUploadedFile("model.onnx", "application/octet-stream", len(plaintext), None)
    on_disk.write(plaintext)
    on_disk.seek(0)
    for upload in (in_memory, on_disk):
        artefact = encrypt_to_storage(source=upload, name=upload.name, chunk_size=CHUNK)
        assert _decrypt(artefact) == plaintext
        assert artefact.sha256 == hashlib.sha256(plaintext).hexdigest()
    on_disk.close()


def test_each_file_gets_its_own_key_and_path(media_root):
    plaintext = b"same content" * 20
    first = encrypt_to_storage(source=ContentFile(plaintext), name="a", chunk_size=CHUNK)
    second = encrypt_to_storage(source=ContentFile(plaintext), name="a", chunk_size=CHUNK)
    assert first.path != second.path
    assert unwrap_key(first.wrapped_key) != unwrap_key(second.wrapped_key)
    assert _stored_bytes(first.path) != _stored_bytes(second.path)


def test_stored_bytes_do_not_contain_the_plaintext(media_root):
    marker = b"SECRET-WEIGHTS-0123456789-" * 40
    artefact = encrypt_to_storage(source=ContentFile(marker), name="secret.bin", chunk_size=CHUNK)
    stored = _stored_bytes(artefact.path)
    assert marker not in stored
    assert b"SECRET-WEIGHTS" not in stored
    assert b"secret.bin" not in stored
    # The file key does not appear in the stored file or in clear in the wrapped key.
    file_key = unwrap_key(artefact.wrapped_key)
    assert file_key not in stored
    assert file_key not in base64.b64decode(artefact.wrapped_key.split(":", 1)[1])


def test_a_flipped_bit_in_any_chunk_is_detected(media_root):
    plaintext = os.urandom(4 * CHUNK)
    artefact = encrypt_to_storage(source=ContentFile(plaintext), name="m", chunk_size=CHUNK)
    raw = bytearray(_stored_bytes(artefact.path))
    raw[HEADER.size + 2 * (CHUNK + TAG_BYTES) + 5] ^= 0x01  # inside chunk 2
    _overwrite(artefact.path, bytes(raw))
    stream = iter_plaintext(path=artefact.path, wrapped_key=artefact.wrapped_key)
    assert next(stream) == plaintext[:CHUNK]  # chunks before the damage verify
    assert next(stream) == plaintext[CHUNK : 2 * CHUNK]
    with pytest.raises(ArtefactUnreadable) as caught:
        next(stream)
    assert caught.value.detail == {"chunk": 2}


def test_a_changed_header_is_detected(media_root):
    artefact = encrypt_to_storage(source=ContentFile(os.urandom(3 * CHUNK)), name="m", chunk_size=CHUNK)
    raw = bytearray(_stored_bytes(artefact.path))
    raw[len(b"AGRART\x00\x01")] ^= 0x80  # the nonce prefix, bound into every chunk
    _overwrite(artefact.path, bytes(raw))
    with pytest.raises(ArtefactUnreadable):
        _decrypt(artefact)


@pytest.mark.parametrize("drop", ["last_chunk", "last_bytes", "everything_but_header", "half_header"])
def test_truncation_is_detected(media_root, drop):
    artefact = encrypt_to_storage(source=ContentFile(os.urandom(3 * CHUNK + 10)), name="m", chunk_size=CHUNK)
    raw = _stored_bytes(artefact.path)
    header, chunks = _sealed_chunks(raw)
    cut = {
        "last_chunk": header + b"".join(chunks[:-1]),  # ends on a chunk boundary
        "last_bytes": raw[:-3],
        "everything_but_header": header,
        "half_header": header[:10],
    }[drop]
    _overwrite(artefact.path, cut)
    with pytest.raises(ArtefactUnreadable):
        _decrypt(artefact)


def test_reordered_or_duplicated_or_appended_chunks_are_detected(media_root):
    artefact = encrypt_to_storage(source=ContentFile(os.urandom(4 * CHUNK)), name="m", chunk_size=CHUNK)
    header, chunks = _sealed_chunks(_stored_bytes(artefact.path))
    assert len(chunks) == 4
    variants = [
        header + chunks[1] + chunks[0] + chunks[2] + chunks[3],  # swapped
        header + chunks[0] + chunks[0] + chunks[2] + chunks[3],  # duplicated
        header + b"".join(chunks) + chunks[3],  # a chunk appended after the final one
        header + b"".join(chunks) + b"extra",  # garbage appended
    ]
    for variant in variants:
        _overwrite(artefact.path, variant)
        with pytest.raises(ArtefactUnreadable):
            _decrypt(artefact)


def test_a_chunk_from_another_file_is_detected(media_root):
    first = encrypt_to_storage(source=ContentFile(os.urandom(2 * CHUNK)), name="a", chunk_size=CHUNK)
    second = encrypt_to_storage(source=ContentFile(os.urandom(2 * CHUNK)), name="b", chunk_size=CHUNK)
    header, chunks = _sealed_chunks(_stored_bytes(first.path))
    _, other = _sealed_chunks(_stored_bytes(second.path))
    _overwrite(first.path, header + other[0] + chunks[1])
    with pytest.raises(ArtefactUnreadable):
        _decrypt(first)


def test_wrong_master_key_fails(media_root, settings):
    artefact = encrypt_to_storage(source=ContentFile(b"weights" * 50), name="m", chunk_size=CHUNK)
    settings.ARTEFACT_MASTER_KEY = base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(ArtefactUnreadable, match="master key"):
        _decrypt(artefact)


def test_a_swapped_wrapped_key_fails(media_root):
    first = encrypt_to_storage(source=ContentFile(b"first" * 40), name="a", chunk_size=CHUNK)
    second = encrypt_to_storage(source=ContentFile(b"second" * 40), name="b", chunk_size=CHUNK)
    with pytest.raises(ArtefactUnreadable):
        b"".join(iter_plaintext(path=first.path, wrapped_key=second.wrapped_key))


@pytest.mark.parametrize(
    "wrapped", ["", "v1:", "v1:!!!", "v2:" + base64.b64encode(bytes(range(60))).decode()]
)
def test_malformed_wrapped_keys_fail_cleanly(wrapped):
    with pytest.raises(ArtefactUnreadable):
        unwrap_key(wrapped)


def test_wrapped_key_round_trip_and_tamper():
    key = os.urandom(32)
    wrapped = wrap_key(key)
    assert wrapped.startswith("v1:")
    assert unwrap_key(wrapped) == key
    raw = bytearray(base64.b64decode(wrapped[3:]))
    raw[-1] ^= 1
    with pytest.raises(ArtefactUnreadable):
        unwrap_key("v1:" + base64.b64encode(bytes(raw)).decode())


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"too short").decode()])
def test_a_bad_master_key_setting_is_a_configuration_error(settings, value):
    settings.ARTEFACT_MASTER_KEY = value
    with pytest.raises(ImproperlyConfigured):
        wrap_key(os.urandom(32))


def test_chunk_size_is_recorded_and_checked(media_root):
    artefact = encrypt_to_storage(source=ContentFile(os.urandom(200)), name="m", chunk_size=CHUNK)
    header = _stored_bytes(artefact.path)[: HEADER.size]
    assert struct.unpack(">I", header[-4:])[0] == CHUNK
    assert len(_decrypt(artefact, chunk_size=CHUNK)) == 200
    with pytest.raises(ArtefactUnreadable):
        _decrypt(artefact, chunk_size=2 * CHUNK)


def test_the_default_chunk_is_one_mebibyte(media_root):
    plaintext = os.urandom(2 * 1024 * 1024 + 17)
    artefact = encrypt_to_storage(source=ContentFile(plaintext), name="big.bin")
    chunks = list(iter_plaintext(path=artefact.path, wrapped_key=artefact.wrapped_key))
    assert [len(chunk) for chunk in chunks] == [1024 * 1024, 1024 * 1024, 17]
    assert b"".join(chunks) == plaintext


def test_client_folders_are_dropped_from_the_name(media_root):
    artefact = encrypt_to_storage(source=ContentFile(b"x"), name="C:\\Users\\me\\model.pt", chunk_size=CHUNK)
    assert artefact.name == "model.pt"
    assert "model.pt" not in artefact.path


def _production_settings(master_key: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SECRET_KEY": "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "agora.example.com",
        "STRIPE_SECRET_KEY": "sk_live_x",
        "STRIPE_PUBLISHABLE_KEY": "pk_live_x",
        "STRIPE_WEBHOOK_SECRETS": "whsec_x",
        "ARTEFACT_MASTER_KEY": master_key,
    }
    code = "import config.django.production as p; print(len(p.ARTEFACT_MASTER_KEY))"
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_the_development_master_key():
    result = _production_settings(settings.ARTEFACT_DEV_MASTER_KEY)
    assert result.returncode != 0
    assert "ARTEFACT_MASTER_KEY is the public development key" in result.stderr


def test_production_accepts_its_own_master_key():
    result = _production_settings(base64.b64encode(os.urandom(32)).decode())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "44"
