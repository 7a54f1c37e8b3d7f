"""Accessibility checks shared by the browser tests: axe-core, as bundled by
axe-playwright-python (a dev dependency, so no network at test time), run in a Playwright page.
It is injected through the DevTools protocol, which the page's Content-Security-Policy does not
govern, so no inline script is needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

try:
    from axe_playwright_python import base as _axe_base
    from axe_playwright_python.sync_playwright import Axe
except ImportError:  # `make dev-install` installs it; the tests then skip with this reason
    _axe_base = None
    Axe = None

# The axe-core script the checks inject; missing when axe-playwright-python is not installed.
AXE = (
    Path(_axe_base.AXE_FILE_PATH)
    if _axe_base is not None
    else Path("axe-playwright-python is not installed (make dev-install)")
)
# WCAG 2.0 and 2.1, levels A and AA: the rules the dashboard promises to meet.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SEVERE = ("serious", "critical")


def _violations(page: Any) -> list[dict[str, Any]]:
    assert Axe is not None, AXE
    options = {"runOnly": {"type": "tag", "values": WCAG_AA}, "resultTypes": ["violations"]}
    return list(Axe().run(page, options=options).response["violations"])


def _describe(violation: dict[str, Any]) -> str:
    nodes = violation["nodes"]
    where = " | ".join(" ".join(node["target"]) for node in nodes[:3])
    more = f" (+{len(nodes) - 3} more)" if len(nodes) > 3 else ""
    summary = (nodes[0].get("failureSummary") or "").replace("\n", " ").strip()
    return f"{violation['id']} ({violation['impact']}) at {where}{more}: {summary}"


def serious_violations(page: Any) -> list[str]:
    """The WCAG A/AA violations of impact serious or critical on the page as it is now, one
    readable line each: rule id, impact, where (up to three CSS targets) and what to fix."""
    return [_describe(v) for v in _violations(page) if v["impact"] in SEVERE]


def axe_violations(page: Any) -> list[str]:
    """Every WCAG A/AA violation on the page as it is now, whatever its impact."""
    return [_describe(v) for v in _violations(page)]
