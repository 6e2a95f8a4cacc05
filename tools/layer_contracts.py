"""An import-linter contract type for the pure layers: an allow-list, not a block-list.

``allowed_imports`` names what the source packages may import besides the standard library
and themselves; anything else breaks the contract, so a new dependency (``numpy``,
``boto3``, ``av``) cannot slip into the domain because nobody thought to forbid it.

Used from pyproject.toml (``contract_types``); lint-imports finds it on ``PYTHONPATH=tools``
(the Makefile and the architecture test set it).
"""

from __future__ import annotations

import sys
from fnmatch import fnmatchcase

import grimp
from importlinter import Contract, ContractCheck, fields, output


class StandardLibraryOnlyContract(Contract):
    """Each of ``source_modules`` (and its descendants) imports only the standard library,
    its own package, and ``allowed_imports`` (top-level names or packages; a ``*`` stands
    for one name, so ``porchlight.*.domain`` admits every capability's domain)."""

    type_name = "standard_library_only"

    source_modules = fields.ListField(subfield=fields.ModuleField())
    allowed_imports = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        allowed = [str(name) for name in (self.allowed_imports or [])]  # type: ignore[union-attr]
        broken = []
        for source in self.source_modules:  # type: ignore[attr-defined]
            package = source.name
            for importer in sorted({package} | graph.find_descendants(package)):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    if not _allowed(imported, package, allowed):
                        broken.append((importer, imported))
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for importer, imported in check.metadata["broken"]:
            output.print_error(f"{importer} -> {imported} (not the standard library "
                               "and not allowed)", bold=False)
            output.new_line()


def _allowed(imported: str, package: str, allowed: list[str]) -> bool:
    top = imported.split(".")[0]
    if top in sys.stdlib_module_names or top == "__future__":
        return True
    if imported == package or imported.startswith(package + "."):
        return True
    return any(_within(imported, name) for name in allowed)


def _within(imported: str, pattern: str) -> bool:
    parts, wanted = imported.split("."), pattern.split(".")
    return len(parts) >= len(wanted) and all(
        fnmatchcase(part, want) for part, want in zip(parts, wanted, strict=False))
