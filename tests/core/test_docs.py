"""The documentation lives in the repository (issue 13, item 11).

The README used to point at a `shared` folder beside the checkout, which people who clone the
repository do not have. Every file in the repository is searched for such a reference, and every
relative link in the README and docs/ must lead to a file that exists.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
# Built from parts so that this file does not match itself.
OUTSIDE_REFERENCE = "../" + "shared"
DOCS = ("product.md", "money.md", "api.md", "providers.md", "architecture.md")


def _repository_files() -> list[Path]:
    # Tracked and untracked-but-not-ignored files: what a commit would carry, nothing from .venv.
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [ROOT / name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def test_nothing_in_the_repository_points_outside_it():
    offenders = []
    for path in _repository_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary files (images, compiled contracts)
        if OUTSIDE_REFERENCE in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_readme_links_every_document_and_every_link_resolves():
    readme = (ROOT / "README.md").read_text()
    for name in DOCS:
        assert f"(docs/{name})" in readme, f"README does not link docs/{name}"
    for page in [ROOT / "README.md", *(ROOT / "docs" / name for name in DOCS)]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
