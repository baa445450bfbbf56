#!/usr/bin/env python3
"""Renews the sessions of a desk kept by the pages benchmark (SQLite).

The sessions written in targets.txt were made when the desk was filled; once idle
longer than the desk's limit they are removed, and every request made with them is
a redirect to the sign-in page. This gives each cookie line whose session is gone a
new session of a user of the same role (the supervisor's to a supervisor, the crowd's
to distinct agents) and rewrites the line, so benches/served.sh measures real pages:

    python3 benches/served/sessions.py /tmp/pages
"""
import base64
import datetime
import hashlib
import os
import secrets
import sqlite3
import sys

keep = sys.argv[1]
targets = os.path.join(keep, "targets.txt")
db = sqlite3.connect(os.path.join(keep, "bench.db"), timeout=30)
lines = open(targets).read().splitlines()
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def alive(cookie):
    token = cookie.split("=", 1)[1]
    digest = hashlib.sha256(token.encode()).hexdigest()
    return db.execute("SELECT 1 FROM sessions WHERE token_hash = ?", (digest,)).fetchone()


def new_session(user_id):
    token = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    csrf = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    db.execute(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (hashlib.sha256(token.encode()).hexdigest(), user_id, csrf, now, now),
    )
    return "riskdesk_session=" + token


def users(role):
    return [r[0] for r in db.execute(
        "SELECT id FROM users WHERE role = ? AND active ORDER BY id", (role,))]


agents = iter(users("agent")[1:])  # the first agent is agent_cookie's
renewed = 0
out = []
for line in lines:
    kind, _, value = line.partition(" ")
    if kind in ("agent_cookie", "supervisor_cookie", "crowd_cookie") and not alive(value):
        if kind == "supervisor_cookie":
            user = users("supervisor")[0]
        elif kind == "agent_cookie":
            user = users("agent")[0]
        else:
            user = next(agents)
        value = new_session(user)
        renewed += 1
    out.append(f"{kind} {value}")
db.commit()
with open(targets + ".new", "w") as f:
    f.write("\n".join(out) + "\n")
os.replace(targets + ".new", targets)
print(f"{renewed} sessions renewed in {targets}")
