/*
** dqwire.c — the client side of dqlite's wire protocol, version 1 (the
** one dqlite 1.11 speaks), over a blocking TCP socket.
**
** Usage: see dqwire.h; from the shell, ext/cluster.c:
**
**     build/lsm-cluster -s 127.0.0.1:9001 join 2 127.0.0.1:9002
**     build/lsm-cluster -s 127.0.0.1:9001 -d app.db exec "CREATE VIRTUAL TABLE kv USING lsm"
**
** The protocol (facts from dqlite's src/lib/serialize.h, src/message.h,
** src/request.h, src/response.h, src/tuple.h; all integers little-endian,
** everything padded to 8-byte words):
**
**   handshake   the client sends one uint64: the protocol version, 1.
**   message     +----------------+------+--------+--------+-------------+
**               | words: uint32  | type | schema | extra  | body        |
**               | body size / 8  | u8   | u8 (0) | u16(0) | words * 8 B |
**               +----------------+------+--------+--------+-------------+
**   text        the bytes, a NUL, zeros up to the next multiple of 8
**   uint64      8 bytes
**
**   request (type)        body
**   LEADER (0)            uint64 0
**   OPEN (3)              text name, uint64 flags (0), text vfs ("")
**   EXEC_SQL (8)          uint64 db id, text sql    (no parameters sent)
**   QUERY_SQL (9)         uint64 db id, text sql
**   ADD (12)              uint64 node id, text address
**   ASSIGN (13)           uint64 node id, uint64 role
**   CLUSTER (16)          uint64 format (1: id, address, role)
**   TRANSFER (17)         uint64 node id
**
**   response (type)       body
**   FAILURE (0)           uint64 code (SQLite's), text message
**   SERVER (1)            uint64 id, text address
**   SERVERS (3)           uint64 n, then n times: uint64 id, text address, uint64 role
**   DB (4)                uint32 id, uint32 padding
**   RESULT (6)            uint64 last insert rowid, uint64 rows affected
**   ROWS (7)              uint64 columns n, n texts (names), rows, then one
**                         uint64 marker: 0xffffffffffffffff done, or
**                         0xeeeeeeeeeeeeeeee part (another ROWS message follows)
**   EMPTY (8)             uint64 0
**
**   a row                 header: one 4-bit type per column, the first in the
**                         low nibble of the first byte, padded to 8 bytes;
**                         then each value: INTEGER (1) int64, FLOAT (2) double,
**                         TEXT (3) text, BLOB (4) uint64 length + bytes padded,
**                         NULL (5) uint64 0, UNIXTIME (9) int64,
**                         ISO8601 (10) text, BOOLEAN (11) uint64
*/
#include "dqwire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define REQ_LEADER    0
#define REQ_OPEN      3
#define REQ_EXEC_SQL  8
#define REQ_QUERY_SQL 9
#define REQ_ADD       12
#define REQ_ASSIGN    13
#define REQ_CLUSTER   16
#define REQ_TRANSFER  17

#define RES_FAILURE   0
#define RES_SERVER    1
#define RES_SERVERS   3
#define RES_DB        4
#define RES_RESULT    6
#define RES_ROWS      7
#define RES_EMPTY     8

#define ROWS_DONE 0xffffffffffffffffULL
#define ROWS_PART 0xeeeeeeeeeeeeeeeeULL

struct dqw_conn {
  int fd;
  char *zAddr;           /* where this connection goes (malloc) */
  uint32_t iDb;          /* database id from OPEN */
  uint8_t *a;            /* the message being built or read (malloc) */
  size_t n, nAlloc;      /* bytes in a, bytes allocated */
  size_t iRead;          /* read cursor in a */
};

/* ---- errors ---- */

static int dqw_err(char **pzErr, int rc, const char *zFmt, ...){
  va_list ap;
  char *z = 0;
  va_start(ap, zFmt);
  if( vasprintf(&z, zFmt, ap) < 0 ) z = 0;
  va_end(ap);
  if( pzErr ){
    free(*pzErr);
    *pzErr = z;
  }else{
    free(z);
  }
  return rc;
}

/* ---- building a request in c->a (8-byte header first) ---- */

static int put_bytes(dqw_conn *c, const void *p, size_t n){
  if( c->n + n > c->nAlloc ){
    size_t nNew = c->nAlloc ? c->nAlloc * 2 : 4096;
    uint8_t *aNew;
    while( nNew < c->n + n ) nNew *= 2;
    aNew = realloc(c->a, nNew);
    if( aNew == 0 ) return DQW_IOERR;
    c->a = aNew;
    c->nAlloc = nNew;
  }
  memcpy(c->a + c->n, p, n);
  c->n += n;
  return 0;
}

