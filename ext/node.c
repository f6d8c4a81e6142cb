/*
** node.c — build/lsm-node: a dqlite node with the lsm module in every
** connection it opens, so that lsm tables kept in the database file are
** replicated by Raft with the rest of the database.
**
** Usage (README, "More than one machine"; `make cluster-demo` runs this):
**
**     build/lsm-node --id 1 --address 127.0.0.1:9001 --dir /var/lib/lsm/n1 &
**     build/lsm-node --id 2 --address 127.0.0.1:9002 --dir /var/lib/lsm/n2 --join 127.0.0.1:9001 &
**     build/lsm-node --id 3 --address 127.0.0.1:9003 --dir /var/lib/lsm/n3 --join 127.0.0.1:9001 &
**     dqlite -s 127.0.0.1:9001 app.db "CREATE VIRTUAL TABLE kv USING lsm"
**     dqlite -s 127.0.0.1:9001 app.db "INSERT INTO kv VALUES('apple', 'red')"
**     dqlite -s 127.0.0.1:9001 app.db "SELECT * FROM kv"
**
**   --id N            the node's Raft id; node 1 bootstraps a new cluster
**   --address H:P     where the node listens and other nodes reach it
**   --dir DIR         its Raft log and snapshots (made if missing)
**   --join A[,A...]   nodes of the cluster to join: once started, the node
**                     asks the leader to add it and make it a voter
**                     (dqwire.c; skipped when DIR already holds a node)
**   --latency-ms N    one-way network latency dqlite plans for (default:
**                     dqlite's, an election timeout of 3 s); elections
**                     time out after 15 N ms
**   --snapshot N      take a Raft snapshot every N log entries (default 1024)
**
** It stops cleanly on SIGTERM or SIGINT.  What it does beyond
** dqlite_node_start, each for a reason found with dqlite 1.11:
**   - SIGPIPE is ignored: a node writing to a peer that just died gets
**     EPIPE instead of dying silently mid-election;
**   - sqlite3_lsm_replicated("dqlite") (sqlite3_lsm.h): CREATE VIRTUAL
**     TABLE ... USING lsm('dir') or lsm(':memory:') is refused, since dqlite
**     replicates the database file only and such a table's rows would stay
**     on one host; and lsm_flush()/lsm_compact() outside BEGIN ... COMMIT
**     are refused: they would commit on their own inside a statement, which
**     dqlite 1.11 never replicates (after such a flush run as a query, the
**     next query killed the leader);
**   - sqlite3_auto_extension registers lsm, and an authorizer, on every
**     connection dqlite opens (load_extension() is not reachable through
**     dqlite).  The authorizer refuses what dqlite 1.11 cannot survive:
**     PRAGMA journal_mode=<not WAL> and PRAGMA page_size=<not 4096>
**     (its VFS answers them with a static error string that SQLite then
**     frees: the leader aborts), and ATTACH (the in-memory VFS cannot hold
**     a second database per connection: "disk I/O error", then
**     "malformed").  What dqlite itself issues (page_size=4096,
**     journal_mode=WAL, synchronous, wal_autocheckpoint, foreign_keys) and
**     every query form of a pragma pass.
*/
#include <dqlite.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dqwire.h"
#include "sqlite3_lsm.h"

#define NODE_PAGE_SIZE "4096"    /* dqlite 1.11's page size */

/* ---- the authorizer every connection gets ---- */

static int node_authorize(void *pArg, int eAction, const char *z1, const char *z2,
                          const char *zDb, const char *zTrigger){
  (void)pArg; (void)zDb; (void)zTrigger;
  if( eAction == SQLITE_ATTACH ){
    fprintf(stderr, "lsm-node: ATTACH refused: dqlite replicates one database per connection\n");
    return SQLITE_DENY;
  }
  if( eAction == SQLITE_PRAGMA && z1 && z2 ){
    if( sqlite3_stricmp(z1, "journal_mode") == 0 && sqlite3_stricmp(z2, "wal") != 0 ){
      fprintf(stderr, "lsm-node: PRAGMA journal_mode=%s refused: dqlite needs WAL\n", z2);
      return SQLITE_DENY;
    }
    if( sqlite3_stricmp(z1, "page_size") == 0 && strcmp(z2, NODE_PAGE_SIZE) != 0 ){
      fprintf(stderr, "lsm-node: PRAGMA page_size=%s refused: dqlite uses " NODE_PAGE_SIZE "\n", z2);
      return SQLITE_DENY;
    }
  }
  return SQLITE_OK;
}

static int node_connection_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi){
  (void)pzErrMsg; (void)pApi;
  return sqlite3_set_authorizer(db, node_authorize, 0);
}

/* ---- joining ---- */

/* True if zDir holds anything (a node that ran before: its Raft state). */
static int dir_has_state(const char *zDir){
  DIR *d = opendir(zDir);
  struct dirent *e;
  int bAny = 0;
  if( d == 0 ) return 0;
  while( !bAny && (e = readdir(d)) != 0 ) bAny = e->d_name[0] != '.';
  closedir(d);
  return bAny;
}

