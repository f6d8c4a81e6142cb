/*
** merge_iter.h — k-way merge of sorted internal-key iterators.
**
** Yields the union of its children's entries in ikey order, every version
** of every key (collapsing versions is db_iter's job).  Works forward and
** in reverse and switches direction at any point.  When two children hold
** an identical internal key (which only a corrupt store has) the child
** with the lower index is yielded first going forward (and last going in
** reverse: the order is (internal key, child index) both ways).
**
** Ownership: takes ownership of the children; closing the merge iterator
** closes them, and so does a failed merge_iter_new.
*/
#ifndef LSM_MERGE_ITER_H
#define LSM_MERGE_ITER_H

#include "iter.h"
#include "lsm.h"

iter *merge_iter_new(lsm_env*, iter **apChild, int nChild, int *pRc);

#endif
