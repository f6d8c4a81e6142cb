/*
** bench_chart.c — the chart of the amplification experiment: a small SVG
** writer (Debian's gnuplot is not a dependency of the project, and an SVG
** is a text file a README can show).
**
** The picture, 1000 x 560 user units:
**
**   +------------------------------------------------------------------+
**   | title                                                            |
**   |  read amp ^                          Write amplification          |
**   |  (runs    |     o tiered               lsm-leveled ======= 4.1    |
**   |  per      |          O leveled         ...                       |
**   |  seek)    |  O leveldb                SSTables searched per get  |
**   |           |        O rocksdb           ...                       |
**   |           +-------------------->      Space amplification        |
**   |             write amplification        ...                       |
**   +------------------------------------------------------------------+
**
** Left: the trade-off itself (the RUM conjecture's triangle): one point
** per engine at (write amp, sorted runs positioned per seek), its area
** proportional to its space amp.  The x axis is scaled to the engines that
** have a read amplification; an engine without one (SQLite's B-tree, whose
** write amp is also an order of magnitude beyond) is a triangle on the x
** axis, or at its right end with its value if it is off the scale.  Each
** label is put where it covers no marker and no other label.  Right: the
** three numbers as bars, so that each can be read exactly; "n/a" where an
** engine cannot say.  Colours are fixed per engine name so that charts of
** different runs compare.
*/
#include "bench_amp.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define CHART_W        1000
#define CHART_H        560
#define CHART_FONT     "font-family=\"sans-serif\""

/* The scatter's plot area. */
#define SCATTER_X      80
#define SCATTER_Y      80
#define SCATTER_W      390
#define SCATTER_H      380

/* The bar panels. */
#define BARS_X         560      /* left edge of the engine names        */
#define BARS_NAME_W    100      /* width of the names column            */
#define BARS_W         260      /* longest bar                          */
#define BARS_ROW_H     20       /* one engine                           */
#define BARS_TOP       70       /* top of the first panel               */

/* Scatter labels: an estimate of the width of a 12-unit character, and
** the rightmost x a label may reach (the bar panels start after it). */
#define LABEL_CHAR_W   6.6
#define LABEL_X_MAX    548

#define CHART_MAX_POINTS 16

/* The box a marker or a label covers, to keep labels off both. */
typedef struct chart_box {
  double x0, x1;           /* left and right                        */
  double y0, y1;           /* top and bottom                        */
} chart_box;

/* A colour per engine; others grey. */
static const char *chart_colour(const char *zEngine){
  static const struct { const char *zName, *zColour; } aColour[] = {
    { "lsm-leveled", "#1f77b4" }, { "lsm-tiered", "#2ca02c" },
    { "leveldb", "#ff7f0e" },     { "rocksdb", "#d62728" },
    { "sqlite", "#7f7f7f" },
  };
  size_t i;
  for(i = 0; i < sizeof(aColour) / sizeof(aColour[0]); i++){
    if( !strcmp(aColour[i].zName, zEngine) ) return aColour[i].zColour;
  }
  return "#9467bd";
}

/* A step of 1, 2 or 5 times a power of ten giving about 5 ticks up to rMax. */
static double chart_step(double rMax){
  double rRaw = rMax / 5, rPow, rFrac;
  if( rRaw <= 0 ) return 1;
  rPow = pow(10, floor(log10(rRaw)));
  rFrac = rRaw / rPow;
  return rPow * (rFrac <= 1 ? 1 : rFrac <= 2 ? 2 : rFrac <= 5 ? 5 : 10);
}

/* The axis maximum: the next tick above the largest value. */
static double chart_axis_max(double rMax){
  double rStep = chart_step(rMax * 1.1);
  return rStep * ceil(rMax * 1.1 / rStep);
}

static void chart_text(FILE *f, double x, double y, const char *zAnchor, int nSize,
                       const char *zWeight, const char *zText){
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\" "
          "font-weight=\"%s\" " CHART_FONT ">%s</text>\n", x, y, zAnchor, nSize, zWeight, zText);
}

