"""The AGR token contract: its Vyper source and the committed build artefact (abi + bytecode).

The app deploys and reads `build/AGR.json`, so running it needs no compiler. The artefact records
the vyper version and the SHA-256 of the source it was built from; a test recompiles `AGR.vy` and
requires the same abi and bytecode. Rebuild after editing the source with
`manage.py chain_deploy --compile` (or `agr_artefact_write()`), which needs the `vyper` package.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

CONTRACTS_DIR = Path(__file__).resolve().parent
AGR_SOURCE = CONTRACTS_DIR / "AGR.vy"
AGR_ARTEFACT = CONTRACTS_DIR / "build" / "AGR.json"


@dataclass(frozen=True)
class ContractArtefact:
    contract: str
    abi: list[dict[str, Any]]
    bytecode: str  # 0x hex of the deployment (init) code
    vyper_version: str
    source_sha256: str


def source_sha256(path: Path = AGR_SOURCE) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@lru_cache(maxsize=1)
def agr_artefact() -> ContractArtefact:
    """The committed AGR build (read once per process)."""
    data = json.loads(AGR_ARTEFACT.read_text())
    return ContractArtefact(
        contract=data["contract"],
        abi=data["abi"],
        bytecode=data["bytecode"],
        vyper_version=data["vyper_version"],
        source_sha256=data["source_sha256"],
    )


def agr_compile(path: Path = AGR_SOURCE) -> dict[str, Any]:
    """Compile the source with the installed vyper into the artefact's JSON shape."""
    import vyper  # a development dependency: only building the artefact needs it

    source = path.read_text()
    output = vyper.compile_code(source, output_formats=["abi", "bytecode"])
    return {
        "contract": path.stem,
        "vyper_version": vyper.__version__,
        "source_sha256": source_sha256(path),
        "abi": output["abi"],
        "bytecode": output["bytecode"],
    }


def agr_artefact_write() -> Path:
    """Recompile AGR.vy and rewrite build/AGR.json."""
    AGR_ARTEFACT.parent.mkdir(parents=True, exist_ok=True)
    AGR_ARTEFACT.write_text(json.dumps(agr_compile(), indent=2) + "\n")
    agr_artefact.cache_clear()
    return AGR_ARTEFACT
