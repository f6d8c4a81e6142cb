/*
** bench_amp.h — the amplification experiment of `make bench` (bench_amp.c)
** and its chart (bench_chart.c).
**
** bench.c runs the experiment as its third level, "amp", through the same
** forked children as the other two:
**
**   for(i = 0; (pEng = bench_amp_engine(i)) != 0; i++)
**     bench_child(p, pEng, bench_amp_run);        child: rows to the pipe
**   bench_amp_report(aRow, nRow, ...);             parent: table, targets, SVG
**
** and adds bench_amp_csv_columns() to every csv row.  What is measured and
** how is written at the top of bench_amp.c.
*/
#ifndef LSM_BENCH_AMP_H
#define LSM_BENCH_AMP_H

#include "bench.h"

#include <stddef.h>

/*
** The i-th engine of the experiment (lsm-leveled, lsm-tiered, leveldb,
** rocksdb, sqlite, as filtered by BENCH_AMP_ENGINES), or NULL past the
** last.  Each is a copy of an adapter of bench.h with zLevel "amp" and its
** experiment name.  Borrowed: static, valid for the life of the process.
*/
const bench_engine *bench_amp_engine(int i);

/* Print the experiment's heading: N, reads, configuration. */
void bench_amp_intro(void);

/*
** The work of one child (a runner for bench.c's bench_child): the whole
** experiment on pEng, which must come from bench_amp_engine(), in a store
** under pCfg->zDir.  Writes one bench_row per phase to fdOut (level "amp":
** fillrandom, overwrite, readrandom, seekrandom, and "total" for the whole
** experiment).  Returns 0, or non-zero after printing a wrong answer or an
** engine error to stderr.
*/
int bench_amp_run(const bench_engine *pEng, const bench_config *pCfg, int fdOut);

/*
** Parent, after the children: print the table of the "amp" rows in
** aRow[0..nRow), the targets of issue 4 with met/MISSED, and write the
** chart (BENCH_AMP_SVG, default bench-amp.svg).  Adds the targets counted
** to *pnTargets and those met to *pnMet.
*/
void bench_amp_report(const bench_row *aRow, int nRow, int *pnTargets, int *pnMet);

/* The csv header's columns after bench.c's eight. */
#define BENCH_AMP_CSV_HEADER "read_amp,p50_us,p99_us,p999_us,max_us"

/*
** The five csv columns of row r after bench.c's eight, each preceded by a
** comma: read_amp, p50_us, p99_us, p999_us, max_us.  Empty where a row has
** no such number (every row of another level; reads have no latencies;
** read_amp where the engine cannot say).  z gets at most nZ bytes.
*/
void bench_amp_csv_columns(const bench_row *r, char *z, size_t nZ);

/* ---- bench_chart.c ---- */

/* One engine on the chart.  A value < 0 is drawn as "n/a". */
typedef struct bench_chart_point {
  const char *zEngine;     /* name, also picks the colour (borrowed)     */
  double rWriteAmp;        /* bytes written / user bytes, whole run      */
  double rGetAmp;          /* SSTables searched per get                  */
  double rSeekAmp;         /* sorted runs positioned per seek            */
  double rSpaceAmp;        /* directory bytes / live bytes at the end    */
} bench_chart_point;

/*
** Write an SVG of the write / read / space amplification trade-off of
** a[0..n) to zPath: a scatter of write amp against sorted runs per seek
** with the area of each point proportional to its space amp, and beside
** it one bar chart per amplification.  zTitle is printed on top (plain
** ASCII).  Returns 0, or non-zero after printing why to stderr.
*/
int bench_chart_write(const char *zPath, const char *zTitle,
                      const bench_chart_point *a, int n);

#endif /* LSM_BENCH_AMP_H */
