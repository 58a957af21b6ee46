"""Streamlit helpers shared by the pages: cached data access, the shared filters, widgets, exports."""
