/*
** compaction_leveled.h — the leveled compaction policy (the rules: see
** compaction_leveled.c).  Called through compaction_next (compaction.h).
*/
#ifndef LSM_COMPACTION_LEVELED_H
#define LSM_COMPACTION_LEVELED_H

#include "compaction_pick.h"

/* The most urgent leveled compaction of pV, into *pPick (zeroed by the
** caller): 1, or 0 if none is due (or no memory to describe one). */
int compaction_leveled_pick(version *pV, const lsm_options*, compaction_pick *pPick);

/* Target bytes of level iLevel (>= 1): 2.5 memtables for level 1, each
** deeper level level_ratio times the last, saturating at UINT64_MAX. */
uint64_t compaction_leveled_target(const lsm_options*, int iLevel);

/* The compaction debt of pV: the bytes by which levels 1 and deeper
** exceed their targets, summed (what the compactions due on those levels
** must at least move down; compaction_write_stall bounds it). */
uint64_t compaction_leveled_debt(const version *pV, const lsm_options*);

#endif
