"""A custom import-linter contract: domains talk to each other only through their front doors.

``lint-imports`` loads it from ``pyproject.toml`` (``contract_types``). For every import of a
module inside domain D from a module outside D, the imported module must be one of D's public
modules (``service``, ``schemas``, ``models``, or a name listed for D alone), unless the importer
is wiring that assembles the domains (the app mounting routers, the CLI mounting commands).
"""

from __future__ import annotations

from typing import Any

import grimp
from importlinter import Contract, ContractCheck, fields, output


class DomainBoundariesContract(Contract):
    """Options:
    - domains: the domain packages, e.g. ``socialpulse.inbox``.
    - public: submodule names any domain exposes (``service``), or full names one domain
      exposes besides (``socialpulse.workspaces.deps``).
    - wiring: modules (with their descendants) that may import any module of any domain.
    """

    type_name = "domain_boundaries"

    domains = fields.ListField(subfield=fields.StringField())
    public = fields.ListField(subfield=fields.StringField())
    wiring = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        domains: list[str] = list(self.domains)  # type: ignore[call-overload]
        public: list[str] = list(self.public)  # type: ignore[call-overload]
        wiring: list[str] = list(self.wiring or [])  # type: ignore[call-overload]

        def owner(module: str) -> str | None:
            for domain in domains:
                if module == domain or module.startswith(domain + "."):
                    return domain
            return None

        def is_public(module: str, domain: str) -> bool:
            if module == domain:
                return True  # the package itself (its __init__ re-exports nothing private)
            # inbox.service, or inbox.workflows.service in a domain split into subpackages
            return module.rsplit(".", 1)[-1] in public or any(
                module == name or module.startswith(name + ".") for name in public
            )

        def is_wiring(module: str) -> bool:
            return any(module == w or module.startswith(w + ".") for w in wiring)

        violations: list[dict[str, Any]] = []
        for importer in sorted(graph.modules):
            if is_wiring(importer):
                continue
            importer_domain = owner(importer)
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                imported_domain = owner(imported)
                if imported_domain is None or imported_domain == importer_domain:
                    continue
                if is_public(imported, imported_domain):
                    continue
                details = graph.get_import_details(importer=importer, imported=imported)
                violations.append(
                    {
                        "importer": importer,
                        "imported": imported,
                        "lines": [d["line_number"] for d in details],
                    }
                )
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for violation in check.metadata["violations"]:
            lines = ", ".join(str(n) for n in violation["lines"])
            output.print_error(
                f"{violation['importer']} -> {violation['imported']} (l. {lines}): "
                "import the domain's service or schemas instead",
                bold=False,
            )
        output.new_line()
