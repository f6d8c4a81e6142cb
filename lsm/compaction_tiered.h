/*
** compaction_tiered.h — the size-tiered compaction policy (the rules:
** see compaction_tiered.c).  Called through compaction_next
** (compaction.h).
*/
#ifndef LSM_COMPACTION_TIERED_H
#define LSM_COMPACTION_TIERED_H

#include "compaction_pick.h"

/* The most urgent tiered compaction of pV, into *pPick (zeroed by the
** caller): 1, or 0 if none is due (or no memory to describe one). */
int compaction_tiered_pick(version *pV, const lsm_options*, compaction_pick *pPick);

#endif
