"""Data shown inside Streamlit's markdown (st.markdown, captions, alerts, headers, widget and expander labels)
is escaped, so a complaint, address or case title is shown as typed and never becomes a link, an image the
browser fetches, HTML or a heading. st.dataframe does not render markdown and needs nothing; st.table does (use `table`)."""
from __future__ import annotations

import re

import polars as pl
import streamlit as st

# Characters that make markup anywhere in a line; block markers (# + - = > and "1.") only count where a value
# starts a line, and values never contain line breaks here.
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>!|~$&])")
_BLOCK = re.compile(r"^([#+\-=>])")
_NUMBERED = re.compile(r"^(\d+)([.)])")


def md(value: object) -> str:
    """`value` as literal text inside markdown: markup characters backslash-escaped, line breaks as spaces (a
    value cannot start a new block), a leading block marker escaped."""
    text = _SPECIAL.sub(r"\\\1", re.sub(r"\s*[\r\n]+\s*", " ", str(value)))
    return _NUMBERED.sub(r"\1\\\2", _BLOCK.sub(r"\\\1", text))


def frame(table: pl.DataFrame) -> pl.DataFrame:
    """Every text cell and header of `table` escaped like `md`, for elements that render markdown in cells."""
    return table.with_columns(
        pl.col(c).str.replace_all(r"\s*[\r\n]+\s*", " ").str.replace_all(_SPECIAL.pattern, r"\${1}")
        .str.replace(_BLOCK.pattern, r"\${1}").str.replace(_NUMBERED.pattern, r"${1}\${2}")
        for c, t in table.schema.items() if t == pl.String
    ).rename(lambda c: md(c))


def table(data: pl.DataFrame, **kwargs) -> None:
    """st.table (which renders markdown in its cells) with the data shown as typed."""
    st.table(frame(data), **kwargs)
