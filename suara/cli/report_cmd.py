"""``suara report [--out DIR]``: the indicator report from the ``reporting`` zone, with the
data dictionary (dictionary.html, dictionary.csv) of the ``analytics`` zone beside it."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("report", help="indicator report (HTML + charts) and data dictionary")
    p.add_argument("--out", default=None, help="output folder (default: <data dir>/report)")
    p.set_defaults(handler=_report)


def warehouse_catalogue(versions):
    """The analytics catalogue rows the warehouse writes for these form versions (the
    dictionary must name columns exactly as the warehouse does, flag columns included)."""
    from warehouse.derive import derive_form
    from warehouse.dictionary import choice_label_rows, dictionary_rows

    schema = derive_form(versions)
    return dictionary_rows(schema), choice_label_rows(schema)


def write_dictionary_for(settings, forms, out_dir: Path) -> tuple[Path, Path]:
    from suara.forms import load_form_versions
    from suara.report.dictionary import write_dictionary

    versions = {}
    for form in forms:
        versions[form.form_id] = load_form_versions(form.form_id, settings.forms_dir())
        versions[form.form_id].setdefault(form.version, form)
    return write_dictionary(versions, out_dir, catalogue=warehouse_catalogue)


def build_report_for(settings, forms, out_dir: Path) -> Path:
    from suara.report import ReportData, build_report
    from warehouse import Warehouse
    from warehouse.indicators import read_reporting

    with Warehouse.from_settings(settings, existing=True) as wh, wh.engine.connect() as conn:
        frames = read_reporting(conn)
    data = ReportData(
        indicators=frames["indicators"], runs=frames.get("runs"), quality=frames.get("quality"),
        distributions=frames.get("distributions"),
    )
    write_dictionary_for(settings, forms, Path(out_dir))
    return build_report(data, forms, out_dir)


def _report(args) -> int:
    from suara.forms import load_forms
    from suara.settings import load_settings

    settings = load_settings()
    out = Path(args.out) if args.out else settings.suara_data_dir / "report"
    index = build_report_for(settings, load_forms(settings.forms_dir()), out)
    print(f"report written: {index} (data dictionary: {out / 'dictionary.html'})")
    return 0
