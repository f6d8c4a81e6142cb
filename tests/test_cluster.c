/*
** test_cluster.c — lsm tables replicated by dqlite: three build/lsm-node
** processes on 127.0.0.1, driven through dqlite's wire protocol
** (ext/dqwire.c), with leaders SIGKILLed while a client commits.
**
** Run by `make cluster-test` (part of `make test`), which skips it with
** the install line when libdqlite-dev is missing.  Each test starts its
** own nodes on free loopback ports in a temporary directory and kills
** them at the end.  Elections are made fast (--latency-ms 40: a 600 ms
** election timeout).  Snapshots keep dqlite's default (every 1024
** entries, 8192 kept), so a restarted node catches up from the log: with
** --snapshot 64 a node restarted behind the leader's last snapshot waited
** more than 30 s for it (libraft's install-snapshot timeout is 30 s and
** dqlite 1.11 has no setter for it), longer than this test may take.
** The kill moments come from the seeded generator; the seed is printed
** at the start (LSM_TEST_SEED=<seed> build/tests/test_cluster replays).
*/
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dqwire.h"
#include "testutil.h"

#define NODE_BIN "build/lsm-node"
#define N_NODE 3
#define N_ROW 5                   /* lsm rows per transaction, plus one native row */
#define DB_NAME "test.db"

/* ---- the cluster ---- */

typedef struct cluster {
  char *zDir;
  char azAddr[N_NODE][32];
  const char *apAddr[N_NODE];
  pid_t aPid[N_NODE];
} cluster;

static cluster g;

static int64_t now_ms(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A loopback port nothing listens on now. */
static int free_port(void){
  struct sockaddr_in sa;
  socklen_t n = sizeof(sa);
  int fd = socket(AF_INET, SOCK_STREAM, 0), port;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(fd, (struct sockaddr*)&sa, sizeof(sa)), 0);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr*)&sa, &n), 0);
  port = ntohs(sa.sin_port);
  close(fd);
  return port;
}

static void node_start(int i){
  char zId[16], zDir[4200], zLog[4200];
  pid_t pid;
  snprintf(zId, sizeof(zId), "%d", i + 1);
  snprintf(zDir, sizeof(zDir), "%s/n%d", g.zDir, i + 1);
  snprintf(zLog, sizeof(zLog), "%s/n%d.log", g.zDir, i + 1);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if( pid == 0 ){
    FILE *f;
    prctl(PR_SET_PDEATHSIG, SIGKILL);     /* no node outlives a failed test */
    f = freopen(zLog, "a", stderr);
    (void)f;
    if( i == 0 ){
      execl(NODE_BIN, NODE_BIN, "--id", zId, "--address", g.azAddr[i], "--dir", zDir,
            "--latency-ms", "40", (char*)0);
    }else{
      execl(NODE_BIN, NODE_BIN, "--id", zId, "--address", g.azAddr[i], "--dir", zDir,
            "--join", g.azAddr[0], "--latency-ms", "40", (char*)0);
    }
    _exit(127);
  }
  g.aPid[i] = pid;
}

static void node_kill(int i){
  if( g.aPid[i] <= 0 ) return;
  kill(g.aPid[i], SIGKILL);
  waitpid(g.aPid[i], 0, 0);
  g.aPid[i] = 0;
}

static int voters_seen;
static void count_voter(void *pArg, uint64_t id, const char *zAddr, int role){
  (void)pArg; (void)id; (void)zAddr;
  if( role == DQW_VOTER ) voters_seen++;
}

/* Connect to the leader and open the test database; 0 or an error code. */
static int connect_db(dqw_conn **pc, int timeout_ms, char **pzErr){
  int rc = dqw_connect_leader(g.apAddr, N_NODE, timeout_ms, pc, pzErr);
  if( rc == 0 ) rc = dqw_open(*pc, DB_NAME, pzErr);
  if( rc != 0 ){
    dqw_close(*pc);
    *pc = 0;
  }
  return rc;
}

