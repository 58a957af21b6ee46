"""Pure polars analytics and plotly figure builders over the canonical Whistle tables (no Streamlit)."""
