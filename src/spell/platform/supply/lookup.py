"""The imported advisories as the gate's ``AdvisoryLookup``: at publish and in every re-scan."""

from __future__ import annotations

from spell.platform.supply.repository import SupplyRepository, component_package
from spell.sbom.document import Component
from spell.sbom.osv import AdvisoryRecord
from spell.storage.session import UnitOfWork

__all__ = ["DatabaseAdvisories"]


class DatabaseAdvisories:
    """Advisories naming a component's package, read in ``uow``; each package is read once (a re-scan
    meets the same components in many versions)."""

    def __init__(self, uow: UnitOfWork, repo: SupplyRepository | None = None) -> None:
        self.uow = uow
        self.repo = repo or SupplyRepository()
        self._seen: dict[tuple[str, str], list[AdvisoryRecord]] = {}

    def __call__(self, component: Component) -> list[AdvisoryRecord]:
        package = component_package(component)
        if package is None:
            return []
        found = self._seen.get(package)
        if found is None:
            found = self._seen[package] = self.repo.advisories_of_package(self.uow, *package)
        return found
