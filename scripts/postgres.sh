#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1 for tests and local trials of a shared study.
#
#   scripts/postgres.sh start DIR PORT   # initdb (first time) + start; prints the storage URL on stdout
#   scripts/postgres.sh stop DIR         # fast shutdown (PORT is accepted and ignored)
#   scripts/postgres.sh url DIR PORT     # just print the URL
#
# Installs nothing: needs the PostgreSQL server binaries (Debian: apt-get install postgresql; found in
# $PG_BIN, on PATH, or in /usr/lib/postgresql/*/bin). PostgreSQL refuses to run as root, so as root the
# server runs as the user $PG_USER (default: postgres, created by the Debian package) and DIR is given to it.
# Authentication is "trust" on loopback only, fsync is off: never use this for data you want to keep.
set -euo pipefail

usage() { echo "usage: $0 start|stop|url DIR [PORT]" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
action=$1
dir=$(realpath -m "$2")
port=${3:-5432}
db_user=dse
db_name=dse
url="postgresql+psycopg://${db_user}@127.0.0.1:${port}/${db_name}"

find_bin() {
  if [[ -n "${PG_BIN:-}" ]]; then echo "$PG_BIN"; return; fi
  # realpath: a symlink on PATH (e.g. /usr/local/bin/initdb) stands for a folder holding all the tools
  if command -v initdb >/dev/null 2>&1; then dirname "$(realpath "$(command -v initdb)")"; return; fi
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -z "$found" ]]; then
    echo "error: PostgreSQL server binaries (initdb, pg_ctl) not found; install them (Debian: apt-get install" \
      "postgresql) or set PG_BIN" >&2
    exit 3
  fi
  echo "$found"
}

# Run a command as the server's user: ourselves, or $PG_USER when we are root.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u "${PG_USER:-postgres}" -- "$@"
  else
    "$@"
  fi
}

bin=$(find_bin)
data="$dir/data"

case "$action" in
  start)
    mkdir -p "$dir"
    if [[ $(id -u) -eq 0 ]]; then
      id "${PG_USER:-postgres}" >/dev/null 2>&1 || {
        echo "error: running as root and user ${PG_USER:-postgres} does not exist; create it or set PG_USER" >&2
        exit 3
      }
      chown "${PG_USER:-postgres}" "$dir"
      as_owner test -w "$dir" || {
        echo "error: $dir is not reachable for user ${PG_USER:-postgres} (a parent folder is private);" \
          "use a folder under /tmp" >&2
        exit 3
      }
    fi
    if [[ ! -f "$data/PG_VERSION" ]]; then
      as_owner "$bin/initdb" -D "$data" -U "$db_user" --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
      }
    fi
    if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      # The socket goes into DIR (not /var/run/postgresql, which may not exist or belong to us).
      as_owner "$bin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 30 \
        -o "-p $port -h 127.0.0.1 -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null || {
        cat "$dir/postgres.log" >&2
        exit 1
      }
    fi
    if ! as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U "$db_user" -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$db_name'" | grep -q 1; then
      as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$db_user" "$db_name"
    fi
    echo "$url"
    ;;
  stop)
    if [[ -f "$data/PG_VERSION" ]] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    fi
    ;;
  url)
    echo "$url"
    ;;
  *)
    usage
    ;;
esac
