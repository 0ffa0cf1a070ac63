#!/usr/bin/env bash
# pg.sh — starts a local PostgreSQL server for the store's PostgreSQL tests (Debian's cluster tools,
# since PostgreSQL refuses to run as root) and prints the URL the tests use. Sourced by test.sh;
# also runnable by hand: `eval "$(scripts/pg.sh)"` sets ECGNET_TEST_PG_URL.
set -euo pipefail

ECGNET_PG_ROLE=ecgnet_test
ECGNET_PG_PASSWORD=ecgnet-test-only # a throwaway role on a server listening on localhost only

ecgnet_pg_start() {
  local sudo="" as_pg="runuser -u postgres --"
  [ "$(id -u)" -ne 0 ] && sudo="sudo" && as_pg="sudo -u postgres"
  if ! command -v pg_lsclusters >/dev/null; then
    echo "pg.sh: postgresql is not installed (scripts/deps.sh installs it)" >&2
    return 1
  fi
  local ver
  ver="$(ls /usr/lib/postgresql | sort -n | tail -1)"
  if ! pg_lsclusters -h | awk '{print $1"/"$2}' | grep -qx "$ver/main"; then
    $sudo pg_createcluster "$ver" main >/dev/null
  fi
  if ! pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main" {print $4}' | grep -q online; then
    $sudo pg_ctlcluster "$ver" main start
  fi
  local port
  port="$(pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main" {print $3}')"
  # The role may create the tests' scratch databases; it is nothing more.
  $as_pg psql -q -p "$port" -v ON_ERROR_STOP=1 -d postgres >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ECGNET_PG_ROLE') THEN
    CREATE ROLE $ECGNET_PG_ROLE LOGIN CREATEDB PASSWORD '$ECGNET_PG_PASSWORD';
  END IF;
END \$\$;
SQL
  if ! $as_pg psql -p "$port" -tAc "SELECT 1 FROM pg_database WHERE datname = 'ecgnet_test'" \
      | grep -q 1; then
    $as_pg createdb -p "$port" -O "$ECGNET_PG_ROLE" ecgnet_test
  fi
  ECGNET_TEST_PG_URL="postgresql://$ECGNET_PG_ROLE:$ECGNET_PG_PASSWORD@127.0.0.1:$port/ecgnet_test"
  export ECGNET_TEST_PG_URL
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  ecgnet_pg_start
  echo "export ECGNET_TEST_PG_URL='$ECGNET_TEST_PG_URL'"
fi