static int put_u64(dqw_conn *c, uint64_t v){
  uint8_t b[8];
  int i;
  for(i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
  return put_bytes(c, b, 8);
}

static int put_text(dqw_conn *c, const char *z){
  static const uint8_t aZero[8] = {0};
  size_t n = strlen(z) + 1;
  int rc = put_bytes(c, z, n - 1);
  if( rc == 0 ) rc = put_bytes(c, aZero, 1 + (8 - n % 8) % 8);
  return rc;
}

static void req_start(dqw_conn *c){
  static const uint8_t aHdr[8] = {0};
  c->n = 0;
  put_bytes(c, aHdr, 8);
}

static int send_all(dqw_conn *c, const void *p, size_t n, char **pzErr){
  const uint8_t *a = p;
  while( n > 0 ){
    ssize_t k = send(c->fd, a, n, MSG_NOSIGNAL);
    if( k < 0 && errno == EINTR ) continue;
    if( k <= 0 ) return dqw_err(pzErr, DQW_IOERR, "%s: send: %s", c->zAddr, strerror(errno));
    a += k;
    n -= (size_t)k;
  }
  return 0;
}

static int recv_all(dqw_conn *c, void *p, size_t n, char **pzErr){
  uint8_t *a = p;
  while( n > 0 ){
    ssize_t k = recv(c->fd, a, n, 0);
    if( k < 0 && errno == EINTR ) continue;
    if( k == 0 ) return dqw_err(pzErr, DQW_IOERR, "%s: connection closed", c->zAddr);
    if( k < 0 ){
      return dqw_err(pzErr, DQW_IOERR, "%s: %s", c->zAddr,
                     (errno == EAGAIN || errno == EWOULDBLOCK) ? "timed out" : strerror(errno));
    }
    a += k;
    n -= (size_t)k;
  }
  return 0;
}

/* Fill in the header of the request in c->a and send it. */
static int req_send(dqw_conn *c, int eType, char **pzErr){
  uint32_t nWord = (uint32_t)((c->n - 8) / 8);
  int i;
  for(i = 0; i < 4; i++) c->a[i] = (uint8_t)(nWord >> (8 * i));
  c->a[4] = (uint8_t)eType;
  c->a[5] = c->a[6] = c->a[7] = 0;
  return send_all(c, c->a, c->n, pzErr);
}

/* ---- reading a response into c->a ---- */

/* Read one response; *peType is its type.  A FAILURE becomes the
** result: its code, with *pzErr its message. */
static int res_read(dqw_conn *c, int *peType, char **pzErr);

static int get_u64(dqw_conn *c, uint64_t *pV){
  uint64_t v = 0;
  int i;
  if( c->iRead + 8 > c->n ) return DQW_PROTO;
  for(i = 0; i < 8; i++) v |= (uint64_t)c->a[c->iRead + i] << (8 * i);
  c->iRead += 8;
  *pV = v;
  return 0;
}

static int get_text(dqw_conn *c, const char **pz){
  size_t nMax = c->n - c->iRead, n;
  const char *z = (const char*)c->a + c->iRead;
  if( c->iRead > c->n ) return DQW_PROTO;
  n = strnlen(z, nMax);
  if( n == nMax ) return DQW_PROTO;
  n += 1;
  n += (8 - n % 8) % 8;
  if( n > nMax ) return DQW_PROTO;
  c->iRead += n;
  *pz = z;
  return 0;
}

static int res_read(dqw_conn *c, int *peType, char **pzErr){
  uint8_t aHdr[8];
  uint32_t nWord = 0;
  int i, rc = recv_all(c, aHdr, 8, pzErr);
  if( rc ) return rc;
  for(i = 0; i < 4; i++) nWord |= (uint32_t)aHdr[i] << (8 * i);
  c->n = 0;
  c->iRead = 0;
  if( (size_t)nWord * 8 > c->nAlloc ){
    uint8_t *aNew = realloc(c->a, (size_t)nWord * 8);
    if( aNew == 0 ) return dqw_err(pzErr, DQW_IOERR, "out of memory");
    c->a = aNew;
    c->nAlloc = (size_t)nWord * 8;
  }
  rc = recv_all(c, c->a, (size_t)nWord * 8, pzErr);
  if( rc ) return rc;
  c->n = (size_t)nWord * 8;
  *peType = aHdr[4];
  if( aHdr[4] == RES_FAILURE ){
    uint64_t iCode = 0;
    const char *zMsg = "";
    if( get_u64(c, &iCode) || get_text(c, &zMsg) ){
      return dqw_err(pzErr, DQW_PROTO, "%s: bad failure response", c->zAddr);
    }
    if( iCode == 0 ) iCode = 1;
    return dqw_err(pzErr, (int)iCode, "%s", zMsg);
  }
  return 0;
}

/* Send the request built in c->a and read a response of type eWant. */
static int roundtrip(dqw_conn *c, int eReq, int eWant, char **pzErr){
  int eType = -1;
  int rc = req_send(c, eReq, pzErr);
  if( rc == 0 ) rc = res_read(c, &eType, pzErr);
  if( rc == 0 && eType != eWant ){
    rc = dqw_err(pzErr, DQW_PROTO, "%s: response type %d to request %d, expected %d",
                 c->zAddr, eType, eReq, eWant);
  }
  return rc;
}

/* ---- public ---- */

int dqw_connect(const char *zAddr, int timeout_ms, dqw_conn **ppConn, char **pzErr){
  struct sockaddr_in sa;
  struct timeval tv;
  char zHost[64];
  const char *zColon = strrchr(zAddr, ':');
  dqw_conn *c;
  int one = 1;
  size_t nHost;

  *ppConn = 0;
  if( zColon == 0 || (nHost = (size_t)(zColon - zAddr)) >= sizeof(zHost) ){
    return dqw_err(pzErr, DQW_IOERR, "bad address '%s' (want host:port)", zAddr);
  }
  memcpy(zHost, zAddr, nHost);
  zHost[nHost] = 0;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)atoi(zColon + 1));
  if( inet_pton(AF_INET, zHost, &sa.sin_addr) != 1 ){
    return dqw_err(pzErr, DQW_IOERR, "bad address '%s' (want an IPv4 address)", zAddr);
  }
  c = calloc(1, sizeof(*c));
  if( c == 0 ) return dqw_err(pzErr, DQW_IOERR, "out of memory");
  c->zAddr = strdup(zAddr);
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if( c->zAddr == 0 || c->fd < 0 ){
    dqw_close(c);
    return dqw_err(pzErr, DQW_IOERR, "%s: socket: %s", zAddr, strerror(errno));
  }
  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = (timeout_ms % 1000) * 1000;
  setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if( connect(c->fd, (struct sockaddr*)&sa, sizeof(sa)) != 0 ){
    int rc = dqw_err(pzErr, DQW_IOERR, "%s: connect: %s", zAddr, strerror(errno));
    dqw_close(c);
    return rc;
  }
  req_start(c);                    /* the handshake: protocol version 1 */
  c->n = 0;
  put_u64(c, 1);
  if( send_all(c, c->a, c->n, pzErr) ){
    dqw_close(c);
    return DQW_IOERR;
  }
  *ppConn = c;
  return 0;
}

