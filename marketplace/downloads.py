"""Streaming a version's decrypted artefact: shared by the download pages and the API."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header

from marketplace.artefacts import iter_plaintext
from marketplace.models import ListingVersion


def artefact_response(version: ListingVersion) -> StreamingHttpResponse:
    """The version's decrypted artefact as an attachment, one verified chunk at a time.

    The first chunk is read before the response starts, so a file that fails verification raises
    ArtefactUnreadable (the page renders it as an error page, the API as its error envelope)
    instead of starting a 200 that breaks off. A failure in a later chunk can only cut the
    stream short. No side effects."""
    chunks = iter_plaintext(path=str(version.artefact.name), wrapped_key=version.wrapped_key)
    first = next(chunks, b"")
    body: Iterator[bytes] = itertools.chain([first], chunks)
    response = StreamingHttpResponse(body, content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, version.artefact_name or "artefact")
    response["Content-Length"] = str(version.artefact_size)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    if version.checksum_sha256:
        response["X-Checksum-SHA256"] = version.checksum_sha256
    return response