static void setup(void){
  int i;
  int64_t iEnd;
  g.zDir = test_tmpdir("cluster");
  for(i = 0; i < N_NODE; i++){
    snprintf(g.azAddr[i], sizeof(g.azAddr[i]), "127.0.0.1:%d", free_port());
    g.apAddr[i] = g.azAddr[i];
  }
  node_start(0);
  usleep(200 * 1000);
  for(i = 1; i < N_NODE; i++) node_start(i);
  /* Wait until all three are voters. */
  for(iEnd = now_ms() + 30000; now_ms() < iEnd; usleep(100 * 1000)){
    dqw_conn *c = 0;
    char *zErr = 0;
    voters_seen = 0;
    if( dqw_connect_leader(g.apAddr, 1, 2000, &c, &zErr) == 0 ){
      dqw_cluster(c, count_voter, 0, &zErr);
    }
    dqw_close(c);
    free(zErr);
    if( voters_seen == N_NODE ) return;
  }
  ck_abort_msg("the three nodes did not form a cluster (logs in %s)", g.zDir);
}

static void teardown(void){
  int i;
  for(i = 0; i < N_NODE; i++) node_kill(i);
  if( g.zDir && !getenv("LSM_TEST_KEEP") ) test_rmtree(g.zDir);
  free(g.zDir);
  g.zDir = 0;
}

static void exec_ok(dqw_conn *c, const char *zSql){
  char *zErr = 0;
  int rc = dqw_exec(c, zSql, 0, &zErr);
  ck_assert_msg(rc == 0, "%s: %d %s", zSql, rc, zErr ? zErr : "");
  free(zErr);
}

static int first_row(void *pArg, int nCol, char **azVal){
  char **pz = pArg;
  (void)nCol;
  if( *pz == 0 ) *pz = strdup(azVal[0] ? azVal[0] : "NULL");
  return 0;
}

/* The first column of the first row of zSql (malloc'd). */
static char *query_text(dqw_conn *c, const char *zSql){
  char *z = 0, *zErr = 0;
  int rc = dqw_query(c, zSql, first_row, &z, &zErr);
  ck_assert_msg(rc == 0, "%s: %d %s", zSql, rc, zErr ? zErr : "");
  free(zErr);
  return z ? z : strdup("");
}

/* Index of the node that leads now (-1 if none answers). */
static int leader_index(int timeout_ms){
  dqw_conn *c = 0;
  char *zErr = 0;
  int i, iLeader = -1;
  if( dqw_connect_leader(g.apAddr, N_NODE, timeout_ms, &c, &zErr) == 0 ){
    for(i = 0; i < N_NODE; i++) if( strcmp(dqw_address(c), g.azAddr[i]) == 0 ) iLeader = i;
  }
  dqw_close(c);
  free(zErr);
  return iLeader;
}

/* Make node i the leader (transfer), and return a connection to it with
** the test database open. */
static dqw_conn *connect_node_as_leader(int i){
  int64_t iEnd = now_ms() + 30000;
  while( now_ms() < iEnd ){
    dqw_conn *c = 0;
    char *zErr = 0;
    if( connect_db(&c, 5000, &zErr) == 0 ){
      if( strcmp(dqw_address(c), g.azAddr[i]) == 0 ) return c;
      dqw_transfer(c, (uint64_t)i + 1, &zErr);
    }
    if( getenv("LSM_TEST_VERBOSE") ) fprintf(stderr, "transfer to node %d: %s\n", i + 1, zErr);
    dqw_close(c);
    free(zErr);
    usleep(200 * 1000);
  }
  ck_abort_msg("node %d never became the leader (logs in %s)", i + 1, g.zDir);
  return 0;
}

/* ---- tests ---- */

