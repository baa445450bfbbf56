#!/usr/bin/env bash
# Two instances of `riskdesk serve` on one PostgreSQL database under the same intake
# load, with agents online so that every new case is offered to them at intake.
# First one instance alone, then wrk against both at once; afterwards the invariants
# are checked with SQL. Exits non-zero when one breaks or any answer was not 2xx.
#
#   cargo build --release
#   bash benches/two_instances.sh
#   PG_ADMIN=postgres://postgres@127.0.0.1:5432/postgres DURATION=10 CONNECTIONS=32 AGENTS=20 \
#     bash benches/two_instances.sh
#
# CONNECTIONS is per instance (the pair takes twice as many in all).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
AGENTS=${AGENTS:-20}
BIN=${BIN:-target/release/riskdesk}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
A=${A_BIND:-127.0.0.1:8183}
B=${B_BIND:-127.0.0.1:8184}

work=$(mktemp -d)
pgdb="riskdesk_two_$$"
url="${PG_ADMIN%/*}/$pgdb"
servers=()
cleanup() {
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $pgdb" > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
psql -q "$PG_ADMIN" -c "CREATE DATABASE $pgdb" > /dev/null
export RISKDESK_DATABASE_URL=$url

# The people the demo desk's on-call rotas name (offline: no case goes to them).
for who in li.na:agent wang.lei:agent zhou.jie:agent supervisor:supervisor; do
  RISKDESK_DATA_DIR="$work/a" "$BIN" user add --email "${who%%:*}@riskdesk.demo" \
    --name "${who%%:*}" --role "${who##*:}" > /dev/null
done
RISKDESK_DATA_DIR="$work/a" "$BIN" config apply src/demo_desk.toml > /dev/null
key=$(RISKDESK_DATA_DIR="$work/a" "$BIN" apikey create --name bench --rate-limit 1000000 | grep '^rdk_')
password="bench-$(date +%s%N)-Aa9!"
for n in $(seq 1 "$AGENTS"); do
  echo "$password" | RISKDESK_DATA_DIR="$work/a" "$BIN" user add --email "agent$n@example.com" \
    --name "Agent $n" --role agent --password-stdin \
    --queues "Transfers,Account security,New accounts,Promotions,AML review,Triage" \
    --skills fraud,security,onboarding,aml --capacity 5 > /dev/null
done

serve() {
  RUST_LOG=warn RISKDESK_DATA_DIR="$work/$1" "$BIN" serve --bind "$2" > "$work/$1.log" 2>&1 &
  servers+=($!)
  for _ in $(seq 1 100); do
    curl -fs "http://$2/healthz" > /dev/null && return 0
    sleep 0.2
  done
  echo "riskdesk did not start on $2:" >&2
  cat "$work/$1.log" >&2
  exit 1
}
serve a "$A"
serve b "$B"

# Each agent signs in (on either instance) and goes online.
csrf() { sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n 1; }
for n in $(seq 1 "$AGENTS"); do
  jar="$work/agent$n.cookies"
  at=$A
  [ $((n % 2)) = 0 ] && at=$B
  token=$(curl -fs -c "$jar" -b "$jar" "http://$at/login" | csrf)
  curl -fs -o /dev/null -c "$jar" -b "$jar" --data-urlencode "email=agent$n@example.com" \
    --data-urlencode "password=$password" --data-urlencode "csrf_token=$token" "http://$at/login"
  token=$(curl -fs -c "$jar" -b "$jar" "http://$at/profile" | csrf)
  curl -fs -o /dev/null -c "$jar" -b "$jar" --data-urlencode "status=online" \
    --data-urlencode "csrf_token=$token" "http://$at/presence"
done
online=$(psql -qAt "$url" -c "SELECT COUNT(*) FROM users WHERE presence = 'online'")
echo "two instances on one PostgreSQL database: $online of $AGENTS agents online," \
  "$CONNECTIONS connections per instance, ${SECONDS_EACH} s a run"
if [ "$online" != "$AGENTS" ]; then
  echo "FAILED: not every agent went online" >&2
  exit 1
fi

# wrk's summary: "<alerts/s> <p99> <non-2xx> <socket errors>"
summary() {
  local rate p99 non2xx errors
  rate=$(awk '/^Requests\/sec/ {print $2}' "$1")
  p99=$(awk '$1 == "99%" {print $2}' "$1")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$1")
  errors=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$1")
  echo "$rate $p99 ${non2xx:-0} ${errors:-0}"
}
load() { # <bind> <run word> <output file>
  KEY=$key RUN=$2 wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency \
    -s benches/served/intake.lua "http://$1" > "$3"
}

load "$A" one "$work/one.txt"
read -r one_rate one_p99 one_bad one_err <<< "$(summary "$work/one.txt")"
echo "one instance: $one_rate alerts/s p99 $one_p99 (non-2xx $one_bad, errors $one_err)"

load "$A" twoa "$work/a.txt" &
wa=$!
load "$B" twob "$work/b.txt" &
wb=$!
wait "$wa" "$wb"
read -r a_rate a_p99 a_bad a_err <<< "$(summary "$work/a.txt")"
read -r b_rate b_p99 b_bad b_err <<< "$(summary "$work/b.txt")"
combined=$(awk -v a="$a_rate" -v b="$b_rate" 'BEGIN {printf "%.2f", a + b}')
echo "two instances at once: $combined alerts/s together" \
  "(A $a_rate/s p99 $a_p99, non-2xx $a_bad, errors $a_err;" \
  "B $b_rate/s p99 $b_p99, non-2xx $b_bad, errors $b_err)"

failed=0
check() { # <what> <query that counts what must not be>
  local n
  n=$(psql -qAt "$url" -c "$2")
  if [ "$n" = 0 ]; then
    echo "ok: $1"
  else
    echo "BROKEN: $1 ($n)" >&2
    failed=1
  fi
}
check "every answer 2xx" "SELECT $((one_bad + one_err + a_bad + a_err + b_bad + b_err))"
check "no external id stored twice" \
  "SELECT COUNT(*) FROM (SELECT external_id FROM alerts GROUP BY external_id HAVING COUNT(*) > 1) d"
check "one open case per customer and queue" \
  "SELECT COUNT(*) FROM (SELECT 1 FROM cases WHERE resolved_at IS NULL
     GROUP BY customer_id, queue_id HAVING COUNT(*) > 1) d"
