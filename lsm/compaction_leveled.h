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

#endif
