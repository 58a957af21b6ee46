"""The first call of every page: make a page opened on its own behave as part of the app."""
from __future__ import annotations

import threading

import streamlit as st

_inside = threading.local()   # one script run per thread: set while the entry runs the chosen page


def run_inside_entry(page: st.Page) -> None:
    """Run the page chosen by st.navigation, marked as being run by the entry (dashboard.py)."""
    _inside.active = True
    try:
        page.run()
    finally:
        _inside.active = False


def setup() -> None:
    """On a freshly started server Streamlit runs a file under pages/ opened by direct URL without the entry
    file: no page config, sidebar filters or navigation. Then run the entry here (which runs this page
    inside it) and stop, so a copied link shows the whole app."""
    if getattr(_inside, "active", False):
        return
    import dashboard

    dashboard.main()
    st.stop()
