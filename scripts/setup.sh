#!/usr/bin/env bash
# Create .venv and install neutrino (editable) with its test tools. Idempotent and quiet.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.neutrino-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q -U pip 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/pip install -q -e ".[${EXTRAS:-test}]" 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -c "import neutrino.cmd.main" && touch "$stamp"
fi
