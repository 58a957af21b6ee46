"""Extract, map, validate and load hotline exports into DuckDB (`python -m etl ...`)."""
