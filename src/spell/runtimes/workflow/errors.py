"""Workflow errors: the workflow runtime's leaves of the one catalog (tree in ``spell.errors``)."""

from __future__ import annotations

from spell.errors import NotFound, PermissionDenied

__all__ = ["ForbiddenRepo", "WorkflowNotFound"]


class ForbiddenRepo(PermissionDenied):
    """The caster's tenant may not run workflows in that repository: no installation of the platform's
    GitHub App is bound to the tenant for it, or the App is not installed there."""

    code = "FORBIDDEN_REPO"


class WorkflowNotFound(NotFound):
    """The repository has no workflow file of that name (at the default branch)."""

    code = "WORKFLOW_NOT_FOUND"
