/*
 * leader.h - leader election among the daemons that share one store, so that
 * work that must run in one place only (the Kafka ACL reconciler) runs on one
 * daemon at a time.
 *
 * The mechanism follows the store URL (chan/store.h):
 *  - PostgreSQL ("postgres://", "postgresql://", "postgres:conninfo"): a
 *    dedicated connection, outside the store's pool, holding the
 *    session-level advisory lock pg_try_advisory_lock(key), where key is
 *    derived from the election's name (chan_leader_key).  Advisory locks are
 *    per database, so registries on different databases of one server do not
 *    compete.  Leadership ends when that connection ends: the server releases
 *    the lock of a session that is gone, and chan_leader_check notices a
 *    broken connection with a cheap query, reconnects and tries again.
 *  - SQLite ("sqlite:PATH" or a plain PATH): an exclusive, non-blocking
 *    flock() on "PATH.leader", for several daemons on one host sharing one
 *    database file.  The kernel releases the lock when its holder exits or
 *    crashes.  The file holds the holder's pid, for operators.
 *  - "sqlite::memory:": the database is private to one process, which is
 *    therefore always the leader.
 *
 * Nothing blocks for long: acquiring never waits for another holder, and
 * the PostgreSQL connection waits with the deadlines of the store
 * (chan_leader_use_store; chan/store.h's defaults without): opening it at
 * most the connect timeout, each statement's reply at most the reply
 * timeout, also when the server accepts connections but never answers (a
 * stopped server).  A statement without a reply in time is cancelled and
 * its connection closed, which gives leadership up.
 *
 * A chan_leader is used by one thread at a time (the caller serializes).
 *
 * Ownership: chan_leader_new returns an object freed with chan_leader_free,
 * which also gives leadership up.  Returned strings are borrowed.
 */
#ifndef CHAN_LEADER_H
#define CHAN_LEADER_H

#include <stdbool.h>
#include <stdint.h>

#include "chan/error.h"
#include "chan/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct chan_leader chan_leader;

/** How leadership is held. */
typedef enum chan_leader_kind {
    CHAN_LEADER_MEMORY = 0,   /**< private in-memory store: always the leader */
    CHAN_LEADER_FLOCK = 1,    /**< flock() on "<db path>.leader" */
    CHAN_LEADER_POSTGRES = 2, /**< session advisory lock on a dedicated connection */
} chan_leader_kind;

/**
 * Prepare an election.  Nothing is acquired and no connection is made yet;
 * the first chan_leader_check does that.
 *
 * @param[out] out  the election (free with chan_leader_free); NULL on failure
 * @param store_url the store URL, in any form chan_store_open accepts
 * @param name      what is elected, e.g. "acl-reconciler": daemons compete
 *                  only with daemons that use the same name (1 to 128
 *                  printable ASCII characters)
 * @return 0 or CHAN_EINVALID (empty or unsupported URL, bad PostgreSQL
 *         connection string, bad name)
 */
int chan_leader_new(chan_leader **out, const char *store_url, const char *name, chan_error *err);

/**
 * Give the election the deadlines of store (its connect and reply timeouts,
 * chan_store_options) and end its waits when store is aborted
 * (chan_store_abort): a wait cut short fails with CHAN_EUNAVAILABLE and
 * reason CHAN_STORE_R_TIMEOUT, like the store's own calls.  Only PostgreSQL
 * elections wait for anything; for the others nothing changes.  store must
 * outlive the election.
 */
void chan_leader_use_store(chan_leader *leader, chan_store *store);

/** Give leadership up (when held) and free.  NULL-safe. */
void chan_leader_free(chan_leader *leader);

/**
 * Acquire leadership, or confirm that it is still held.
 *
 * When held: PostgreSQL runs "SELECT 1" on the lock's connection (a failure
 * means the session, and with it the lock, is gone: leadership is lost and
 * the election is tried again on a new connection); flock checks that the
 * lock file was not removed or replaced.  When not held: one non-blocking
 * attempt to acquire.
 *
 * @param[out] out_leader true when this process is the leader after the
 *             call; false on every error
 * @return 0, CHAN_EUNAVAILABLE (PostgreSQL unreachable or failing; with
 *         reason CHAN_STORE_R_TIMEOUT when a deadline passed or the store
 *         was aborted), CHAN_EIO (the lock file cannot be opened or locked
 *         for another reason than another holder)
 */
int chan_leader_check(chan_leader *leader, bool *out_leader, chan_error *err);

/** Give leadership up now (a later chan_leader_check competes again).  NULL-safe. */
void chan_leader_release(chan_leader *leader);

/** The result of the last chan_leader_check (false before the first). */
bool chan_leader_is_leader(const chan_leader *leader);

/** The mechanism chosen from the URL. */
chan_leader_kind chan_leader_get_kind(const chan_leader *leader);

/** "memory", "flock" or "postgres". */
const char *chan_leader_kind_name(chan_leader_kind kind);

/**
 * What is locked, for logs: the lock file path, or "advisory lock KEY"
 * (borrowed, valid until chan_leader_free).
 */
const char *chan_leader_target(const chan_leader *leader);

/**
 * The PostgreSQL advisory lock key of an election name: the 64-bit FNV-1a
 * hash of "chanreg.leader:" followed by the name, as a signed integer.
 */
int64_t chan_leader_key(const char *name);

#ifdef __cplusplus
}
#endif
#endif