START_TEST(a_table_in_the_database_file_replicates_to_every_node)
{
  dqw_conn *c = 0;
  char *zErr = 0, *z;
  int i;
  ck_assert_int_eq(connect_db(&c, 10000, &zErr), 0);
  exec_ok(c, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625)");
  exec_ok(c, "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)"
             " INSERT INTO kv SELECT i, 'v' || i FROM n; COMMIT");
  /* A function that writes must run inside BEGIN ... COMMIT: dqlite
  ** replicates what an exec request's COMMIT writes, never a query's. */
  exec_ok(c, "BEGIN");
  free(query_text(c, "SELECT lsm_flush('kv')"));
  exec_ok(c, "COMMIT");
  exec_ok(c, "BEGIN; DELETE FROM kv WHERE key <= 1000; INSERT INTO kv VALUES('x', 1); COMMIT");
  exec_ok(c, "BEGIN; INSERT INTO kv VALUES('rolled back', 1); ROLLBACK");
  dqw_close(c);
  for(i = 0; i < N_NODE; i++){
    c = connect_node_as_leader(i);
    z = query_text(c, "SELECT count(*) || ' ' || sum(key = 'x') || ' ' || min(key) FROM kv");
    ck_assert_msg(strcmp(z, "1001 1 1001") == 0, "node %d: %s", i + 1, z);
    free(z);
    z = query_text(c, "SELECT lsm_check('kv')");
    ck_assert_msg(strcmp(z, "ok") == 0, "node %d: lsm_check: %s", i + 1, z);
    free(z);
    dqw_close(c);
  }
  free(zErr);
}
END_TEST

START_TEST(a_directory_store_a_flush_outside_begin_and_dangerous_pragmas_are_refused)
{
  dqw_conn *c = 0;
  char *zErr = 0, *z;
  ck_assert_int_eq(connect_db(&c, 10000, &zErr), 0);
  ck_assert_int_ne(dqw_exec(c, "CREATE VIRTUAL TABLE d USING lsm('d.lsm')", 0, &zErr), 0);
  ck_assert_str_eq(zErr, "lsm table d: a directory store keeps its rows outside the database"
                   " file, which dqlite replicates: they would stay on this host; create the"
                   " table without a path (USING lsm) to keep its rows in the database file");
  ck_assert_int_ne(dqw_exec(c, "CREATE VIRTUAL TABLE m USING lsm(':memory:')", 0, &zErr), 0);
  ck_assert_msg(strstr(zErr, "an in-memory store (':memory:') keeps its rows outside") != 0,
                "%s", zErr);
  ck_assert_int_eq(dqw_exec(c, "PRAGMA journal_mode=DELETE", 0, &zErr), 23);  /* SQLITE_AUTH */
  ck_assert_int_eq(dqw_exec(c, "PRAGMA page_size=8192", 0, &zErr), 23);
  ck_assert_int_eq(dqw_exec(c, "ATTACH 'other.db' AS other", 0, &zErr), 23);
  free(query_text(c, "PRAGMA journal_mode=WAL"));
  exec_ok(c, "PRAGMA page_size=4096");
  /* The leader is still there, and no table was made. */
  z = query_text(c, "SELECT count(*) FROM sqlite_schema WHERE name IN ('d', 'm')");
  ck_assert_str_eq(z, "0");
  free(z);
  /* lsm_flush and lsm_compact outside BEGIN would commit on their own
  ** inside a query, which dqlite never replicates (and the next query
  ** aborted the leader): refused; inside BEGIN ... COMMIT they replicate. */
  exec_ok(c, "CREATE VIRTUAL TABLE kv USING lsm");
  exec_ok(c, "INSERT INTO kv VALUES(1, 'one')");
  /* (Sent as exec: dqlite 1.11 garbles the message of a query that fails
  ** after its column names are encoded.) */
  ck_assert_int_eq(dqw_exec(c, "SELECT lsm_flush('kv')", 0, &zErr), 1);
  ck_assert_str_eq(zErr, "lsm_flush(kv): dqlite replicates what a COMMIT writes:"
                   " call lsm_flush between BEGIN and COMMIT");
  ck_assert_int_eq(dqw_exec(c, "SELECT lsm_compact()", 0, &zErr), 1);
  ck_assert_str_eq(zErr, "lsm_compact(kv): dqlite replicates what a COMMIT writes:"
                   " call lsm_compact between BEGIN and COMMIT");
  ck_assert_int_ne(dqw_query(c, "SELECT lsm_flush('kv')", 0, 0, &zErr), 0);
  z = query_text(c, "SELECT count(*) FROM kv_file WHERE name GLOB '*.sst'");
  ck_assert_str_eq(z, "0");
  free(z);
  exec_ok(c, "BEGIN");
  free(query_text(c, "SELECT lsm_flush('kv')"));
  exec_ok(c, "COMMIT");
  dqw_close(c);
  c = connect_node_as_leader((leader_index(10000) + 1) % N_NODE);
  z = query_text(c, "SELECT (SELECT count(*) FROM kv_file WHERE name GLOB '*.sst') || ' '"
                    " || (SELECT value FROM kv WHERE key = 1) || ' ' || lsm_check('kv')");
  ck_assert_str_eq(z, "1 one ok");
  free(z);
  dqw_close(c);
  free(zErr);
}
END_TEST