check "every alert filed into a case (no snoozes here)" \
  "SELECT COUNT(*) FROM alerts WHERE case_id IS NULL"
check "each alert counted once by its case" \
  "SELECT COUNT(*) FROM cases c WHERE c.alert_count <>
     (SELECT COUNT(*) FROM alerts a WHERE a.case_id = c.id)"
check "one owner per case: assigned once, status and owner agree" \
  "SELECT (SELECT COUNT(*) FROM (SELECT case_id FROM case_events WHERE kind = 'assignment.assigned'
      GROUP BY case_id HAVING COUNT(*) > 1) d)
   + (SELECT COUNT(*) FROM cases WHERE (status = 'assigned') <> (assignee_id IS NOT NULL))"
check "no agent over capacity, each agent's load what its cases weigh" \
  "SELECT COUNT(*) FROM users u WHERE u.role = 'agent' AND (
     u.current_load > u.capacity OR u.current_load <>
     (SELECT COALESCE(SUM(c.weight), 0) FROM cases c
       WHERE c.assignee_id = u.id AND c.resolved_at IS NULL))"
check "no failed batch or deadlock in the servers' logs" \
  "SELECT $(cat "$work/a.log" "$work/b.log" | grep -ciE 'deadlock|intake batch failed|alert not stored' || true)"
assigned=$(psql -qAt "$url" -c "SELECT COUNT(*) FROM cases WHERE assignee_id IS NOT NULL")
total=$(psql -qAt "$url" -c "SELECT COUNT(*) FROM alerts")
echo "$total alerts, $assigned cases assigned at intake"
exit "$failed"
