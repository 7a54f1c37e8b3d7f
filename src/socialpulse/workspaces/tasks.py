"""The workspaces domain's start-up hook: no jobs, one reaction to every other domain's writes.

``load_tasks()`` runs ``on_load`` at app, CLI, worker and test start, before any write.
"""

from __future__ import annotations

from socialpulse.workspaces import versions


def on_load() -> None:
    # Every write to a workspace's data bumps its data version (cached reports are keyed by it).
    versions.install()
