"""Read an XLSForm source into sheets of rows, keeping the place each row came from.

Two sources are accepted:

* ``.md``: pyxform's markdown table layout (the first column names the sheet on the row that
  starts it, the next row is the header, lines starting with ``#`` are comments). This is the
  reviewed, committed source of every form in ``forms/``.
* ``.xlsx``: a workbook, as Kobo exports it or as ``suara forms build`` writes it.

Each row is a ``Row``: an ordered mapping of column → cell text plus ``where``, a human place
such as ``forms/ilo_vh_reporting.md line 41`` or ``survey row 12``, used in every message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from suara.errors import FormDefinitionError


@dataclass
class Row:
    cells: dict[str, str]
    where: str
    number: int  # line (md) or spreadsheet row (xlsx), 1-based

    def get(self, key: str, default: str = "") -> str:
        return self.cells.get(key, default) or default


@dataclass
class Sheets:
    source: str
    sheets: dict[str, list[Row]] = field(default_factory=dict)
    headers: dict[str, list[str]] = field(default_factory=dict)

    def rows(self, name: str) -> list[Row]:
        return self.sheets.get(name, [])

    def to_dict(self) -> dict[str, list[dict[str, str]]]:
        """The shape pyxform's ``convert`` accepts: sheet name → list of row dicts."""
        return {
            name: [{k: v for k, v in r.cells.items() if v != ""} for r in rows]
            for name, rows in self.sheets.items()
        }


def _split_md_row(line: str) -> list[str]:
    # Cells are separated by unescaped pipes; "\|" stands for a literal pipe (XPath union).
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    cells, cur, i = [], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            cur.append("|")
            i += 2
            continue
        if ch == "|":
            cells.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    cells.append("".join(cur).strip())
    return cells


def read_markdown(text: str, source: str = "<markdown>") -> Sheets:
    out = Sheets(source=source)
    current: str | None = None
    header: list[str] | None = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or not stripped.startswith("|"):
            continue
        cells = _split_md_row(stripped)
        if set(stripped) <= set("|-: "):  # a separator row
            continue
        if cells[0]:
            current = cells[0]
            header = None
            if current in out.sheets:
                raise FormDefinitionError(
                    f"{source} line {lineno}: sheet '{current}' is started twice.",
                    code="FORM_002",
                    hint="Keep each sheet in one block.",
                )
            out.sheets[current] = []
            continue
        if current is None:
            raise FormDefinitionError(
                f"{source} line {lineno}: a table row comes before any sheet name.",
                code="FORM_002",
                hint="Start each sheet with a row whose first cell is the sheet name (survey, choices, settings).",
            )
        values = cells[1:]
        if header is None:
            header = values
            while header and header[-1] == "":
                header.pop()
            out.headers[current] = header
            continue
        row: dict[str, str] = {}
        for i, col in enumerate(header):
            if col:
                row[col] = values[i] if i < len(values) else ""
        extra = [v for v in values[len(header):] if v]
        if extra:
            raise FormDefinitionError(
                f"{source} line {lineno}: sheet '{current}' row has more cells than its header.",
                code="FORM_002",
                hint="Add a header for the extra column or remove the stray '|'.",
            )
        if any(row.values()):
            out.sheets[current].append(Row(row, f"{source} line {lineno} ({current})", lineno))
    return out


def read_xlsx(path: Path) -> Sheets:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise FormDefinitionError(
            f"{path}: cannot open the workbook ({type(exc).__name__}).",
            code="FORM_002",
            hint="Save it again as .xlsx from Excel/LibreOffice, or rebuild it with `suara forms build`.",
        ) from None
    out = Sheets(source=str(path))
    for ws in wb.worksheets:
        rows = ws.iter_rows(values_only=True)
        try:
            header_cells = next(rows)
        except StopIteration:
            out.sheets[ws.title] = []
            continue
        header = ["" if c is None else str(c).strip() for c in header_cells]
        out.headers[ws.title] = [h for h in header if h]
        sheet_rows: list[Row] = []
        for n, cells in enumerate(rows, start=2):
            row = {}
            for i, col in enumerate(header):
                if col and i < len(cells) and cells[i] is not None:
                    v = cells[i]
                    row[col] = str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()
            if any(row.values()):
                sheet_rows.append(Row(row, f"{path.name} sheet '{ws.title}' row {n}", n))
        out.sheets[ws.title] = sheet_rows
    wb.close()
    return out


def read_sheets(path: Path) -> Sheets:
    path = Path(path)
    if not path.exists():
        raise FormDefinitionError(f"{path}: no such form file.", code="FORM_002")
    if path.suffix == ".md":
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise FormDefinitionError(
                f"{path}: not UTF-8 text.", code="FORM_002",
                hint="Save the markdown source as UTF-8 (forms are plain-text pipe tables).",
            ) from None
        return read_markdown(text, source=str(path))
    if path.suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path)
    raise FormDefinitionError(
        f"{path}: unsupported form file type '{path.suffix}'.",
        code="FORM_002",
        hint="Forms are .md (pyxform markdown tables, the committed source) or .xlsx.",
    )


def write_xlsx(sheets: Sheets, path: Path) -> None:
    """Write the sheets to a workbook, columns in header order."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.sheets.items():
        ws = wb.create_sheet(name)
        header = sheets.headers.get(name) or sorted({k for r in rows for k in r.cells})
        ws.append(header)
        for r in rows:
            ws.append([r.cells.get(h, "") for h in header])
    wb.save(path)
