#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 and has a `neutrino` role
# (password `neutrino`, CREATEDB) for the tests. Installs and starts PostgreSQL when absent.
set -euo pipefail
as_postgres() { if id postgres >/dev/null 2>&1; then runuser -u postgres -- "$@"; else "$@"; fi; }

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "installing PostgreSQL (Debian packages)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
  fi
  version=$(ls /etc/postgresql | sort -V | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
  pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL did not start" >&2; exit 1; }
fi

as_postgres psql -h /var/run/postgresql -U postgres -d postgres -qtA -v ON_ERROR_STOP=1 <<'SQL' \
  || psql -h 127.0.0.1 -U postgres -d postgres -qtA -v ON_ERROR_STOP=1 <<'SQL2'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'neutrino') THEN
    CREATE ROLE neutrino LOGIN PASSWORD 'neutrino' CREATEDB;
  END IF;
END $$;
SQL
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'neutrino') THEN
    CREATE ROLE neutrino LOGIN PASSWORD 'neutrino' CREATEDB;
  END IF;
END $$;
SQL2
echo "PostgreSQL ready on 127.0.0.1:5432 (role neutrino)"