/* The scatter of write amp (x) against runs per seek (y), area ~ space amp. */
static void chart_scatter(FILE *f, const bench_chart_point *a, int n){
  double rMaxX = 0, rMaxY = 0, rStep, v;
  char zBuf[160];
  int i;
  chart_box aBox[2 * CHART_MAX_POINTS]; /* markers, then labels placed */
  int aiPoint[CHART_MAX_POINTS];  /* a[] index of each marker          */
  int nBox = 0, nMarker, k;
  for(i = 0; i < n; i++){
    if( a[i].rSeekAmp < 0 ) continue;
    if( a[i].rWriteAmp > rMaxX ) rMaxX = a[i].rWriteAmp;
    if( a[i].rSeekAmp > rMaxY ) rMaxY = a[i].rSeekAmp;
  }
  rMaxX = chart_axis_max(rMaxX > 0 ? rMaxX : 1);
  rMaxY = chart_axis_max(rMaxY > 0 ? rMaxY : 1);

  /* Grid, ticks and axes. */
  rStep = chart_step(rMaxX);
  for(v = 0; v <= rMaxX + rStep / 2; v += rStep){
    double x = SCATTER_X + v / rMaxX * SCATTER_W;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e0e0e0\"/>\n",
            x, SCATTER_Y, x, SCATTER_Y + SCATTER_H);
    snprintf(zBuf, sizeof(zBuf), "%g", v);
    chart_text(f, x, SCATTER_Y + SCATTER_H + 16, "middle", 11, "normal", zBuf);
  }
  rStep = chart_step(rMaxY);
  for(v = 0; v <= rMaxY + rStep / 2; v += rStep){
    double y = SCATTER_Y + SCATTER_H - v / rMaxY * SCATTER_H;
    fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n",
            SCATTER_X, y, SCATTER_X + SCATTER_W, y);
    snprintf(zBuf, sizeof(zBuf), "%g", v);
    chart_text(f, SCATTER_X - 6, y + 4, "end", 11, "normal", zBuf);
  }
  fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
          "stroke=\"#333\"/>\n", SCATTER_X, SCATTER_Y, SCATTER_W, SCATTER_H);
  chart_text(f, SCATTER_X + SCATTER_W / 2.0, SCATTER_Y + SCATTER_H + 36, "middle", 12, "normal",
             "write amplification (bytes written / user bytes)");
  fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"12\" " CHART_FONT
          " transform=\"rotate(-90 %d %d)\">read amplification (sorted runs per seek)</text>\n",
          SCATTER_X - 44, SCATTER_Y + SCATTER_H / 2, SCATTER_X - 44, SCATTER_Y + SCATTER_H / 2);
  chart_text(f, SCATTER_X + SCATTER_W, SCATTER_Y - 8, "end", 11, "normal",
             "point area proportional to space amplification");

  /* The markers, each also an obstacle for the labels. */
  for(i = 0; i < n && nBox < CHART_MAX_POINTS; i++){
    const bench_chart_point *p = &a[i];
    chart_box *pBox = &aBox[nBox];
    double x, y, r;
    if( p->rWriteAmp < 0 ) continue;
    x = SCATTER_X + (p->rWriteAmp > rMaxX ? rMaxX : p->rWriteAmp) / rMaxX * SCATTER_W;
    r = 7.0 * sqrt(p->rSpaceAmp > 0.05 ? p->rSpaceAmp : 0.05);
    if( p->rSeekAmp >= 0 ){
      y = SCATTER_Y + SCATTER_H - p->rSeekAmp / rMaxY * SCATTER_H;
      fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\" fill-opacity=\"0.55\" "
              "stroke=\"%s\"/>\n", x, y, r, chart_colour(p->zEngine), chart_colour(p->zEngine));
    }else{
      r = 7;
      y = SCATTER_Y + SCATTER_H - 7;
      fprintf(f, "<path d=\"M %.1f %.1f l -7 -12 l 14 0 z\" fill=\"%s\"/>\n", x, y + 6,
              chart_colour(p->zEngine));
    }
    pBox->x0 = x - r; pBox->x1 = x + r;
    pBox->y0 = y - r; pBox->y1 = y + r;
    aiPoint[nBox++] = i;
  }
  nMarker = nBox;

  /*
  ** The labels.  Each tries, nearest first, the positions right and left
  ** of its marker, level with it and then a line up or down at a time,
  ** then the same lines against the plot's left edge (for a long label of
  ** a marker at the right end),
  ** and takes the first that stays inside the plot (left of the bars)
  ** and overlaps no marker and no label placed before it.
  */
  for(k = 0; k < nMarker; k++){
    const bench_chart_point *p = &a[aiPoint[k]];
    const chart_box *pMark = &aBox[k];
    double x = (pMark->x0 + pMark->x1) / 2, y = (pMark->y0 + pMark->y1) / 2;
    double r = (pMark->x1 - pMark->x0) / 2, w;
    chart_box best, box;
    int iTry, j, bFound = 0;
    if( p->rSeekAmp >= 0 ){
      snprintf(zBuf, sizeof(zBuf), "%s (space %.2f)", p->zEngine, p->rSpaceAmp);
    }else{
      snprintf(zBuf, sizeof(zBuf), "%s (%swrite %.1f, space %.2f; read amp n/a)", p->zEngine,
               p->rWriteAmp > rMaxX ? "off the scale: " : "", p->rWriteAmp, p->rSpaceAmp);
    }
    w = LABEL_CHAR_W * (double)strlen(zBuf);
    for(iTry = 0; iTry < 36 && !bFound; iTry++){
      int iLine = iTry < 24 ? iTry / 2 : iTry - 24;
      int nLine = (iLine + 1) / 2 * (iLine % 2 ? -1 : 1);      /* 0, -1, 1, -2, 2 ... */
      int eSide = iTry < 24 ? iTry % 2 : 2;                    /* right, left, edge   */
      box.x0 = eSide == 0 ? x + r + 4 : eSide == 1 ? x - r - 4 - w : SCATTER_X + 4;
      box.x1 = box.x0 + w;
      box.y0 = y - 7 + 14 * nLine;
      box.y1 = box.y0 + 14;
      if( iTry == 0 ) best = box;
      if( box.x0 < SCATTER_X + 2 || box.x1 > LABEL_X_MAX ) continue;
      if( box.y0 < SCATTER_Y || box.y1 > SCATTER_Y + SCATTER_H ) continue;
      for(j = 0; j < nBox; j++){
        if( box.x0 < aBox[j].x1 && aBox[j].x0 < box.x1
         && box.y0 < aBox[j].y1 && aBox[j].y0 < box.y1 ) break;
      }
      if( j == nBox ){ best = box; bFound = 1; }
    }
    if( nBox < (int)(sizeof(aBox) / sizeof(aBox[0])) ) aBox[nBox++] = best;
    chart_text(f, best.x0, best.y1 - 3, "start", 12, "normal", zBuf);
  }
}

