"""Prefect artifacts for project managers: counts, reasons and timings — never an answer.

Every string placed here comes from counts, form/field names, reason codes and paths; the
privacy audit summary is the one ``suara.privacy`` marks safe for artifacts.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)


def _key(text: str) -> str:
    # Artifact keys: lowercase letters, digits and dashes only (stack.md §1.7).
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def summary_markdown(outcome, reasons: dict[str, int], audit: dict, links: dict[str, str]) -> str:
    c = outcome.counts
    lines = [
        f"# {outcome.form_id}: {outcome.status}",
        "",
        "| pulled | loaded | updated | deleted | quarantined | withheld | pages | seconds |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {c.pulled} | {c.loaded} | {c.updated} | {c.deleted} | {c.quarantined} | {c.withheld} "
        f"| {c.pages} | {outcome.seconds:.1f} |",
        "",
        f"Nothing lost: pulled = loaded + quarantined + withheld → **{'yes' if c.balanced() else 'NO'}**.",
    ]
    if outcome.error:
        lines += ["", f"**Failed:** `{outcome.error}`"]
    if reasons:
        lines += ["", "## Quarantine reasons (this run)", "", "| reason | submissions |", "|---|---:|"]
        lines += [f"| `{k}` | {v} |" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])]
    if audit:
        lines += ["", "## Privacy audit", "", "| measure | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in audit.items()]
    if links:
        lines += ["", "## Open"] + [f"* {name}: `{path}`" for name, path in links.items()]
    return "\n".join(lines)


def publish_run_artifacts(record: dict, outcomes: list, warehouse, links: dict[str, str] | None = None) -> None:
    """One markdown artifact per form plus a table of all forms' counts."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    try:
        for outcome in outcomes:
            reasons = warehouse.quarantine_reason_counts(outcome.form_id, run_id=record["run_id"])
            audit = warehouse.privacy_audit_summary(outcome.form_id, run_id=record["run_id"])
            create_markdown_artifact(
                key=_key(f"sync-{outcome.form_id}"),
                markdown=summary_markdown(outcome, reasons, audit, links or {}),
                description=f"Sync summary for {outcome.form_id}",
            )
        create_table_artifact(
            key="sync-counts",
            table=[{"form_id": f, **counts, "status": record["status"][f]} for f, counts in record["forms"].items()],
            description="Submissions per form in this run",
        )
    except Exception as exc:  # noqa: BLE001 - artifacts must never fail a sync that loaded data
        log.warning("could not publish run artifacts (%s)", type(exc).__name__)
