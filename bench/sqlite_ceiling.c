/*
 * Storage ceiling for `make bench`: what libsqlite3 itself can commit, with no HTTP, no Swift, no GRDB.
 *
 * Same schema shape as Avio's ingest path (migration 3: `webhook_events` with its dedup and tenant indexes, `inbox`
 * with its indexes), same pragmas as AppDatabase (journal_mode=WAL, synchronous=FULL, foreign_keys=ON), same work per
 * event as AppDatabase.ingest: INSERT … ON CONFLICT DO NOTHING into webhook_events, check changes(), INSERT the inbox
 * job with last_insert_rowid(); BATCH events per BEGIN IMMEDIATE … COMMIT (one WAL fsync per commit). The payload is
 * the same JSON the webhook benchmark posts. Prepared statements are reused, timestamps are formatted per batch.
 *
 * Usage: sqlite_ceiling DB_PATH SECONDS BATCH
 * Prints: rows=<events committed> commits=<n> seconds=<elapsed> rows_per_s=<r> commits_per_s=<c>
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void check(int rc, sqlite3 *db, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "sqlite_ceiling: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s DB_PATH SECONDS BATCH\n", argv[0]);
        return 2;
    }
    double seconds = atof(argv[2]);
    int batch = atoi(argv[3]);
    sqlite3 *db;
    check(sqlite3_open(argv[1], &db), db, "open");
    sqlite3_busy_timeout(db, 5000);
    check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", 0, 0, 0), db, "pragmas");
    check(sqlite3_exec(db,
        "CREATE TABLE IF NOT EXISTS webhook_events (id INTEGER PRIMARY KEY AUTOINCREMENT, tenant INTEGER NOT NULL,"
        " channel TEXT NOT NULL, event TEXT NOT NULL, message_id TEXT, payload TEXT NOT NULL, received_at TEXT NOT NULL);"
        "CREATE UNIQUE INDEX IF NOT EXISTS webhook_events_dedup ON webhook_events(tenant, channel, message_id)"
        " WHERE message_id IS NOT NULL;"
        "CREATE INDEX IF NOT EXISTS webhook_events_by_tenant ON webhook_events(tenant, id);"
        "CREATE TABLE IF NOT EXISTS inbox (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " event_id INTEGER NOT NULL UNIQUE REFERENCES webhook_events(id), tenant INTEGER NOT NULL, kind TEXT NOT NULL,"
        " status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'parked')),"
        " attempts INTEGER NOT NULL DEFAULT 0, available_at REAL NOT NULL, lease_until REAL, last_error TEXT,"
        " created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS inbox_ready ON inbox(status, available_at, id);"
        "CREATE INDEX IF NOT EXISTS inbox_by_tenant ON inbox(tenant, status, id);", 0, 0, 0), db, "schema");

    sqlite3_stmt *ev, *job;
    check(sqlite3_prepare_v2(db,
        "INSERT INTO webhook_events(tenant, channel, event, message_id, payload, received_at) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING", -1, &ev, 0), db, "prepare event");
    check(sqlite3_prepare_v2(db,
        "INSERT INTO inbox(event_id, tenant, kind, available_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        -1, &job, 0), db, "prepare job");

    long rows = 0, commits = 0;
    char id[64], payload[256], stamp[96];
    double start = now_s(), elapsed = 0;
    while ((elapsed = now_s() - start) < seconds) {
        struct timespec wall;
        clock_gettime(CLOCK_REALTIME, &wall);
        struct tm tm;
        gmtime_r(&wall.tv_sec, &tm);
        snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, wall.tv_nsec / 1000000);
        double epoch = (double)wall.tv_sec + (double)wall.tv_nsec / 1e9;
        check(sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0), db, "begin");
        for (int i = 0; i < batch; i++) {
            snprintf(id, sizeof id, "ceil-%ld", rows + i);
            int plen = snprintf(payload, sizeof payload,
                "{\"event\":\"messages.incoming\",\"tenant\":1,\"channel\":\"whatsapp\",\"message_id\":\"%s\","
                "\"from\":\"7999%07ld\",\"text\":\"hi\"}", id, (rows + i) % 1000);
            sqlite3_bind_int64(ev, 1, 1);
            sqlite3_bind_text(ev, 2, "whatsapp", -1, SQLITE_STATIC);
            sqlite3_bind_text(ev, 3, "messages.incoming", -1, SQLITE_STATIC);
            sqlite3_bind_text(ev, 4, id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(ev, 5, payload, plen, SQLITE_TRANSIENT);
            sqlite3_bind_text(ev, 6, stamp, -1, SQLITE_STATIC);
            check(sqlite3_step(ev), db, "insert event");
            sqlite3_reset(ev);
            if (sqlite3_changes(db) == 0) continue;
            sqlite3_bind_int64(job, 1, sqlite3_last_insert_rowid(db));
            sqlite3_bind_int64(job, 2, 1);
            sqlite3_bind_text(job, 3, "messages.incoming", -1, SQLITE_STATIC);
            sqlite3_bind_double(job, 4, epoch);
            sqlite3_bind_text(job, 5, stamp, -1, SQLITE_STATIC);
            sqlite3_bind_text(job, 6, stamp, -1, SQLITE_STATIC);
            check(sqlite3_step(job), db, "insert job");
            sqlite3_reset(job);
        }
        check(sqlite3_exec(db, "COMMIT", 0, 0, 0), db, "commit");
        rows += batch;
        commits++;
    }
    sqlite3_finalize(ev);
    sqlite3_finalize(job);
    sqlite3_close(db);
    printf("rows=%ld commits=%ld seconds=%.3f rows_per_s=%.0f commits_per_s=%.0f\n", rows, commits, elapsed,
           rows / elapsed, commits / elapsed);
    return 0;
}
