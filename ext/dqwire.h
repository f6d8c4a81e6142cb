/*
** dqwire.h — a small client of dqlite's wire protocol (version 1), enough
** to join nodes to a cluster and to run SQL on its leader.
**
** Usage (ext/cluster.c is a command-line front end):
**
**     dqw_conn *c; char *zErr = 0;
**     const char *az[] = {"127.0.0.1:9001", "127.0.0.1:9002"};
**     if( dqw_connect_leader(az, 2, 5000, &c, &zErr) == 0
**      && dqw_open(c, "app.db", &zErr) == 0 ){
**       dqw_exec(c, "BEGIN; INSERT INTO kv VALUES('a', 1); COMMIT", 0, &zErr);
**       dqw_query(c, "SELECT key, value FROM kv", print_row, 0, &zErr);
**     }
**     dqw_close(c); free(zErr);
**
** Only the client side, and only what lsm needs; no libdqlite is linked
** (a client needs none).  The layouts follow dqlite 1.11's src/request.h,
** src/response.h, src/tuple.h and src/lib/serialize.h; dqwire.c draws them.
** Every call is blocking, with the socket's send and receive timeouts set
** to the timeout given at connect time.
**
** Results: 0, or a positive SQLite (extended) result code the server sent
** in a FAILURE response (*pzErr is its message), or DQW_IOERR when the
** connection failed or timed out (the node may have died), or DQW_PROTO
** when the bytes made no sense.  *pzErr is malloc'd: free() it.  After
** DQW_IOERR or DQW_PROTO the connection is useless: close it.
*/
#ifndef LSM_DQWIRE_H
#define LSM_DQWIRE_H

#include <stdint.h>

#define DQW_IOERR   (-1)     /* connection refused, closed, timed out */
#define DQW_PROTO   (-2)     /* a response we cannot parse */

/* Roles, as dqlite's protocol numbers them (src/protocol.h). */
#define DQW_VOTER   0
#define DQW_STANDBY 1
#define DQW_SPARE   2

typedef struct dqw_conn dqw_conn;

/* Connect to one node ("host:port", IPv4) and send the protocol version. */
int dqw_connect(const char *zAddr, int timeout_ms, dqw_conn **ppConn, char **pzErr);
/* Ask the node which node leads: *pId 0 and *pzAddr "" if it does not know
** (*pzAddr malloc'd). */
int dqw_leader(dqw_conn *c, uint64_t *pId, char **pzAddr, char **pzErr);
/* Ask each of azAddr in turn who leads and connect there, until timeout_ms
** has passed (an election in progress is waited for). */
int dqw_connect_leader(const char *const *azAddr, int nAddr, int timeout_ms,
                       dqw_conn **ppConn, char **pzErr);
/* The address this connection was made to. */
const char *dqw_address(dqw_conn *c);
/* Open database zName on this connection (one database per connection). */
int dqw_open(dqw_conn *c, const char *zName, char **pzErr);
/* Run zSql, one or more statements; *pnChanges (if not NULL) is
** sqlite3_changes() after the last one. */
int dqw_exec(dqw_conn *c, const char *zSql, uint64_t *pnChanges, char **pzErr);
/* Run one query; xRow is called once per row with the values as text
** (NULL for SQL NULL, blobs as x'..' hex); a non-zero return stops
** reading rows (the rest are read and dropped). */
int dqw_query(dqw_conn *c, const char *zSql,
              int (*xRow)(void *pArg, int nCol, char **azVal), void *pArg, char **pzErr);
/* Add node id at zAddr to the cluster (as a spare); then dqw_assign. */
int dqw_add(dqw_conn *c, uint64_t id, const char *zAddr, char **pzErr);
/* Give node id a role (DQW_VOTER ...). */
int dqw_assign(dqw_conn *c, uint64_t id, int role, char **pzErr);
/* Ask the leader to hand leadership to node id. */
int dqw_transfer(dqw_conn *c, uint64_t id, char **pzErr);
/* The cluster's members as the node knows them: xNode per member. */
int dqw_cluster(dqw_conn *c, void (*xNode)(void *pArg, uint64_t id, const char *zAddr, int role),
                void *pArg, char **pzErr);
void dqw_close(dqw_conn *c);

#endif /* LSM_DQWIRE_H */
