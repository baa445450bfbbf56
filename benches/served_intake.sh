#!/usr/bin/env bash
# Alert intake as served: the real `riskdesk serve` on a fresh SQLite desk (durable:
# WAL, synchronous=FULL) and on a fresh PostgreSQL database, the demo desk's
# configuration applied and an API key made through the command line, then wrk posts
# alerts (benches/served/intake.lua) to each in turn, PAIRS pairs, so that each ratio
# is taken in one run on this noisy, shared machine. Then the API key's rate limit:
# the same load with a key at the default limit against one at the highest.
#
#   cargo build --release
#   bash benches/served_intake.sh
#   PG_ADMIN=postgres://postgres@127.0.0.1:5432/postgres PAIRS=3 DURATION=10 CONNECTIONS=32 \
#     bash benches/served_intake.sh
#
# Prints alerts/s, p99 and non-2xx answers of each run and the PostgreSQL/SQLite ratio
# of each pair. Exits non-zero when any run had a non-2xx answer or a socket error
# (the rate limit's runs excepted: being limited is their point).
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${PAIRS:-3}
SECONDS_EACH=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
BIN=${BIN:-target/release/riskdesk}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
SQLITE_BIND=${SQLITE_BIND:-127.0.0.1:8181}
PG_BIND=${PG_BIND:-127.0.0.1:8182}
LIMITS=${LIMITS:-1}

work=$(mktemp -d)
pgdb="riskdesk_served_$$"
pg_url="${PG_ADMIN%/*}/$pgdb"
servers=()
cleanup() {
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $pgdb" > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
psql -q "$PG_ADMIN" -c "CREATE DATABASE $pgdb" > /dev/null

# The people the demo desk's on-call rotas name (offline: no case goes to them).
oncall_people() {
  for who in li.na:agent wang.lei:agent zhou.jie:agent supervisor:supervisor; do
    "$BIN" user add --email "${who%%:*}@riskdesk.demo" --name "${who%%:*}" \
      --role "${who##*:}" > /dev/null
  done
}

# desk <name> <database url>: configuration and two keys (highest limit, default limit)
desk() {
  local name=$1 url=$2
  mkdir -p "$work/$name"
  export RISKDESK_DATABASE_URL=$url RISKDESK_DATA_DIR="$work/$name/data"
  oncall_people
  "$BIN" config apply src/demo_desk.toml > /dev/null
  "$BIN" apikey create --name bench --rate-limit 1000000 | grep '^rdk_' > "$work/$name/key"
  "$BIN" apikey create --name limited | grep '^rdk_' > "$work/$name/limited"
  unset RISKDESK_DATABASE_URL RISKDESK_DATA_DIR
}

# serve <name> <database url> <bind>
serve() {
  local name=$1 url=$2 bind=$3
  RUST_LOG=warn RISKDESK_DATABASE_URL=$url RISKDESK_DATA_DIR="$work/$name/data" \
    "$BIN" serve --bind "$bind" > "$work/$name/serve.log" 2>&1 &
  servers+=($!)
  for _ in $(seq 1 100); do
    curl -fs "http://$bind/healthz" > /dev/null && return 0
    sleep 0.2
  done
  echo "riskdesk did not start on $bind:" >&2
  cat "$work/$name/serve.log" >&2
  exit 1
}

desk sqlite "sqlite://$work/sqlite/riskdesk.db"
desk pg "$pg_url"
serve sqlite "sqlite://$work/sqlite/riskdesk.db" "$SQLITE_BIND"
serve pg "$pg_url" "$PG_BIND"

bad=0
run_n=0
# run <key file> <bind>: "<alerts/s> <p99> <non-2xx> <socket errors>"
run() {
  local out rate p99 non2xx errors
  run_n=$((run_n + 1))
  out=$(KEY=$(cat "$1") RUN="r$run_n" wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency \
    -s benches/served/intake.lua "http://$2")
  rate=$(awk '/^Requests\/sec/ {print $2}' <<< "$out")
  p99=$(awk '$1 == "99%" {print $2}' <<< "$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<< "$out")
  errors=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<< "$out")
  echo "$rate $p99 ${non2xx:-0} ${errors:-0}"
}

# A warm-up on each desk, then PostgreSQL's planner statistics gathered, as autovacuum
# gathers them within the first minute of a live desk: a fresh database has none, and
# the plans the writers' connections cache over empty tables (sequential scans) would
# otherwise stay until autovacuum's next round, after a run of a few seconds is over.
run "$work/sqlite/key" "$SQLITE_BIND" > /dev/null
run "$work/pg/key" "$PG_BIND" > /dev/null
psql -q "$pg_url" -c "ANALYZE" > /dev/null

echo "alert intake as served: $CONNECTIONS connections, ${SECONDS_EACH} s a run, $PAIRS pairs"
for pair in $(seq 1 "$PAIRS"); do
  read -r s_rate s_p99 s_bad s_err <<< "$(run "$work/sqlite/key" "$SQLITE_BIND")"
  read -r p_rate p_p99 p_bad p_err <<< "$(run "$work/pg/key" "$PG_BIND")"
  ratio=$(awk -v a="$p_rate" -v b="$s_rate" 'BEGIN {printf "%.2f", a / b}')
  echo "pair $pair: SQLite $s_rate alerts/s p99 $s_p99 (non-2xx $s_bad, errors $s_err)" \
    "| PostgreSQL $p_rate alerts/s p99 $p_p99 (non-2xx $p_bad, errors $p_err) | PG/SQLite $ratio"
  bad=$((bad + s_bad + s_err + p_bad + p_err))
done

if [ "$LIMITS" = 1 ]; then
  echo "the API key's rate limit (default limit against the highest):"
  for name in sqlite pg; do
    bind=$SQLITE_BIND
    [ "$name" = pg ] && bind=$PG_BIND
    read -r h_rate h_p99 h_bad _ <<< "$(run "$work/$name/key" "$bind")"
    read -r d_rate d_p99 d_bad _ <<< "$(run "$work/$name/limited" "$bind")"
    echo "$name: highest limit $h_rate/s p99 $h_p99 (non-2xx $h_bad)" \
      "| default limit $d_rate/s p99 $d_p99 (non-2xx $d_bad, over the limit: 429)"
  done
fi

for name in sqlite pg; do
  if grep -qiE 'deadlock|intake batch failed|alert not stored' "$work/$name/serve.log"; then
    echo "$name server log:" >&2
    grep -iE 'deadlock|intake batch failed|alert not stored' "$work/$name/serve.log" | head -5 >&2
    bad=$((bad + 1))
  fi
done
if [ "$bad" -ne 0 ]; then
  echo "FAILED: non-2xx answers, socket errors or failed batches" >&2
  exit 1
fi
