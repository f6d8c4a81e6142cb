/*
** cluster.c — build/lsm-cluster: a command-line client of a dqlite cluster
** (ext/dqwire.c), for what the `dqlite` shell cannot do: add a node,
** move leadership, run a multi-statement transaction, measure writes.
**
** Usage:
**
**     lsm-cluster -s 127.0.0.1:9001,127.0.0.1:9002 leader
**     lsm-cluster -s 127.0.0.1:9001 nodes
**     lsm-cluster -s 127.0.0.1:9001 join 4 127.0.0.1:9004     # add, then make a voter
**     lsm-cluster -s 127.0.0.1:9001 transfer 2                # hand leadership to node 2
**     lsm-cluster -s 127.0.0.1:9001 -d app.db exec "BEGIN; INSERT INTO kv VALUES(1, 'a'); COMMIT"
**     lsm-cluster -s 127.0.0.1:9001 -d app.db query "SELECT * FROM kv"
**     lsm-cluster -s 127.0.0.1:9001 -d app.db bench kv 2000 10
**
** -s lists nodes to ask; every command runs on the leader they name.
** query prints rows with values separated by '|', as the sqlite3 shell.
** bench TABLE N ROWS commits N transactions of ROWS puts each (INSERT OR
** REPLACE, 16-byte keys, 100-byte values) into TABLE(key, value), one request per
** transaction, and prints transactions and rows per second and the
** commit latency percentiles.  Exit status 0, or 1 with the error.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dqwire.h"

static const char *role_name(int role){
  return role == DQW_VOTER ? "voter" : role == DQW_STANDBY ? "standby" : "spare";
}

static void print_node(void *pArg, uint64_t id, const char *zAddr, int role){
  (void)pArg;
  printf("%llu %s %s\n", (unsigned long long)id, zAddr, role_name(role));
}

static int print_row(void *pArg, int nCol, char **azVal){
  int i;
  (void)pArg;
  for(i = 0; i < nCol; i++) printf("%s%s", i ? "|" : "", azVal[i] ? azVal[i] : "");
  printf("\n");
  return 0;
}

static double now_s(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b){
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

/* bench: N transactions of nRow puts each into zTable. */
static int bench(dqw_conn *c, const char *zTable, int n, int nRow, char **pzErr){
  double *aLat = malloc(sizeof(double) * (size_t)n), t0, tAll;
  size_t nSql = (size_t)nRow * 200 + 64;
  char *zSql = malloc(nSql);
  char zVal[101];
  unsigned x = (unsigned)time(0) ^ ((unsigned)n << 16) ^ (unsigned)nRow;   /* new keys each run */
  int i, j, rc = 0;
  if( aLat == 0 || zSql == 0 ){
    free(aLat); free(zSql);
    return 1;
  }
  memset(zVal, 'v', 100);
  zVal[100] = 0;
  tAll = now_s();
  for(i = 0; i < n && rc == 0; i++){
    size_t k = (size_t)snprintf(zSql, nSql, "BEGIN;");
    for(j = 0; j < nRow; j++){
      x = x * 1103515245u + 12345u;
      k += (size_t)snprintf(zSql + k, nSql - k, "INSERT OR REPLACE INTO \"%s\" VALUES('%08x%08x','%s');",
                            zTable, x, (unsigned)i * 7919u + (unsigned)j, zVal);
    }
    snprintf(zSql + k, nSql - k, "COMMIT");
    t0 = now_s();
    rc = dqw_exec(c, zSql, 0, pzErr);
    aLat[i] = now_s() - t0;
  }
  tAll = now_s() - tAll;
  if( rc == 0 ){
    qsort(aLat, (size_t)n, sizeof(double), cmp_double);
    printf("%-10s %6d tx x %3d rows: %8.0f tx/s %9.0f rows/s  latency p50 %6.2f ms"
           "  p99 %6.2f ms  max %6.2f ms\n", zTable, n, nRow, n / tAll, (double)n * nRow / tAll,
           aLat[n / 2] * 1e3, aLat[(int)(n * 0.99)] * 1e3, aLat[n - 1] * 1e3);
  }
  free(aLat);
  free(zSql);
  return rc;
}

static void usage(void){
  fprintf(stderr,
    "usage: lsm-cluster -s ADDR[,ADDR...] [-d DATABASE] COMMAND\n"
    "  leader | nodes | join ID ADDR | transfer ID\n"
    "  exec SQL | query SQL | bench TABLE N ROWS      (these need -d)\n");
  exit(2);
}

int main(int argc, char **argv){
  const char *azAddr[16], *zDb = 0, *zCmd;
  char *zServers = 0, *zErr = 0;
  int nAddr = 0, i = 1, rc;
  dqw_conn *c = 0;

  for(; i + 1 < argc && argv[i][0] == '-'; i += 2){
    if( strcmp(argv[i], "-s") == 0 ) zServers = argv[i + 1];
    else if( strcmp(argv[i], "-d") == 0 ) zDb = argv[i + 1];
    else usage();
  }
  if( zServers == 0 || i >= argc ) usage();
  zCmd = argv[i++];
  {
    char *z, *zSave = 0;
    for(z = strtok_r(zServers, ",", &zSave); z && nAddr < 16; z = strtok_r(0, ",", &zSave)){
      azAddr[nAddr++] = z;
    }
  }
  rc = dqw_connect_leader(azAddr, nAddr, 15000, &c, &zErr);
  if( rc == 0 && zDb ) rc = dqw_open(c, zDb, &zErr);
  if( rc == 0 ){
    int nArg = argc - i;
    if( strcmp(zCmd, "leader") == 0 && nArg == 0 ){
      uint64_t id = 0;
      char *zLeader = 0;
      rc = dqw_leader(c, &id, &zLeader, &zErr);
      if( rc == 0 ) printf("%llu %s\n", (unsigned long long)id, zLeader);
      free(zLeader);
    }else if( strcmp(zCmd, "nodes") == 0 && nArg == 0 ){
      rc = dqw_cluster(c, print_node, 0, &zErr);
    }else if( strcmp(zCmd, "join") == 0 && nArg == 2 ){
      uint64_t id = strtoull(argv[i], 0, 10);
      rc = dqw_add(c, id, argv[i + 1], &zErr);
      if( rc == 0 ) rc = dqw_assign(c, id, DQW_VOTER, &zErr);
    }else if( strcmp(zCmd, "transfer") == 0 && nArg == 1 ){
      rc = dqw_transfer(c, strtoull(argv[i], 0, 10), &zErr);
    }else if( strcmp(zCmd, "exec") == 0 && nArg == 1 && zDb ){
      rc = dqw_exec(c, argv[i], 0, &zErr);
    }else if( strcmp(zCmd, "query") == 0 && nArg == 1 && zDb ){
      rc = dqw_query(c, argv[i], print_row, 0, &zErr);
    }else if( strcmp(zCmd, "bench") == 0 && nArg == 3 && zDb ){
      int n = atoi(argv[i + 1]), nRow = atoi(argv[i + 2]);
      if( n <= 0 || nRow <= 0 ) usage();
      rc = bench(c, argv[i], n, nRow, &zErr);
    }else{
      dqw_close(c);
      usage();
    }
  }
  dqw_close(c);
  if( rc != 0 ){
    fprintf(stderr, "lsm-cluster: %s\n", zErr ? zErr : "failed");
    free(zErr);
    return 1;
  }
  return 0;
}
