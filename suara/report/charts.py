"""PNG charts for headline indicators. Suppressed cells are drawn as gaps labelled 'suppressed'."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

SUPPRESSED = {"en": "suppressed", "id": "disembunyikan"}
ALL = {"en": "all", "id": "semua"}
PALETTE = ["#2f6f8f", "#d1495b", "#edae49", "#66a182", "#8d6a9f"]


def _save(fig, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    data = buf.getvalue()
    path.write_bytes(data)
    return "data:image/png;base64," + base64.b64encode(data).decode()


def indicator_bars(rows: pd.DataFrame, title: str, lang: str, path: Path,
                   names: Mapping[str, str] | None = None) -> str:
    """Bars per group (all, then by sex/province) for one indicator; returns a data URI.
    ``names`` maps a group value to its label in ``lang``. Groups with no respondents are
    left out; suppressed ones are labelled, never drawn."""
    rows = rows[rows.suppressed.astype(bool) | rows.value.notna()]
    # One bar is a figure of its own height; more bars make it taller, never squeezed.
    fig, ax = plt.subplots(figsize=(5.2, 0.9 + 0.32 * max(len(rows), 1)))
    labels, values, gaps = [], [], []
    for _, r in rows.iterrows():
        if r.group_by == "all":
            labels.append(ALL[lang])
        else:
            labels.append((names or {}).get(str(r.group_value), str(r.group_value)))
        if bool(r.suppressed) or pd.isna(r.value):
            values.append(0.0)
            gaps.append(True)
        else:
            values.append(float(r.value))
            gaps.append(False)
    colours = [("#dddddd" if g else PALETTE[i % len(PALETTE)]) for i, g in enumerate(gaps)]
    bars = ax.barh(labels, values, color=colours)
    for bar, gap, v in zip(bars, gaps, values, strict=True):
        text = SUPPRESSED[lang] if gap else f"{v:.0f}"
        ax.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, text, va="center", fontsize=8,
                style="italic" if gap else "normal")
    unit = rows.iloc[0].unit if len(rows) else "%"
    if unit == "%":
        ax.set_xlim(0, 110)
    ax.invert_yaxis()
    ax.set_title(title, fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    return _save(fig, path)


def distribution_bars(rows: pd.DataFrame, title: str, lang: str, path: Path) -> str:
    fig, ax = plt.subplots(figsize=(5.2, 2.6))
    xs = [str(b) for b in rows.bucket]
    ys = [0 if s else c for c, s in zip(rows["count"], rows.suppressed, strict=True)]
    bars = ax.bar(xs, ys, color=[("#dddddd" if s else PALETTE[0]) for s in rows.suppressed])
    for bar, s in zip(bars, rows.suppressed, strict=True):
        if s:
            ax.text(bar.get_x() + bar.get_width() / 2, 0.5, SUPPRESSED[lang], rotation=90, ha="center",
                    va="bottom", fontsize=7, style="italic")
    ax.set_title(title, fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    return _save(fig, path)
