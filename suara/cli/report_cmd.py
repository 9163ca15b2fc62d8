"""``suara report [--out DIR]``: the indicator report from the ``reporting`` zone."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("report", help="indicator report (HTML + charts) from the reporting zone")
    p.add_argument("--out", default=None, help="output folder (default: <data dir>/report)")
    p.set_defaults(handler=_report)


def build_report_for(settings, forms, out_dir: Path) -> Path:
    from suara.report import ReportData, build_report
    from warehouse import Warehouse

    wh = Warehouse.from_settings(settings)
    frames = wh.read_reporting()
    data = ReportData(
        indicators=frames["indicators"], runs=frames.get("runs"), quality=frames.get("quality"),
        distributions=frames.get("distributions"),
    )
    return build_report(data, forms, out_dir)


def _report(args) -> int:
    from suara.forms import load_forms
    from suara.settings import load_settings

    settings = load_settings()
    out = Path(args.out) if args.out else settings.suara_data_dir / "report"
    index = build_report_for(settings, load_forms(settings.forms_dir()), out)
    print(f"report written: {index}")
    return 0
