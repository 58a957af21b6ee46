"""Download buttons for tables shown on a page."""
from __future__ import annotations

import polars as pl
import streamlit as st


def download_buttons(frame: pl.DataFrame, name: str, key: str | None = None) -> None:
    """CSV download of a table (UTF-8 with BOM so Excel opens Chinese correctly)."""
    st.download_button(
        "下载 CSV", frame.write_csv().encode("utf-8-sig"), file_name=f"{name}.csv", mime="text/csv",
        key=key or f"dl_{name}", icon=":material/download:",
    )