const char *dqw_address(dqw_conn *c){
  return c->zAddr;
}

int dqw_leader(dqw_conn *c, uint64_t *pId, char **pzAddr, char **pzErr){
  const char *z = "";
  int rc;
  *pzAddr = 0;
  req_start(c);
  put_u64(c, 0);
  rc = roundtrip(c, REQ_LEADER, RES_SERVER, pzErr);
  if( rc == 0 && (get_u64(c, pId) || get_text(c, &z)) ){
    rc = dqw_err(pzErr, DQW_PROTO, "%s: bad leader response", c->zAddr);
  }
  if( rc == 0 && (*pzAddr = strdup(z)) == 0 ) rc = dqw_err(pzErr, DQW_IOERR, "out of memory");
  return rc;
}

static int64_t now_ms(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int dqw_connect_leader(const char *const *azAddr, int nAddr, int timeout_ms,
                       dqw_conn **ppConn, char **pzErr){
  int64_t iEnd = now_ms() + timeout_ms;
  int iTry = 0, rc = DQW_IOERR;
  *ppConn = 0;
  if( nAddr <= 0 ) return dqw_err(pzErr, DQW_IOERR, "no address given");
  while( 1 ){
    const char *zAddr = azAddr[iTry++ % nAddr];
    dqw_conn *c = 0;
    char *zLeader = 0;
    uint64_t iId = 0;
    int nStep = timeout_ms < 2000 ? timeout_ms : 2000;
    rc = dqw_connect(zAddr, nStep, &c, pzErr);
    if( rc == 0 ) rc = dqw_leader(c, &iId, &zLeader, pzErr);
    if( rc == 0 && zLeader[0] == 0 ) rc = dqw_err(pzErr, DQW_IOERR, "%s: no leader known", zAddr);
    if( rc == 0 && strcmp(zLeader, zAddr) == 0 ){
      /* The node says it leads: use this connection, with the full timeout. */
      struct timeval tv;
      tv.tv_sec = timeout_ms / 1000;
      tv.tv_usec = (timeout_ms % 1000) * 1000;
      setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
      free(zLeader);
      *ppConn = c;
      return 0;
    }
    if( rc == 0 ){
      dqw_close(c);
      c = 0;
      rc = dqw_connect(zLeader, timeout_ms, &c, pzErr);
      if( rc == 0 ){
        /* Make sure it still leads (a stale answer during an election). */
        char *zAgain = 0;
        rc = dqw_leader(c, &iId, &zAgain, pzErr);
        if( rc == 0 && strcmp(zAgain, zLeader) != 0 ){
          rc = dqw_err(pzErr, DQW_IOERR, "%s: leader changed", zLeader);
        }
        free(zAgain);
      }
      if( rc == 0 ){
        free(zLeader);
        *ppConn = c;
        return 0;
      }
    }
    free(zLeader);
    dqw_close(c);
    if( now_ms() >= iEnd ) return rc;
    if( iTry % nAddr == 0 ) usleep(50 * 1000);
  }
}

int dqw_open(dqw_conn *c, const char *zName, char **pzErr){
  uint64_t v = 0;
  int rc;
  req_start(c);
  put_text(c, zName);
  put_u64(c, 0);
  put_text(c, "");
  rc = roundtrip(c, REQ_OPEN, RES_DB, pzErr);
  if( rc == 0 && get_u64(c, &v) ) rc = dqw_err(pzErr, DQW_PROTO, "%s: bad db response", c->zAddr);
  c->iDb = (uint32_t)v;
  return rc;
}

int dqw_exec(dqw_conn *c, const char *zSql, uint64_t *pnChanges, char **pzErr){
  uint64_t iRowid = 0, nChanges = 0;
  int rc;
  req_start(c);
  put_u64(c, c->iDb);
  put_text(c, zSql);
  rc = roundtrip(c, REQ_EXEC_SQL, RES_RESULT, pzErr);
  if( rc == 0 && (get_u64(c, &iRowid) || get_u64(c, &nChanges)) ){
    rc = dqw_err(pzErr, DQW_PROTO, "%s: bad result response", c->zAddr);
  }
  if( pnChanges ) *pnChanges = nChanges;
  return rc;
}

/* One value of a row as malloc'd text (NULL for SQL NULL) in *pz. */
static int get_value(dqw_conn *c, int eType, char **pz){
  uint64_t v = 0;
  const char *z = 0;
  int rc = 0;
  *pz = 0;
  switch( eType ){
    case 1: case 9:                                   /* INTEGER, UNIXTIME */
      rc = get_u64(c, &v);
      if( rc == 0 && asprintf(pz, "%lld", (long long)(int64_t)v) < 0 ) rc = DQW_IOERR;
      break;
    case 2: {                                         /* FLOAT */
      double d;
      rc = get_u64(c, &v);
      memcpy(&d, &v, 8);
      if( rc == 0 && asprintf(pz, "%.17g", d) < 0 ) rc = DQW_IOERR;
      break;
    }
    case 3: case 10:                                  /* TEXT, ISO8601 */
      rc = get_text(c, &z);
      if( rc == 0 && (*pz = strdup(z)) == 0 ) rc = DQW_IOERR;
      break;
    case 4: {                                         /* BLOB */
      size_t i, nPad;
      rc = get_u64(c, &v);
      nPad = (size_t)v + (8 - v % 8) % 8;
      if( rc == 0 && (v > c->n || c->iRead + nPad > c->n) ) rc = DQW_PROTO;
      if( rc == 0 && (*pz = malloc(2 * (size_t)v + 4)) == 0 ) rc = DQW_IOERR;
      if( rc == 0 ){
        char *o = *pz;
        *o++ = 'x'; *o++ = '\'';
        for(i = 0; i < (size_t)v; i++) o += sprintf(o, "%02x", c->a[c->iRead + i]);
        *o++ = '\''; *o = 0;
        c->iRead += nPad;
      }
      break;
    }
    case 5:                                           /* NULL */
      rc = get_u64(c, &v);
      break;
    case 11:                                          /* BOOLEAN */
      rc = get_u64(c, &v);
      if( rc == 0 && asprintf(pz, "%d", v != 0) < 0 ) rc = DQW_IOERR;
      break;
    default:
      rc = DQW_PROTO;
  }
  return rc;
}

int dqw_query(dqw_conn *c, const char *zSql,
              int (*xRow)(void *pArg, int nCol, char **azVal), void *pArg, char **pzErr){
  int bStop = 0, rc;
  req_start(c);
  put_u64(c, c->iDb);
  put_text(c, zSql);
  rc = roundtrip(c, REQ_QUERY_SQL, RES_ROWS, pzErr);
  while( rc == 0 ){
    uint64_t nCol = 0, i;
    const char *z;
    if( get_u64(c, &nCol) || nCol == 0 || nCol > 4096 ) rc = DQW_PROTO;
    for(i = 0; rc == 0 && i < nCol; i++) rc = get_text(c, &z);
    while( rc == 0 ){
      size_t nHdr = ((size_t)nCol + 1) / 2, iHdr = c->iRead;
      uint64_t iMarker;
      char **azVal;
      if( get_u64(c, &iMarker) ){ rc = DQW_PROTO; break; }
      if( iMarker == ROWS_DONE || iMarker == ROWS_PART ){
        if( iMarker == ROWS_DONE ) return 0;
        break;                                       /* another ROWS message follows */
      }
      c->iRead = iHdr;
      nHdr += (8 - nHdr % 8) % 8;
      if( iHdr + nHdr > c->n ){ rc = DQW_PROTO; break; }
      c->iRead += nHdr;
      azVal = calloc((size_t)nCol, sizeof(char*));
      if( azVal == 0 ){ rc = DQW_IOERR; break; }
      for(i = 0; rc == 0 && i < nCol; i++){
        int eType = (c->a[iHdr + i / 2] >> (4 * (i % 2))) & 0x0f;
        rc = get_value(c, eType, &azVal[i]);
      }
      if( rc == 0 && !bStop && xRow ) bStop = xRow(pArg, (int)nCol, azVal);
      for(i = 0; i < nCol; i++) free(azVal[i]);
      free(azVal);
    }
    if( rc == 0 ){
      int eType = -1;
      rc = res_read(c, &eType, pzErr);
      if( rc == 0 && eType != RES_ROWS ) rc = DQW_PROTO;
    }
  }
  if( rc == DQW_PROTO ) dqw_err(pzErr, rc, "%s: bad rows response", c->zAddr);
  return rc;
}

int dqw_add(dqw_conn *c, uint64_t id, const char *zAddr, char **pzErr){
  req_start(c);
  put_u64(c, id);
  put_text(c, zAddr);
  return roundtrip(c, REQ_ADD, RES_EMPTY, pzErr);
}

int dqw_assign(dqw_conn *c, uint64_t id, int role, char **pzErr){
  req_start(c);
  put_u64(c, id);
  put_u64(c, (uint64_t)role);
  return roundtrip(c, REQ_ASSIGN, RES_EMPTY, pzErr);
}

int dqw_transfer(dqw_conn *c, uint64_t id, char **pzErr){
  req_start(c);
  put_u64(c, id);
  return roundtrip(c, REQ_TRANSFER, RES_EMPTY, pzErr);
}

int dqw_cluster(dqw_conn *c, void (*xNode)(void *pArg, uint64_t id, const char *zAddr, int role),
                void *pArg, char **pzErr){
  uint64_t n = 0, i;
  int rc;
  req_start(c);
  put_u64(c, 1);
  rc = roundtrip(c, REQ_CLUSTER, RES_SERVERS, pzErr);
  if( rc == 0 && get_u64(c, &n) ) rc = DQW_PROTO;
  for(i = 0; rc == 0 && i < n; i++){
    uint64_t id = 0, role = 0;
    const char *z = "";
    if( get_u64(c, &id) || get_text(c, &z) || get_u64(c, &role) ){
      rc = DQW_PROTO;
    }else if( xNode ){
      xNode(pArg, id, z, (int)role);
    }
  }
  if( rc == DQW_PROTO ) dqw_err(pzErr, rc, "%s: bad servers response", c->zAddr);
  return rc;
}

void dqw_close(dqw_conn *c){
  if( c == 0 ) return;
  if( c->fd >= 0 ) close(c->fd);
  free(c->zAddr);
  free(c->a);
  free(c);
}
