# Shared helpers for .ci scripts: sourced, not run.
# shellcheck shell=bash

# Runs apt-get install for the packages not yet installed (apt-get update once, first).
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing: ${missing[*]}" >&2
  if [ -z "${SLUICE_APT_UPDATED:-}" ]; then
    $sudo apt-get update -qq >&2
    export SLUICE_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# Like apt_install, for packages that are only nice to have: a machine where they cannot be
# installed (no root, no sudo, no network, no such package) gets a warning and goes on.
apt_install_optional() {
  local why="$1"
  shift
  if ! (apt_install "$@") 2>/dev/null; then
    local missing=()
    for pkg in "$@"; do
      dpkg -s "$pkg" >/dev/null 2>&1 || command -v "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] || echo "note: could not install ${missing[*]} ($why); Sluice runs without them" >&2
  fi
  return 0
}

# The directory holding initdb/pg_ctl, installing the server if there is none.
pg_bin_dir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
    apt_install postgresql
    d=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
  fi
  echo "$d"
}

# Build cache shared between runs of CI on this machine and the developers' builds.
use_build_cache() {
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}"
  export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
  export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
  mkdir -p "$CARGO_TARGET_DIR"
}

# Makes DATABASE_URL point at a Postgres that answers: the one given, the local one on
# 127.0.0.1:5432, or a private one started in a temporary directory (stopped on exit).
# SLUICE_FORCE_PRIVATE_PG=1 skips the local one (to check this path on a machine that has it).
ensure_postgres() {
  local bin
  bin=$(pg_bin_dir)
  if [ -n "${DATABASE_URL:-}" ]; then
    return 0
  fi
  if [ -z "${SLUICE_FORCE_PRIVATE_PG:-}" ] && "$bin/pg_isready" -q -h 127.0.0.1 -p 5432 -t 3 && \
     "$bin/psql" -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
    return 0
  fi
  local dir port run
  dir=$(mktemp -d /tmp/sluice-pg.XXXXXX)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  run=()
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$dir"
    run=(runuser -u postgres --)
  fi
  echo "starting a private Postgres in $dir on port $port" >&2
  "${run[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
  "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=300 -c fsync=off" start >/dev/null
  SLUICE_PRIVATE_PG=("${run[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop)
  trap 'echo "stopping the private Postgres" >&2; "${SLUICE_PRIVATE_PG[@]}" >/dev/null 2>&1 || true' EXIT
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
}
