/*
** coding.h — every integer encoding the engine writes to disk or to a
** buffer: fixed-width little-endian integers and LEB128-style varints.
**
** Encoders write into a buffer the caller sized (CODING_MAX_VARINT64 is
** the most a varint takes) and return the byte after what they wrote.
** Decoders take an end pointer and return NULL, never reading past it, if
** the input is truncated or the varint is too long; otherwise they return
** the byte after what they read.  No other file hand-codes integers.
*/
#ifndef LSM_CODING_H
#define LSM_CODING_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CODING_MAX_VARINT32 5
#define CODING_MAX_VARINT64 10

static inline uint8_t *coding_put32(uint8_t *p, uint32_t v){
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
  return p + 4;
}
static inline uint8_t *coding_put64(uint8_t *p, uint64_t v){
  coding_put32(p, (uint32_t)v);
  coding_put32(p + 4, (uint32_t)(v >> 32));
  return p + 8;
}
static inline uint32_t coding_get32(const uint8_t *p){
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8)
       | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t coding_get64(const uint8_t *p){
  return (uint64_t)coding_get32(p) | ((uint64_t)coding_get32(p + 4) << 32);
}

/* Bytes the varint encoding of v takes. */
static inline int coding_varint_len(uint64_t v){
  int n = 1;
  while( v >= 0x80 ){ v >>= 7; n++; }
  return n;
}
static inline uint8_t *coding_put_varint(uint8_t *p, uint64_t v){
  while( v >= 0x80 ){ *p++ = (uint8_t)(v | 0x80); v >>= 7; }
  *p++ = (uint8_t)v;
  return p;
}

/* Bounds-checked decoders: NULL on truncation or an over-long varint. */
static inline const uint8_t *coding_get_varint64(const uint8_t *p, const uint8_t *pEnd, uint64_t *pV){
  uint64_t v = 0;
  int shift;
  for(shift = 0; shift <= 63 && p < pEnd; shift += 7){
    uint8_t b = *p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if( (b & 0x80) == 0 ){ *pV = v; return p; }
  }
  return NULL;
}
/* The same for a varint that is known to lie inside the buffer: REQUIRES
** CODING_MAX_VARINT64 readable bytes at p (the end pointer the caller
** checked that against).  NULL if it is over-long.  Unrolled: most
** varints it reads (sequence numbers) take 3 to 5 bytes. */
static inline const uint8_t *coding_get_varint64_within(const uint8_t *p, uint64_t *pV){
  uint64_t v = 0;
  int i;
#pragma GCC unroll 10
  for(i = 0; i < CODING_MAX_VARINT64; i++){
    uint8_t b = p[i];
    v |= (uint64_t)(b & 0x7f) << (7 * i);
    if( (b & 0x80) == 0 ){ *pV = v; return p + i + 1; }
  }
  return NULL;
}
static inline const uint8_t *coding_get_varint32(const uint8_t *p, const uint8_t *pEnd, uint32_t *pV){
  uint64_t v;
  if( p < pEnd && *p < 0x80 ){ *pV = *p; return p + 1; }   /* common case */
  p = coding_get_varint64(p, pEnd, &v);
  if( p == NULL || v > 0xffffffffu ) return NULL;
  *pV = (uint32_t)v;
  return p;
}
static inline const uint8_t *coding_get_fixed32(const uint8_t *p, const uint8_t *pEnd, uint32_t *pV){
  if( pEnd - p < 4 ) return NULL;
  *pV = coding_get32(p);
  return p + 4;
}
static inline const uint8_t *coding_get_fixed64(const uint8_t *p, const uint8_t *pEnd, uint64_t *pV){
  if( pEnd - p < 8 ) return NULL;
  *pV = coding_get64(p);
  return p + 8;
}

#endif
