#!/usr/bin/env bash
# The test command: install what the tests need (Python packages, Debian's chromium and a CJK font for
# the browser tests, Java for the Spark job's test), then run the whole suite. pytest's "no tests collected" (exit 5) fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements-dev.txt
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || ! command -v java >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium fonts-noto-cjk openjdk-17-jre-headless >/dev/null
fi
set +e
.venv/bin/python -m pytest -n 2 --dist loadfile "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then
  echo "pytest 没有收集到任何测试：视为失败。" >&2
  exit 1
fi
exit "$code"
