#!/usr/bin/env bash
# Copies a desk kept by the pages benchmark and adds a burst to it: N cases (default
# 20,000) waiting unassigned in the Transfers queue, opened within one minute, so that
# benches/served.sh can measure the queue page with that backlog:
#
#   bash benches/served/backlog.sh /tmp/pages /tmp/pages-backlog 20000
#   FLOOR=http://127.0.0.1:8089/queue bash benches/served.sh /tmp/pages-backlog
#
# The copy shares nothing with the original but the sessions in targets.txt.
set -euo pipefail
FROM=${1:?the directory RISKDESK_BENCH_KEEP filled}
TO=${2:?a directory for the copy}
N=${3:-20000}
mkdir -p "$TO"
cp "$FROM/bench.db" "$TO/bench.db"
rm -f "$TO/bench.db-wal" "$TO/bench.db-shm"
[ -f "$FROM/bench.db-wal" ] && cp "$FROM/bench.db-wal" "$TO/bench.db-wal"
cp "$FROM/targets.txt" "$TO/targets.txt"
rm -rf "$TO/data" && cp -a "$FROM/data" "$TO/data"
python3 - "$TO/bench.db" "$N" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = int(sys.argv[2])
queue = db.execute("SELECT id FROM queues WHERE name = 'Transfers'").fetchone()[0]
now = db.execute("SELECT datetime('now')").fetchone()[0]
customers = db.execute("SELECT MAX(id) FROM customers").fetchone()[0]
# New, unassigned, high priority, opened over the last minute; first response due in
# 30 minutes, resolution in 8 hours: a burst of alerts nobody has taken yet.
db.execute("""
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)
INSERT INTO cases (customer_id, queue_id, priority, status, rule_code, opened_at, updated_at,
  first_response_due, resolution_due, paused_minutes, breached, alert_count, weight,
  next_due, next_alarm_at, sla_started_at, reopen_count, qa_pending, waiting_since)
SELECT 1 + (i * 7919) % ?, ?, 'high', 'new', 'LARGE_TRANSFER', t, t,
  datetime(t, '+30 minutes'), datetime(t, '+8 hours'), 0, 0, 1, 1,
  datetime(t, '+30 minutes'), datetime(t, '+22 minutes'), t, 0, 0, t
FROM (SELECT i, datetime(?, '-' || (i % 60) || ' seconds') AS t FROM k)
""", (n, customers, queue, now))
db.commit()
print(f"{n} waiting cases added to Transfers (queue {queue}); open in Transfers:",
      db.execute("SELECT COUNT(*) FROM cases WHERE queue_id = ? AND resolved_at IS NULL", (queue,)).fetchone()[0])
PY
