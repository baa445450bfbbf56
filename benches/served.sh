#!/usr/bin/env bash
# Measures pages of the real `riskdesk serve` from outside with wrk, beside the floor
# (the bare actix + askama + diesel page of ../shared/bench/baseline), alternating the
# two in pairs so that each ratio is taken in one run on this noisy, shared machine.
#
#   RISKDESK_BENCH_KEEP=/tmp/pages cargo bench --bench pages   # once: a desk of 1M cases
#   cargo build --release
#   FLOOR=http://127.0.0.1:8089/queue bash benches/served.sh /tmp/pages
#   ONLY=crowd FLOOR=… bash benches/served.sh /tmp/pages      # 200 agents signed in
#   RISKDESK_BENCH_KEEP=/tmp/reports cargo bench --bench reports   # once: the reports' desk
#   ONLY=reports CONNECTIONS=4 FLOOR=… bash benches/served.sh /tmp/reports
#
# The floor must already be running (see ../shared/bench/README.md); with FLOOR_PID its
# processor time per page is printed too, as riskdesk's is. Pages measured:
# the queue page, the case page, the case page of a ring's customer (tied to 500
# others) and search as a supervisor; PAIRS (default 3) pairs of DURATION (default 10)
# at CONNECTIONS (default 32). Prints pages/s, p50, p99, the server's processor time
# per page and the ratio to the floor.
#
# `reports` (in ONLY, not by default; a desk kept by the reports benchmark): the
# supervisor's compliance and outcomes reports, one agent's report and the cases behind
# a figure, each over the last 30 days (`compliance outcomes agent_report figure_cases`
# may also be named one by one). A report costs tens of milliseconds of processor time,
# so take CONNECTIONS of a few supervisors at once, not 32.
#
# `crowd` (in ONLY, not by default): USERS (default 200) agents signed in, their
# sessions taken from the desk's `crowd_cookie` lines, refreshing the queue pages of
# the desk's queues and their homes, each request on the next session.
#
# The database is the kept SQLite file, or the PostgreSQL database named on the
# targets file's `database_url` line (the pages benchmark run with
# RISKDESK_BENCH_DATABASE_URL), or DATABASE_URL when set. After each page, and at the
# end, the served process's resident memory (VmRSS) and its peak (VmHWM) are printed
# from /proc/<pid>/status, with VmRSS split into RssAnon (the process's own memory)
# and RssFile (pages of files it maps: on SQLite the database's memory map, which is
# the kernel's shared page cache, counted again for each pooled connection's map).
set -euo pipefail
cd "$(dirname "$0")/.."
KEEP=${1:?the directory RISKDESK_BENCH_KEEP filled}
FLOOR=${FLOOR:?the URL of the running floor page, e.g. http://127.0.0.1:8089/queue}
PAIRS=${PAIRS:-3}
SECONDS_EACH=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
BIND=${BIND:-127.0.0.1:8080}
BIN=${BIN:-target/release/riskdesk}
ONLY=${ONLY:-queue case ring search}
USERS=${USERS:-200}

targets="$KEEP/targets.txt"
agent=$(awk '$1 == "agent_cookie" {print $2}' "$targets")
supervisor=$(awk '$1 == "supervisor_cookie" {print $2}' "$targets")
database=${DATABASE_URL:-$(awk '$1 == "database_url" {print $2}' "$targets")}
database=${database:-sqlite://$KEEP/bench.db}
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
echo "/queues?view=queue&queue=Transfers" > "$work/queue"
REPORTS="compliance outcomes agent_report figure_cases"
ONLY=${ONLY//reports/$REPORTS}
for kind in case ring search $REPORTS; do
  awk -v k="$kind" '$1 == k {print $2}' "$targets" > "$work/$kind"
done
awk '$1 == "crowd_cookie" {print $2}' "$targets" | head -n "$USERS" > "$work/cookies"
for q in Transfers Account%20security New%20accounts Promotions AML%20review Complaints Triage; do
  echo "/queues?view=queue&queue=$q"
  echo "/"
done > "$work/crowd"

# The kept sessions were made when the desk was filled; an idle limit long past would
# turn every measured request into a redirect to the sign-in page.
RUST_LOG=warn RISKDESK_DATABASE_URL="$database" \
  RISKDESK_SESSION_IDLE_MINUTES=${RISKDESK_SESSION_IDLE_MINUTES:-525600} \
  RISKDESK_SESSION_MAX_HOURS=${RISKDESK_SESSION_MAX_HOURS:-8760} \
  "$BIN" serve --bind "$BIND" --data-dir "$KEEP/data" > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fs "http://$BIND/healthz" > /dev/null && break
  sleep 0.2
done

# processor time (user + system) a process has used, in clock ticks
ticks() {
  [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || { echo 0; return; }
  awk '{print $14 + $15}' "/proc/$1/stat"
}
hz=$(getconf CLK_TCK)
threads=$((CONNECTIONS < 2 ? CONNECTIONS : 2))

# one wrk run: "<requests/s> <p99> <non-2xx> <µs of the server's processor per request>";
# the first argument is the server's pid (empty: not known, 0 µs)
run() {
  local pid=$1 out before after
  shift
  before=$(ticks "$pid")
  out=$(wrk -t"$threads" -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency "$@")
  after=$(ticks "$pid")
  local rate p50 p99 non2xx requests
  rate=$(awk '/^Requests\/sec/ {print $2}' <<< "$out")
  p50=$(awk '$1 == "50%" {print $2}' <<< "$out")
  p99=$(awk '$1 == "99%" {print $2}' <<< "$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<< "$out")
  requests=$(awk '/requests in/ {print $1}' <<< "$out")
  cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$requests" 'BEGIN {printf "%.0f", (n > 0 ? t / hz * 1e6 / n : 0)}')
  echo "$rate $p50 $p99 ${non2xx:-0} $cpu"
}

# the served process's memory: "VmHWM: … MiB, VmRSS: … MiB, RssAnon: … MiB, RssFile: … MiB"
memory() {
  awk '$1 ~ /^(VmRSS|VmHWM|RssAnon|RssFile):$/ {printf "%s%s %.1f MiB", sep, $1, $2 / 1024; sep = ", "}' "/proc/$server/status"
}

echo "served: $(memory) (database $(sed -E 's#://[^:/@]+:[^@]*@#://***@#' <<< "$database"))"
# A page measured must answer 200 to its session: a redirect (to sign in, say) would be
# measured as a very fast page.
check() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $2" "http://$BIND$1")
  [ "$code" = 200 ] || { echo "$1 answers $code, not 200: the measure would be wrong" >&2; exit 1; }
}
for page in $ONLY; do
  cookie=$agent
  if [ "$page" = search ] || [[ " $REPORTS " == *" $page "* ]]; then cookie=$supervisor; fi
  if [ "$page" = crowd ]; then
    check / "$(head -n 1 "$work/cookies")"
  else
    check "$(head -n 1 "$work/$page")" "$cookie"
  fi
  for pair in $(seq 1 "$PAIRS"); do
    read -r f_rate _ f_p99 _ f_cpu <<< "$(run "${FLOOR_PID:-}" "$FLOOR")"
    if [ "$page" = crowd ]; then
      [ -s "$work/cookies" ] || { echo "no crowd_cookie lines in $targets: fill again" >&2; exit 1; }
      read -r r_rate r_p50 r_p99 r_bad r_cpu <<< "$(PATHS="$work/crowd" COOKIES="$work/cookies" run "$server" -s benches/served/crowd.lua "http://$BIND")"
      page_name="crowd of $(wc -l < "$work/cookies")"
    else
      read -r r_rate r_p50 r_p99 r_bad r_cpu <<< "$(PATHS="$work/$page" COOKIE="$cookie" run "$server" -s benches/served/paths.lua "http://$BIND")"
      page_name=$page
    fi
    ratio=$(awk -v a="$r_rate" -v b="$f_rate" 'BEGIN {printf "%.2f", a / b}')
    echo "$page_name pair $pair: riskdesk $r_rate/s p50 $r_p50 p99 $r_p99 (non-2xx $r_bad, ${r_cpu} µs CPU each) | floor $f_rate/s p99 $f_p99 (${f_cpu} µs) | ratio $ratio"
  done
  echo "after $page: $(memory)"
done
