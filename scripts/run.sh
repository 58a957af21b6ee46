#!/usr/bin/env bash
# The run command: set up, then open the dashboard (it builds the demo database on first start).
# Without users (python -m access add) the dashboard is single-user and listens on 127.0.0.1 only; once users
# exist every page needs a login and it listens on WHISTLE_ADDRESS (default 0.0.0.0, all interfaces).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
if .venv/bin/python -c "from access.users import any_users; raise SystemExit(0 if any_users() else 1)"; then
  address="${WHISTLE_ADDRESS:-0.0.0.0}"
  echo "已有用户：需登录后使用，监听 ${address}。"
else
  address=127.0.0.1
  echo "单用户模式（尚未创建用户）：只监听本机 127.0.0.1。创建用户：.venv/bin/python -m access add 用户名 --role 管理员"
fi
exec .venv/bin/streamlit run dashboard.py --server.address "$address" "$@"
