#!/usr/bin/env bash
# Install Keystone from PyPI (pinned by scripts/constraints-keystone.txt) into
# .cache/keystone-venv, for tests/e2e/test_keystone.py, which starts it with SQLite behind it.
# Idempotent and fast when already installed: the venv is rebuilt only when the pins change.
# Override the location with NEUTRINO_KEYSTONE_VENV and the interpreter with PYTHON.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv="${NEUTRINO_KEYSTONE_VENV:-$PWD/.cache/keystone-venv}"
pins=scripts/constraints-keystone.txt
want="keystone==30.0.0 $(sha256sum "$pins" | cut -c1-16)"
stamp="$venv/.neutrino-keystone"
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && exit 0

mkdir -p "$(dirname "$venv")"
exec 9>"$(dirname "$venv")/.keystone-install.lock"
flock 9    # two test runs may ask at once; the second waits, then finds it installed
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && exit 0

start=$SECONDS
echo "installing Keystone into $venv"
rm -rf "$venv"
"${PYTHON:-python3}" -m venv "$venv"
log="$(dirname "$venv")/keystone-pip.log"
"$venv/bin/pip" install -q --disable-pip-version-check -c "$pins" "keystone==30.0.0" >"$log" 2>&1 \
  || { grep -v '^WARNING: Location' "$log" | tail -30 >&2; echo "Keystone install failed" >&2; exit 1; }
PYTHONWARNINGS=ignore "$venv/bin/python" -c "import keystone.server.wsgi, keystone.cmd.manage" \
  || { echo "Keystone installed but does not import" >&2; exit 1; }
echo "$want" > "$stamp"
echo "Keystone installed in $((SECONDS - start)) s"
