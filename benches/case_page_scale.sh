#!/bin/bash
# How the case page scales with the number of cases: fills two SQLite desks (10,000
# and 1,000,000 cases, the same shape per customer) and times GET /cases/RC-000042.
#
#   bash benches/case_page_scale.sh [target/release/riskdesk] [requests]
#
# Each desk: the demo configuration, a supervisor, customers with five cases each,
# one alert and three timeline events per case, and customer identifiers where every
# device is shared by two customers and every address by five (so the case page lists
# history and linked cases). Requests are sequential, after 20 to warm up.
set -euo pipefail
BIN=${1:-target/release/riskdesk}
N=${2:-200}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fill() { # DB CASES CUSTOMERS
  local db=$1 n=$2 c=$3
  sqlite3 "$db" >/dev/null <<SQL
PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;
BEGIN;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < $c)
INSERT INTO customers (id, external_id, name, email, phone, locale, timezone, attributes, created_at, updated_at)
SELECT i, 'C-' || i, 'Customer ' || i, 'c' || i || '@example.com', '+86138' || printf('%08d', i), 'zh-CN',
  'Asia/Shanghai', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM s;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < $n)
INSERT INTO cases (id, customer_id, queue_id, priority, status, rule_code, open_key, opened_at, updated_at,
  first_response_due, resolution_due, resolved_at, alert_count, weight, next_due)
SELECT i, (i % $c) + 1, (i % 7) + 1,
  CASE i % 4 WHEN 0 THEN 'critical' WHEN 1 THEN 'high' WHEN 2 THEN 'medium' ELSE 'low' END,
  CASE WHEN i % 10 = 0 THEN 'new' ELSE 'resolved' END, 'LARGE_TRANSFER', NULL,
  datetime('2026-01-01', '+' || (i % 300000) || ' minutes'), datetime('2026-01-01', '+' || (i % 300000) || ' minutes'),
  datetime('2026-01-01', '+' || (i % 300000 + 30) || ' minutes'), datetime('2026-01-01', '+' || (i % 300000 + 240) || ' minutes'),
  CASE WHEN i % 10 = 0 THEN NULL ELSE datetime('2026-01-01', '+' || (i % 300000 + 100) || ' minutes') END, 1, 1,
  datetime('2026-01-01', '+' || (i % 300000 + 30) || ' minutes') FROM s;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < $n)
INSERT INTO alerts (id, external_id, rule_code, severity, received_at, customer_id, case_id, amount, currency, transaction_ref, attributes)
SELECT i, 'a-' || i, 'LARGE_TRANSFER', 'high', datetime('2026-01-01', '+' || (i % 300000) || ' minutes'), (i % $c) + 1, i,
  '125000.00', 'CNY', 'TX-' || i,
  '{"device_id":"d-' || (i % ($c / 2)) || '","ip":"10.0.' || ((i % ($c / 5)) / 256) || '.' || (i % 256) || '","channel":"app"}' FROM s;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < $n)
INSERT INTO case_events (case_id, at, kind, data)
SELECT i, datetime('2026-01-01', '+' || (i % 300000) || ' minutes'), k.kind,
  '{"rule":"LARGE_TRANSFER","queue":"Transfers","priority":"high"}'
FROM s, (SELECT 'case.opened' AS kind UNION ALL SELECT 'alert.received' UNION ALL SELECT 'sla.set') k;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < $c)
INSERT INTO customer_identifiers (kind, value_hash, customer_id, masked)
SELECT 'device_id', 'dev' || (i % ($c / 2)), i, '**' || (i % 10000) FROM s
UNION ALL SELECT 'ip', 'ip' || (i % ($c / 5)), i, '10.0.0.*' FROM s
UNION ALL SELECT 'phone', 'ph' || i, i, '+86 138****0000' FROM s;
COMMIT;
SQL
}

measure() { # DATADIR PORT
  local d=$1 p=$2 jar=$1/jar
  RISKDESK_DATA_DIR=$d RISKDESK_BIND=127.0.0.1:$p RUST_LOG=warn "$BIN" serve >"$d/server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$p/healthz" && break; sleep 0.2; done
  local token
  token=$(curl -s -c "$jar" -b "$jar" "http://127.0.0.1:$p/login" |
    grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"//')
  curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "email=boss@bank.example" \
    --data-urlencode "password=bench-password-123456" --data-urlencode "csrf_token=$token" \
    "http://127.0.0.1:$p/login"
  for _ in $(seq 1 20); do curl -s -o /dev/null -b "$jar" "http://127.0.0.1:$p/cases/RC-000042"; done
  for _ in $(seq 1 "$N"); do
    curl -s -o /dev/null -b "$jar" -w '%{time_total}\n' "http://127.0.0.1:$p/cases/RC-000042"
  done | sort -n >"$d/times.txt"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  awk -v n="$N" '{ t[NR] = $1 * 1000 } END {
    printf "p50 %.1f ms  p90 %.1f ms  p99 %.1f ms\n", t[int(n * 0.5)], t[int(n * 0.9)], t[int(n * 0.99)] }' "$d/times.txt"
}

port=18930
for spec in "10000 2000" "1000000 200000"; do
  set -- $spec
  d=$WORK/desk-$1
  mkdir -p "$d"
  RISKDESK_DATA_DIR=$d "$BIN" config apply "$ROOT/src/demo_desk.toml" >/dev/null
  echo "bench-password-123456" | RISKDESK_DATA_DIR=$d "$BIN" user add --email boss@bank.example \
    --name Boss --role supervisor --password-stdin >/dev/null
  fill "$d/riskdesk.db" "$1" "$2"
  port=$((port + 1))
  printf '%8d cases: ' "$1"
  measure "$d" "$port"
done