/*
** What dqlite does with two writers: there is no busy wait, so the second
** gets "database is locked" (SQLITE_BUSY) at once.  An INSERT into an lsm
** table takes SQLite's write lock when the statement starts (its rows are
** written later, at COMMIT, in xSync), so the second writer is refused at
** its first write, never at COMMIT.  Its transaction stays open with a
** read snapshot older than the first writer's commit: retrying the
** statement then fails too (SQLITE_BUSY_SNAPSHOT), so the retry path is
** ROLLBACK and the whole transaction again, which commits it once.
*/
START_TEST(a_second_writer_is_refused_at_its_first_write_and_retries_its_transaction)
{
  dqw_conn *a = 0, *b = 0;
  char *zErr = 0, *z;
  int rc;
  ck_assert_int_eq(connect_db(&a, 10000, &zErr), 0);
  ck_assert_int_eq(connect_db(&b, 10000, &zErr), 0);
  exec_ok(a, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625)");
  exec_ok(a, "CREATE TABLE native(k PRIMARY KEY, v)");
  exec_ok(a, "BEGIN; INSERT INTO kv VALUES('a', 1)");
  exec_ok(b, "BEGIN");
  rc = dqw_exec(b, "INSERT INTO kv VALUES('b', 2)", 0, &zErr);
  ck_assert_msg(rc == 5 && strstr(zErr, "database is locked"), "%d %s", rc, zErr);
  exec_ok(a, "INSERT INTO native VALUES('a', 1); COMMIT");
  rc = dqw_exec(b, "INSERT INTO kv VALUES('b', 2)", 0, &zErr);
  ck_assert_msg(rc == 517, "%d %s", rc, zErr);          /* SQLITE_BUSY_SNAPSHOT */
  exec_ok(b, "ROLLBACK");
  exec_ok(b, "BEGIN; INSERT INTO kv VALUES('b', 2); INSERT INTO native VALUES('b', 2); COMMIT");
  /* A writer whose first statement writes a native table: the same. */
  exec_ok(a, "BEGIN; INSERT INTO native VALUES('c', 3); INSERT INTO kv VALUES('c', 3)");
  ck_assert_int_eq(dqw_exec(b, "BEGIN; INSERT INTO kv VALUES('d', 4)", 0, &zErr), 5);
  exec_ok(b, "ROLLBACK");
  exec_ok(a, "COMMIT");
  exec_ok(b, "BEGIN; INSERT INTO kv VALUES('d', 4); INSERT INTO native VALUES('d', 4); COMMIT");
  z = query_text(b, "SELECT group_concat(key || value, ' ') FROM kv");
  ck_assert_str_eq(z, "a1 b2 c3 d4");
  free(z);
  z = query_text(a, "SELECT group_concat(k || v, ' ') FROM native");
  ck_assert_str_eq(z, "a1 b2 c3 d4");
  free(z);
  z = query_text(a, "SELECT lsm_check('kv')");
  ck_assert_str_eq(z, "ok");
  free(z);
  dqw_close(a);
  dqw_close(b);
  free(zErr);
}
END_TEST

/* ---- leaders killed under a writer ---- */

