"""Streaming a version's decrypted artefact: shared by the download page and the API."""

from __future__ import annotations

from django.http import StreamingHttpResponse

from marketplace.artefacts import iter_plaintext
from marketplace.models import ListingVersion


def artefact_response(version: ListingVersion) -> StreamingHttpResponse:
    """The plaintext of the version's artefact as an attachment, decrypted chunk by chunk."""
    response = StreamingHttpResponse(
        iter_plaintext(path=str(version.artefact.name), wrapped_key=version.wrapped_key),
        content_type="application/octet-stream",
    )
    filename = (version.artefact_name or f"{version.listing.slug}-{version.version}.bin").replace('"', "")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Content-Length"] = str(version.artefact_size)
    response["X-Checksum-SHA256"] = version.checksum_sha256
    return response
