#!/usr/bin/env bash
# The run command: set up, then open the dashboard (it builds the demo database on first start).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
exec .venv/bin/streamlit run dashboard.py "$@"