#define MAX_TX 100000

typedef struct writer {
  volatile int bStop;
  volatile int nCommitted;        /* transactions the client saw commit */
  int nTried;
  unsigned char aState[MAX_TX];   /* 0 not tried, 1 committed, 2 outcome unknown */
  int nReconnect;
} writer;

static void *writer_main(void *pArg){
  writer *w = pArg;
  dqw_conn *c = 0;
  char zSql[1024];
  int i;
  for(i = 1; i < MAX_TX && !w->bStop; i++){
    char *zErr = 0;
    int j, k, rc = 0;
    if( c == 0 ){
      rc = connect_db(&c, 2000, &zErr);
      if( rc != 0 ){
        free(zErr);
        i--;
        continue;
      }
      w->nReconnect++;
    }
    k = snprintf(zSql, sizeof(zSql), "BEGIN;");
    for(j = 0; j < N_ROW; j++){
      k += snprintf(zSql + k, sizeof(zSql) - (size_t)k,
                    "INSERT INTO kv VALUES('t%06d-%d', %d);", i, j, i);
    }
    snprintf(zSql + k, sizeof(zSql) - (size_t)k, "INSERT INTO native VALUES(%d); COMMIT", i);
    w->nTried = i;
    rc = dqw_exec(c, zSql, 0, &zErr);
    if( rc == 0 ){
      w->aState[i] = 1;
      w->nCommitted++;
    }else{
      /* The outcome is unknown (a COMMIT whose answer was lost may have
      ** committed): never reuse i; drop the connection, which rolls back
      ** whatever it still holds, and find the leader again. */
      w->aState[i] = 2;
      dqw_close(c);
      c = 0;
    }
    free(zErr);
  }
  dqw_close(c);
  return 0;
}

typedef struct seen {
  int *aKeys;        /* lsm rows per transaction */
  int *aBad;         /* a row whose value is not its transaction */
  unsigned char *aNative;
} seen;

static int seen_kv(void *pArg, int nCol, char **azVal){
  seen *s = pArg;
  int i = 0, j = 0;
  (void)nCol;
  if( azVal[0] && sscanf(azVal[0], "t%d-%d", &i, &j) == 2 && i > 0 && i < MAX_TX ){
    s->aKeys[i]++;
    if( azVal[1] == 0 || atoi(azVal[1]) != i ) s->aBad[i]++;
  }
  return 0;
}

static int seen_native(void *pArg, int nCol, char **azVal){
  seen *s = pArg;
  int i = azVal[0] ? atoi(azVal[0]) : 0;
  (void)nCol;
  if( i > 0 && i < MAX_TX ) s->aNative[i] = 1;
  return 0;
}

