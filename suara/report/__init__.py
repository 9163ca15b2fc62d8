"""The static HTML report (English and Indonesian) with PNG charts, from the reporting zone.

``build_report(data, forms, out_dir)`` takes frames read from the ``reporting`` zone (the
CLI reads them through the warehouse) and writes a self-contained site: ``index.html`` with a
language switch, ``report.en.html``, ``report.id.html`` and ``charts/*.png``. Suppressed
cells are printed as suppressed, never as a number.
"""

from suara.report.render import ReportData, build_report

__all__ = ["ReportData", "build_report"]
