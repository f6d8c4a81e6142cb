/*
** test_level_target.c — leveled compaction's size target per level never
** wraps (issue 9, item 11): compaction_level_target multiplied without
** saturating (now compaction_leveled_target), so level_ratio 8 gave level 16 a target of 0 (10 MiB x 8^15
** is past 2^64), and every table there counted as over target.
*/
#include <stdint.h>

#include "compaction_leveled.h"
#include "testutil.h"

START_TEST(level_targets_grow_and_never_wrap){
  static const uint64_t aMemtable[] = { 4096, 4u << 20, 64ull << 30, UINT64_MAX / 2, UINT64_MAX };
  lsm_options opt;
  size_t iMem;
  int iRatio, iLevel;
  lsm_options_default(&opt);
  for(iMem = 0; iMem < sizeof(aMemtable) / sizeof(aMemtable[0]); iMem++){
    opt.memtable_bytes = aMemtable[iMem];
    for(iRatio = 2; iRatio <= 1000; iRatio++){
      uint64_t nPrev = 0;
      opt.level_ratio = iRatio;
      for(iLevel = 1; iLevel < LSM_MAX_LEVELS; iLevel++){
        uint64_t n = compaction_leveled_target(&opt, iLevel);
        ck_assert_msg(n >= nPrev && n > 0, "memtable %llu, ratio %d: level %d target %llu"
                      " after %llu", (unsigned long long)opt.memtable_bytes, iRatio, iLevel,
                      (unsigned long long)n, (unsigned long long)nPrev);
        nPrev = n;
      }
    }
  }
  /* The case, and that saturation does not change small targets. */
  opt.memtable_bytes = 4u << 20;
  opt.level_ratio = 8;
  ck_assert_uint_eq(compaction_leveled_target(&opt, 16), UINT64_MAX);
  ck_assert_uint_eq(compaction_leveled_target(&opt, 2), 80ull << 20);
}
END_TEST

static Suite *level_target_suite(void){
  Suite *s = suite_create("level_target");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, level_targets_grow_and_never_wrap);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(level_target_suite)