START_TEST(every_commit_a_client_saw_survives_leaders_killed_mid_write)
{
  static writer w;
  uint64_t seed = test_seed();
  test_rng rng;
  pthread_t t;
  dqw_conn *c = 0;
  char *zErr = 0;
  int nKill = 4, k, i, n, nBase = -1;
  seen s;

  fprintf(stderr, "test_cluster: seed %llu (LSM_TEST_SEED=%llu replays)\n",
          (unsigned long long)seed, (unsigned long long)seed);
  rng_init(&rng, seed);
  memset(&w, 0, sizeof(w));
  ck_assert_int_eq(connect_db(&c, 10000, &zErr), 0);
  exec_ok(c, "CREATE VIRTUAL TABLE kv USING lsm(memtable_mb=0.0625)");
  exec_ok(c, "CREATE TABLE native(id INTEGER PRIMARY KEY)");
  dqw_close(c);
  c = 0;

  ck_assert_int_eq(pthread_create(&t, 0, writer_main, &w), 0);
  for(k = 0; k < nKill; k++){
    int iLeader, nBefore;
    int64_t iEnd;
    usleep((useconds_t)(200 + rng_below(&rng, 1300)) * 1000);
    iLeader = leader_index(10000);
    SEED_ASSERT(iLeader >= 0, "no leader before kill %d", (unsigned long long)seed, k + 1);
    nBefore = w.nCommitted;
    node_kill(iLeader);
    fprintf(stderr, "test_cluster: killed leader node %d after %d commits\n", iLeader + 1, nBefore);
    /* The writer goes on through a new leader... */
    for(iEnd = now_ms() + 20000; now_ms() < iEnd && w.nCommitted < nBefore + 5; ){
      usleep(20 * 1000);
    }
    SEED_ASSERT(w.nCommitted >= nBefore + 5, "no commit for 20 s after killing node %d",
                (unsigned long long)seed, iLeader + 1);
    /* ...and the killed node comes back, sometimes after a while. */
    usleep((useconds_t)rng_below(&rng, 800) * 1000);
    node_start(iLeader);
  }
  usleep(500 * 1000);
  w.bStop = 1;
  pthread_join(t, 0);
  fprintf(stderr, "test_cluster: %d transactions tried, %d seen committed, %d connections\n",
          w.nTried, w.nCommitted, w.nReconnect);
  ck_assert_int_ge(w.nCommitted, 20);

  s.aKeys = calloc(MAX_TX, sizeof(int));
  s.aBad = calloc(MAX_TX, sizeof(int));
  s.aNative = calloc(MAX_TX, 1);
  for(n = 0; n < N_NODE; n++){
    int nWhole = 0;
    char *z;
    memset(s.aKeys, 0, MAX_TX * sizeof(int));
    memset(s.aBad, 0, MAX_TX * sizeof(int));
    memset(s.aNative, 0, MAX_TX);
    c = connect_node_as_leader(n);
    ck_assert_int_eq(dqw_query(c, "SELECT key, value FROM kv", seen_kv, &s, &zErr), 0);
    ck_assert_int_eq(dqw_query(c, "SELECT id FROM native", seen_native, &s, &zErr), 0);
    for(i = 1; i < MAX_TX; i++){
      int bAny = s.aKeys[i] || s.aNative[i];
      SEED_ASSERT(w.aState[i] != 1 || (s.aKeys[i] == N_ROW && s.aNative[i]),
                  "node %d lacks committed transaction %d (%d lsm rows, native %d)",
                  (unsigned long long)seed, n + 1, i, s.aKeys[i], s.aNative[i]);
      SEED_ASSERT(!bAny || (s.aKeys[i] == N_ROW && s.aNative[i] && s.aBad[i] == 0),
                  "node %d has transaction %d in part (%d lsm rows, native %d, bad %d)",
                  (unsigned long long)seed, n + 1, i, s.aKeys[i], s.aNative[i], s.aBad[i]);
      SEED_ASSERT(!bAny || w.aState[i] != 0, "node %d has transaction %d, never sent",
                  (unsigned long long)seed, n + 1, i);
      nWhole += bAny;
    }
    /* Every node holds the same transactions. */
    if( nBase < 0 ) nBase = nWhole;
    SEED_ASSERT(nWhole == nBase, "node %d has %d transactions, node 1 %d",
                (unsigned long long)seed, n + 1, nWhole, nBase);
    z = query_text(c, "SELECT lsm_check('kv')");
    SEED_ASSERT(strcmp(z, "ok") == 0, "node %d: lsm_check: %s", (unsigned long long)seed, n + 1, z);
    free(z);
    fprintf(stderr, "test_cluster: node %d: %d transactions whole, lsm_check ok\n", n + 1, nWhole);
    dqw_close(c);
  }
  free(s.aKeys);
  free(s.aBad);
  free(s.aNative);
  free(zErr);
}
END_TEST

static Suite *cluster_suite(void){
  Suite *s = suite_create("cluster");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, a_table_in_the_database_file_replicates_to_every_node);
  tcase_add_test(tc, a_directory_store_a_flush_outside_begin_and_dangerous_pragmas_are_refused);
  tcase_add_test(tc, a_second_writer_is_refused_at_its_first_write_and_retries_its_transaction);
  tcase_add_test(tc, every_commit_a_client_saw_survives_leaders_killed_mid_write);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(cluster_suite)
