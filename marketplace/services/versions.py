"""Versions of a listing uploaded by its creator: the model file encrypted at rest, the Triton model
name and KServe tensor specs. The file is written to storage before the row is locked and removed
again if the version is not saved."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.files import File
from django.db import IntegrityError, transaction

from accounts.models import User
from marketplace.artefacts import artefact_delete, artefact_upload_problems, encrypt_to_storage
from marketplace.errors import ValidationFailed
from marketplace.models import Listing, ListingVersion
from marketplace.selectors.creator import listing_creator_check
from marketplace.services.listing_fields import (
    CHANGELOG_MAX,
    TRITON_NAME_MAX,
    TRITON_NAME_RE,
    Errors,
    errors_raise,
    tensor_spec_validate,
    text_clean,
    version_numbers,
)
from marketplace.services.listings import listing_after_write, listing_lock, listing_not_taken_down


def version_upload(
    *,
    listing: Listing,
    actor: User,
    version: str,
    changelog: str = "",
    file: File[Any] | None,
    triton_model_name: str = "",
    input_spec: Sequence[Mapping[str, Any]] = (),
    output_spec: Sequence[Mapping[str, Any]] = (),
) -> ListingVersion:
    """Add a version to the creator's listing: semantic version X.Y.Z unique per listing, the model
    file encrypted at rest (checksum and size of the plaintext kept), the Triton model name and
    KServe tensor specs (both needed when a Triton name is given). A version needs a file, a Triton
    model name, or both. Side effects: writes the encrypted file to storage (removed again if the
    version is not saved), re-indexes. Raises NotFound/PermissionDenied (not the creator),
    ValidationFailed, InvalidState (taken down)."""
    listing_creator_check(listing=listing, user=actor)
    listing_not_taken_down(listing)
    errors: Errors = {}
    numbers = version_numbers(version)
    if numbers is None:
        errors["version"] = ["Use a semantic version: three whole numbers such as 1.2.0."]
    elif ListingVersion.objects.filter(listing=listing, version=version).exists():
        errors["version"] = [f"Version {version} already exists for this listing; choose a higher number."]
    notes = text_clean(errors, "changelog", changelog, maximum=CHANGELOG_MAX, required=False)
    triton = text_clean(
        errors, "triton_model_name", triton_model_name, maximum=TRITON_NAME_MAX, required=False
    )
    if triton and not TRITON_NAME_RE.fullmatch(triton):
        errors.setdefault("triton_model_name", []).append(
            "Use the model's name in the Triton repository: letters, digits, _ . - "
            f"(at most {TRITON_NAME_MAX})."
        )
    specs: dict[str, list[dict[str, Any]]] = {}
    for field, spec in (("input_spec", input_spec), ("output_spec", output_spec)):
        try:
            specs[field] = tensor_spec_validate(
                spec=list(spec) if isinstance(spec, tuple) else spec, field=field
            )
        except ValidationFailed as exc:
            errors.update(exc.detail)
            continue
        if triton and not specs[field]:
            errors.setdefault(field, []).append("A hosted model needs at least one tensor here.")
    if file is None and not triton:
        errors.setdefault("file", []).append("Upload the model file, give a Triton model name, or both.")
    if file is not None and not file.size:
        errors.setdefault("file", []).append("The file is empty.")
    elif file is not None and (problems := artefact_upload_problems(file)):
        errors.setdefault("file", []).extend(problems)
    errors_raise(errors, "The version has fields that are not valid.")
    assert numbers is not None

    stored = encrypt_to_storage(source=file, name=file.name or "") if file is not None else None
    try:
        with transaction.atomic():
            locked = listing_lock(listing)
            listing_not_taken_down(locked)
            created = ListingVersion.objects.create(
                listing=locked,
                version=version,
                major=numbers[0],
                minor=numbers[1],
                patch=numbers[2],
                changelog=notes,
                artefact=stored.path if stored else "",
                artefact_name=stored.name if stored else "",
                artefact_size=stored.size if stored else 0,
                checksum_sha256=stored.sha256 if stored else "",
                wrapped_key=stored.wrapped_key if stored else "",
                triton_model_name=triton,
                input_spec=specs["input_spec"],
                output_spec=specs["output_spec"],
            )
            listing_after_write(locked.pk)
    except IntegrityError as exc:  # the same version uploaded concurrently
        if stored:
            artefact_delete(path=stored.path)
        raise ValidationFailed(
            "The version has fields that are not valid.",
            detail={
                "version": [f"Version {version} already exists for this listing; choose a higher number."]
            },
        ) from exc
    except BaseException:
        if stored:
            artefact_delete(path=stored.path)
        raise
    return created
