#!/usr/bin/env python3
"""A storm of sign-ins against a running `riskdesk serve`: N browsers at once each
fetch the sign-in page (for its CSRF token) and post the right password. Prints the
answers by status, the latency percentiles of the posts, and the server's resident
memory (VmRSS now, VmHWM the peak) before and after.

    RISKDESK_DATA_DIR=/tmp/storm riskdesk user add --email gale@bank.example \
        --name Storm --role agent --password-stdin <<< 'a storm of sign-ins'
    RISKDESK_DATA_DIR=/tmp/storm riskdesk serve --bind 127.0.0.1:8095 &
    python3 benches/signin_storm.py http://127.0.0.1:8095 $! 200

Arguments: base URL, the server's pid, browsers (default 200), e-mail and password
(default gale@bank.example / 'a storm of sign-ins').
"""

import re
import sys
import threading
import time

import requests


def memory(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) // 1024
    return fields


def main():
    base = sys.argv[1].rstrip("/")
    pid = int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    email = sys.argv[4] if len(sys.argv) > 4 else "gale@bank.example"
    password = sys.argv[5] if len(sys.argv) > 5 else "a storm of sign-ins"

    sessions = []
    for _ in range(n):
        s = requests.Session()
        page = s.get(f"{base}/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        sessions.append((s, token))
    before = memory(pid)
    start = threading.Barrier(n + 1)
    results = [None] * n

    def one(i):
        s, token = sessions[i]
        start.wait()
        t0 = time.perf_counter()
        r = s.post(
            f"{base}/login",
            data={"email": email, "password": password, "csrf_token": token},
            allow_redirects=False,
        )
        results[i] = (r.status_code, time.perf_counter() - t0)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    after = memory(pid)

    by_status = {}
    for status, _ in results:
        by_status[status] = by_status.get(status, 0) + 1
    times = sorted(t for _, t in results)

    def pct(p):
        return times[min(len(times) - 1, int(p / 100 * len(times)))] * 1000

    print(f"{n} sign-ins at once in {wall:.2f} s: " + ", ".join(
        f"{k}: {v}" for k, v in sorted(by_status.items())))
    print(f"latency p50 {pct(50):.0f} ms, p90 {pct(90):.0f} ms, p99 {pct(99):.0f} ms, "
          f"max {times[-1] * 1000:.0f} ms")
    print(f"resident memory: {before['VmRSS']} MiB before, {after['VmRSS']} MiB after, "
          f"peak {after['VmHWM']} MiB")
    if any(s >= 500 for s, _ in results):
        sys.exit("a sign-in got a server error")


if __name__ == "__main__":
    main()