/*
** One horizontal bar chart of field iField (0 write, 1 get, 2 space) at y;
** returns the y below it.
*/
static double chart_bars(FILE *f, const bench_chart_point *a, int n, int iField,
                         const char *zTitle, double y){
  double rMax = 0;
  char zBuf[64];
  int i;
  for(i = 0; i < n; i++){
    double v = iField == 0 ? a[i].rWriteAmp : iField == 1 ? a[i].rGetAmp : a[i].rSpaceAmp;
    if( v > rMax ) rMax = v;
  }
  if( rMax <= 0 ) rMax = 1;
  chart_text(f, BARS_X, y, "start", 13, "bold", zTitle);
  y += 8;
  for(i = 0; i < n; i++){
    double v = iField == 0 ? a[i].rWriteAmp : iField == 1 ? a[i].rGetAmp : a[i].rSpaceAmp;
    double yRow = y + i * BARS_ROW_H;
    chart_text(f, BARS_X + BARS_NAME_W - 6, yRow + 14, "end", 12, "normal", a[i].zEngine);
    if( v < 0 ){
      chart_text(f, BARS_X + BARS_NAME_W + 4, yRow + 14, "start", 12, "normal", "n/a");
      continue;
    }
    fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n",
            BARS_X + BARS_NAME_W, yRow + 3, v / rMax * BARS_W, BARS_ROW_H - 6,
            chart_colour(a[i].zEngine));
    snprintf(zBuf, sizeof(zBuf), "%.2f", v);
    chart_text(f, BARS_X + BARS_NAME_W + v / rMax * BARS_W + 4, yRow + 14, "start", 12,
               "normal", zBuf);
  }
  return y + n * BARS_ROW_H + 28;
}

int bench_chart_write(const char *zPath, const char *zTitle,
                      const bench_chart_point *a, int n){
  FILE *f = fopen(zPath, "w");
  double y;
  if( !f ){
    perror(zPath);
    return 1;
  }
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
          "viewBox=\"0 0 %d %d\">\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
          CHART_W, CHART_H, CHART_W, CHART_H);
  chart_text(f, 20, 32, "start", 16, "bold", zTitle);
  chart_scatter(f, a, n);
  y = BARS_TOP;
  y = chart_bars(f, a, n, 0, "Write amplification (lower is better)", y);
  y = chart_bars(f, a, n, 1, "Read amplification: SSTables searched per get", y);
  chart_bars(f, a, n, 2, "Space amplification", y);
  chart_text(f, 20, CHART_H - 12, "start", 11, "normal",
             "n/a: LevelDB exposes no per-get table counter; SQLite's B-tree pages are not "
             "SSTables.  Data: bench-results.csv, rows with level=amp.");
  fprintf(f, "</svg>\n");
  if( fclose(f) != 0 ){
    perror(zPath);
    return 1;
  }
  return 0;
}
