#!/usr/bin/env python3
"""sqlite_writer.py - a live writer for a WAL database, like a busy gateway.

  sqlite_writer.py DB LOG [--interval SECONDS]

Inserts one row per transaction into table rows (id INTEGER PRIMARY KEY,
writer TEXT, payload BLOB) until killed.  After each COMMIT returns, the row
id is appended to LOG (flushed), so every id in LOG was committed before it
appeared there: a test that reads LOG's last line before starting a snapshot
knows which rows the snapshot must contain.
"""
import argparse
import os
import signal
import sqlite3
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("log")
    ap.add_argument("--interval", type=float, default=0.002)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    db = sqlite3.connect(a.db, timeout=30, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA busy_timeout=30000")
    db.execute("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, writer TEXT, payload BLOB)")
    log = open(a.log, "a", buffering=1)
    pid = str(os.getpid())
    n = 0
    while True:
        n += 1
        while True:
            try:
                db.execute("BEGIN IMMEDIATE")
                cur = db.execute("INSERT INTO rows (writer, payload) VALUES (?, ?)",
                                 (pid, os.urandom(64 + n % 512)))
                rid = cur.lastrowid
                db.execute("COMMIT")
                break
            except sqlite3.OperationalError:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.OperationalError:
                    pass
                time.sleep(0.01)
        log.write("%d\n" % rid)
        if a.interval:
            time.sleep(a.interval)


if __name__ == "__main__":
    sys.exit(main())