/* Ask the leader (found through azJoin) to add node iId at zAddr and
** make it a voter; retried for up to 30 s while the cluster elects. */
static int node_join(uint64_t iId, const char *zAddr, const char *const *azJoin, int nJoin){
  int iTry;
  for(iTry = 0; iTry < 60; iTry++){
    dqw_conn *c = 0;
    char *zErr = 0;
    int rc = dqw_connect_leader(azJoin, nJoin, 5000, &c, &zErr);
    if( rc == 0 ){
      rc = dqw_add(c, iId, zAddr, &zErr);
      /* Added by an earlier attempt whose answer was lost: go on. */
      if( rc != 0 && rc > 0 && zErr && strstr(zErr, "already") ) rc = 0;
    }
    if( rc == 0 ) rc = dqw_assign(c, iId, DQW_VOTER, &zErr);
    if( rc == 0 ){
      fprintf(stderr, "lsm-node %llu: joined through %s as a voter\n",
              (unsigned long long)iId, dqw_address(c));
      dqw_close(c);
      return 0;
    }
    fprintf(stderr, "lsm-node %llu: join: %s (retrying)\n", (unsigned long long)iId,
            zErr ? zErr : "failed");
    free(zErr);
    dqw_close(c);
    sleep(1);
  }
  return 1;
}

/* ---- main ---- */

static void usage(void){
  fprintf(stderr, "usage: lsm-node --id N --address HOST:PORT --dir DIR [--join ADDR[,ADDR...]]\n"
                  "                [--latency-ms N] [--snapshot N]\n");
  exit(2);
}

int main(int argc, char **argv){
  static const struct option aOpt[] = {
    {"id", required_argument, 0, 'i'},
    {"address", required_argument, 0, 'a'},
    {"dir", required_argument, 0, 'd'},
    {"join", required_argument, 0, 'j'},
    {"latency-ms", required_argument, 0, 'l'},
    {"snapshot", required_argument, 0, 's'},
    {0, 0, 0, 0}
  };
  unsigned long long iId = 0;
  const char *zAddr = 0, *zDir = 0;
  char *zJoin = 0, *azJoin[16];
  int nJoin = 0, nLatency = 0, nSnapshot = 0, bFresh, ch, rc, iSig;
  dqlite_node *pNode = 0;
  sigset_t mask;

  while( (ch = getopt_long(argc, argv, "", aOpt, 0)) != -1 ){
    switch( ch ){
      case 'i': iId = strtoull(optarg, 0, 10); break;
      case 'a': zAddr = optarg; break;
      case 'd': zDir = optarg; break;
      case 'j': zJoin = strdup(optarg); break;
      case 'l': nLatency = atoi(optarg); break;
      case 's': nSnapshot = atoi(optarg); break;
      default: usage();
    }
  }
  if( iId == 0 || zAddr == 0 || zDir == 0 || optind != argc ) usage();
  if( zJoin ){
    char *z, *zSave = 0;
    for(z = strtok_r(zJoin, ",", &zSave); z && nJoin < 16; z = strtok_r(0, ",", &zSave)){
      azJoin[nJoin++] = z;
    }
  }

  signal(SIGPIPE, SIG_IGN);
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  pthread_sigmask(SIG_BLOCK, &mask, 0);   /* dqlite's threads inherit it; main waits */

  sqlite3_lsm_replicated("dqlite");
  sqlite3_auto_extension((void(*)(void))sqlite3_lsm_init);
  sqlite3_auto_extension((void(*)(void))node_connection_init);

  if( mkdir(zDir, 0755) != 0 && errno != EEXIST ){
    fprintf(stderr, "lsm-node: %s: %s\n", zDir, strerror(errno));
    return 1;
  }
  bFresh = !dir_has_state(zDir);
  rc = dqlite_node_create(iId, zAddr, zDir, &pNode);
  if( rc == 0 ) rc = dqlite_node_set_bind_address(pNode, zAddr);
  if( rc == 0 && nLatency > 0 ) rc = dqlite_node_set_network_latency_ms(pNode, (unsigned)nLatency);
  if( rc == 0 && nSnapshot > 0 ){
    rc = dqlite_node_set_snapshot_params(pNode, (unsigned)nSnapshot, (unsigned)nSnapshot);
  }
  if( rc == 0 ) rc = dqlite_node_start(pNode);
  if( rc != 0 ){
    fprintf(stderr, "lsm-node %llu: %s\n", iId, pNode ? dqlite_node_errmsg(pNode) : "out of memory");
    if( pNode ) dqlite_node_destroy(pNode);
    return 1;
  }
  fprintf(stderr, "lsm-node %llu: listening on %s, data in %s\n", iId, zAddr, zDir);
  if( nJoin > 0 && bFresh && iId != 1 ){
    if( node_join(iId, zAddr, (const char *const *)azJoin, nJoin) != 0 ){
      fprintf(stderr, "lsm-node %llu: could not join the cluster\n", iId);
    }
  }

  sigwait(&mask, &iSig);
  fprintf(stderr, "lsm-node %llu: stopping\n", iId);
  dqlite_node_stop(pNode);
  dqlite_node_destroy(pNode);
  free(zJoin);
  return 0;
}
