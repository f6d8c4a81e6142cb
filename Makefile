# lsm — a log-structured merge tree inside SQLite.
#
#   make          build lsm.so (the SQLite extension)
#   make demo     build and run sql/demo.sql in the sqlite3 shell
#   make test     unit tests, SQL tests and the same suite under ASan+UBSan
#   make bench    engine and SQL benchmarks against LevelDB, RocksDB, SQLite
#   make cluster-demo  three dqlite nodes running lsm, a leader killed (needs
#                 libdqlite-dev and go-dqlite; build/lsm-node, build/lsm-cluster)
#   make bench-scale  one store at 1M to 50M keys (not part of make bench)
#   make prof-sql build/bench/prof_sql, SQL reads for callgrind (tests/prof_sql.c)
#   make prof-write build/bench/prof_write, where SQL writes put their bytes (tests/prof_write.c)
#   make prof-compact build/bench/prof_compact, flush+compaction for callgrind (tests/prof_compact.c)
#   make prof-get     build/bench/prof_get, a get's cost right after the writes and settled (tests/prof_get.c)
#   make static   build/libsqlite3_lsm.a, to link the extension into a program
#   make install  lsm.so, the archive, sqlite3_lsm.h and sqlite3-lsm.pc under
#                 $(DESTDIR)$(PREFIX); make uninstall removes them
#   make clean

CC      ?= cc
SQLITE3 ?= sqlite3
PKGS     = sqlite3 libxxhash liblz4 libzstd
OPT     ?= -O2
CFLAGS_COMMON = -std=c11 -D_GNU_SOURCE -g $(OPT) -Wall -Wextra -Werror \
                -fPIC -fvisibility=hidden -MMD -MP -Ilsm -Iext
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
            -fno-omit-frame-pointer
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)
LIBS = -llz4 -lzstd -lpthread -lm
# lsm.so is built from objects of its own, compiled and linked with
# link-time optimisation, so that calls between the engine's files and from
# the glue into the engine are inlined (-4.5% of the instructions of an SQL
# scan or seek: README "Link-time optimisation of lsm.so").  The static
# library, the tests and the benchmark's engine level use the plain objects
# (a program linking liblsm.a gets what its own link does).  LTO= builds
# lsm.so without it.
LTO     ?= -flto=auto
# Where make install puts things (DESTDIR is prepended to each).
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# The version, from the public header (LSM_VERSION).
VERSION := $(shell sed -n 's/^\#define LSM_VERSION  *"\(.*\)"/\1/p' ext/sqlite3_lsm.h)

# Sources, per directory (wildcards keep the lists in one place: every .c
# in lsm/ is the engine, every .c in ext/ the glue, every tests/test_*.c
# one Check program).
LSM_SRC  := $(wildcard lsm/*.c)
# The dqlite node and its client are programs, not part of lsm.so.
NODE_SRC := ext/node.c ext/cluster.c ext/dqwire.c
EXT_SRC  := $(filter-out $(NODE_SRC),$(wildcard ext/*.c))
# test_cluster needs libdqlite's node program: its own target (cluster-test).
TEST_SRC := $(filter-out tests/test_cluster.c,$(wildcard tests/test_*.c))
TESTUTIL_SRC := tests/testutil.c tests/faultenv.c tests/harness.c tests/vfs_shim.c

B  = build
BS = build/san
BL = build/lto

# XXH3 checksums: on x86-64 one file is also built for AVX2 and used where
# the processor has it (lsm/checksum_avx2.c says why).
ifeq ($(shell uname -m),x86_64)
$(B)/lsm/checksum.o $(BS)/lsm/checksum.o $(BL)/lsm/checksum.o: CFLAGS_COMMON += -DLSM_CHECKSUM_AVX2
$(B)/lsm/checksum_avx2.o $(BS)/lsm/checksum_avx2.o $(BL)/lsm/checksum_avx2.o: CFLAGS_COMMON += -DLSM_CHECKSUM_AVX2 -mavx2
$(B)/tests/test_checksum.o $(BS)/tests/test_checksum.o: CFLAGS_COMMON += -DLSM_CHECKSUM_AVX2
endif

LSM_OBJ   = $(LSM_SRC:%.c=$(B)/%.o)
EXT_OBJ   = $(EXT_SRC:%.c=$(B)/%.o)
TEST_BIN  = $(TEST_SRC:tests/%.c=$(B)/tests/%)
LSM_OBJ_S = $(LSM_SRC:%.c=$(BS)/%.o)
SO_OBJ    = $(LSM_SRC:%.c=$(BL)/%.o) $(EXT_SRC:%.c=$(BL)/%.o)
TEST_BIN_S = $(TEST_SRC:tests/%.c=$(BS)/tests/%)

# Keep the objects of test programs (make would delete them as intermediates).
.SECONDARY:

.PHONY: all demo test unit-test san-test sql-test static-test deps bench clean \
        static install uninstall node cluster-demo cluster-test
all: lsm.so node

deps:
	@sh tests/deps.sh

lsm.so: $(SO_OBJ)
	$(CC) -shared $(OPT) $(LTO) -o $@ $^ $(LIBS)
	@# The extension exports exactly one symbol.
	@test "$$(nm -D --defined-only $@ | awk '$$2 == "T" {print $$3}')" = sqlite3_lsm_init \
	  || { echo "lsm.so must export only sqlite3_lsm_init"; nm -D --defined-only $@; exit 1; }

$(B)/liblsm.a: $(LSM_OBJ)
	rm -f $@ && ar rcs $@ $^
$(BS)/liblsm.a: $(LSM_OBJ_S)
	rm -f $@ && ar rcs $@ $^

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(PKG_CFLAGS) $(CHECK_CFLAGS) -c -o $@ $<
$(BS)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(SAN_FLAGS) $(PKG_CFLAGS) $(CHECK_CFLAGS) -c -o $@ $<
$(BL)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(LTO) $(PKG_CFLAGS) -c -o $@ $<

$(B)/tests/%: $(B)/tests/%.o $(B)/tests/testutil.o $(B)/tests/faultenv.o $(B)/tests/harness.o $(B)/tests/vfs_shim.o $(B)/liblsm.a $(EXT_OBJ)
	$(CC) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(CHECK_LIBS) -lsqlite3 $(LIBS)
$(BS)/tests/%: $(BS)/tests/%.o $(BS)/tests/testutil.o $(BS)/tests/faultenv.o $(BS)/tests/harness.o $(BS)/tests/vfs_shim.o $(BS)/liblsm.a $(EXT_SRC:%.c=$(BS)/%.o)
	$(CC) $(SAN_FLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(CHECK_LIBS) -lsqlite3 $(LIBS)

demo: deps
	@$(MAKE) --no-print-directory lsm.so
	$(SQLITE3) :memory: < sql/demo.sql

# make test builds with one job per CPU unless given -j, and runs the
# Check programs as many at a time (tests/run_unit.sh, LSM_TEST_JOBS).
NPROC := $(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
TEST_MAKE_JOBS = $(if $(findstring -j,$(MAKEFLAGS)),,-j$(NPROC))

test: deps
	$(MAKE) $(TEST_MAKE_JOBS) $(TEST_BIN) $(TEST_BIN_S) lsm.so
	$(MAKE) unit-test
	$(MAKE) sql-test
	$(MAKE) static-test
	$(MAKE) san-test
	$(MAKE) cluster-test
	@echo "make test: all passed"

unit-test: $(TEST_BIN)
	@sh tests/run_unit.sh $(TEST_BIN)

san-test: $(TEST_BIN_S)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSM_TEST_QUICK=1 sh tests/run_unit.sh $(TEST_BIN_S)

sql-test: lsm.so
	@sh tests/run_sql.sh
	@sh tests/run_python.sh
	@sh tests/readme_test.sh

# ---- static: one archive for linking the extension into a program.
# Every object is built with -fvisibility=hidden; a partial link (ld -r)
# makes them one object, in which objcopy keeps global only
# sqlite3_lsm_init, sqlite3_lsm_replicated and the engine API declared in lsm/lsm.h, and renames
# that API from lsm_* to sqlite3_lsm_* (SQLite's LSM1 extension defines
# lsm_open, lsm_close, ... too).  sqlite3_lsm_engine.h is lsm.h with those
# names.  The recipe fails if any other global symbol is left.
STATIC_LIB = $(B)/libsqlite3_lsm.a
STATIC_HDR = $(B)/sqlite3_lsm_engine.h
STATIC_API = $(B)/static/api.txt

static: $(STATIC_LIB) $(STATIC_HDR)

$(STATIC_API): lsm/lsm.h
	@mkdir -p $(dir $@)
	grep -oE '\blsm_[a-z0-9_]+\(' lsm/lsm.h | tr -d '(' | sort -u > $@

$(STATIC_LIB): $(LSM_OBJ) $(EXT_OBJ) $(STATIC_API)
	ld -r -o $(B)/static/all.o $(LSM_OBJ) $(EXT_OBJ)
	{ echo sqlite3_lsm_init; echo sqlite3_lsm_replicated; cat $(STATIC_API); } > $(B)/static/keep.txt
	sed 's/.*/& sqlite3_&/' $(STATIC_API) > $(B)/static/rename.txt
	objcopy --keep-global-symbols=$(B)/static/keep.txt $(B)/static/all.o $(B)/static/kept.o
	objcopy --redefine-syms=$(B)/static/rename.txt $(B)/static/kept.o $(B)/static/sqlite3_lsm.o
	@other=$$(nm -g --defined-only $(B)/static/sqlite3_lsm.o | awk '{print $$3}' | grep -v '^sqlite3_lsm_'); \
	  test -z "$$other" || { echo "$@: global symbols without the sqlite3_lsm_ prefix:" $$other; exit 1; }
	rm -f $@ && ar rcs $@ $(B)/static/sqlite3_lsm.o

$(STATIC_HDR): lsm/lsm.h $(STATIC_API)
	{ echo '/* sqlite3_lsm_engine.h: generated by make static from lsm/lsm.h.  The engine API'; \
	  echo '** as libsqlite3_lsm.a holds it: lsm_open is sqlite3_lsm_open, and so on. */'; \
	  echo '#ifndef SQLITE3_LSM_ENGINE_H'; echo '#define SQLITE3_LSM_ENGINE_H'; \
	  sed 's/.*/#define & sqlite3_&/' $(STATIC_API); cat lsm/lsm.h; echo '#endif'; } > $@

# static-test: tests/static_link.c linked with the archive alone (no
# liblsm.a, no ext objects), then tests/install_test.sh: make install into
# a temporary DESTDIR, .load from there, build against the installed
# header and pkg-config file, make uninstall.
$(B)/static/static_link: tests/static_link.c $(STATIC_LIB) $(STATIC_HDR) ext/sqlite3_lsm.h
	$(CC) $(CFLAGS_COMMON) $(PKG_CFLAGS) -I$(B) -o $@ tests/static_link.c $(STATIC_LIB) \
	  -lsqlite3 $(LIBS)

static-test: $(B)/static/static_link lsm.so
	$(B)/static/static_link
	@sh tests/install_test.sh

# ---- install: PREFIX (default /usr/local) and DESTDIR, as usual.
# lsm.so goes to $(LIBDIR): SQLite's .load then needs its path
# (".load /usr/local/lib/lsm"): the dynamic loader finds a bare "lsm" only
# in /lib and /usr/lib, or in directories it caches lib*.so files for.
# The pkg-config file is written here, for the PREFIX of this install.
install: lsm.so static
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 lsm.so $(DESTDIR)$(LIBDIR)/lsm.so
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/libsqlite3_lsm.a
	install -m 644 ext/sqlite3_lsm.h $(STATIC_HDR) $(DESTDIR)$(INCLUDEDIR)/
	{ echo 'prefix=$(PREFIX)'; echo 'libdir=$(LIBDIR)'; echo 'includedir=$(INCLUDEDIR)'; \
	  echo '# the loadable extension, for .load or sqlite3_load_extension'; \
	  echo 'extension=$(LIBDIR)/lsm'; echo; \
	  echo 'Name: sqlite3-lsm'; \
	  echo 'Description: an LSM-tree key-value store as a SQLite extension'; \
	  echo 'Version: $(VERSION)'; echo 'Requires: sqlite3'; \
	  echo 'Libs: -L$(LIBDIR) -lsqlite3_lsm -llz4 -lzstd -lpthread -lm'; \
	  echo 'Cflags: -I$(INCLUDEDIR)'; } > $(DESTDIR)$(PKGCONFIGDIR)/sqlite3-lsm.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/sqlite3-lsm.pc

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/lsm.so $(DESTDIR)$(LIBDIR)/libsqlite3_lsm.a \
	  $(DESTDIR)$(INCLUDEDIR)/sqlite3_lsm.h $(DESTDIR)$(INCLUDEDIR)/sqlite3_lsm_engine.h \
	  $(DESTDIR)$(PKGCONFIGDIR)/sqlite3-lsm.pc

# ---- dqlite: build/lsm-node (ext/node.c: a dqlite node with lsm in every
# connection) and build/lsm-cluster (ext/cluster.c: join, transfer, exec,
# query, bench over dqlite's wire protocol, ext/dqwire.c).  Built only when
# pkg-config finds dqlite (Debian 12: libdqlite-dev 1.11); the demo also
# uses the dqlite shell of go-dqlite.
DQLITE_PKGS = libdqlite-dev go-dqlite
DQLITE_INSTALL = apt-get install -y $(DQLITE_PKGS)
HAVE_DQLITE := $(shell pkg-config --exists dqlite 2>/dev/null && echo yes)
NODE_BIN = $(B)/lsm-node $(B)/lsm-cluster

ifeq ($(HAVE_DQLITE),yes)
node: $(NODE_BIN)
else
node:
	@echo "build/lsm-node not built: libdqlite-dev is missing; to build it run: $(DQLITE_INSTALL)"
endif

$(B)/lsm-node: $(B)/ext/node.o $(B)/ext/dqwire.o $(EXT_OBJ) $(B)/liblsm.a
	$(CC) -o $@ $^ $(shell pkg-config --libs dqlite 2>/dev/null) -lsqlite3 $(LIBS)
$(B)/lsm-cluster: $(B)/ext/cluster.o $(B)/ext/dqwire.o
	$(CC) -o $@ $^

$(B)/tests/test_cluster: $(B)/tests/test_cluster.o $(B)/ext/dqwire.o $(B)/tests/testutil.o $(B)/liblsm.a
	$(CC) -o $@ $^ $(CHECK_LIBS) -lsqlite3 $(LIBS)

# dqlite-deps: as deps.sh, for the dqlite packages; never fails (the
# cluster targets say what is missing).
.PHONY: dqlite-deps
dqlite-deps:
	@need=""; for p in $(DQLITE_PKGS); do dpkg -s $$p >/dev/null 2>&1 || need="$$need $$p"; done; \
	if [ -n "$$need" ] && [ "$$(id -u)" = 0 ]; then \
	  echo "installing:$$need"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null; } \
	    || echo "apt-get install failed:$$need"; \
	fi; true

cluster-demo: dqlite-deps lsm.so
	@$(MAKE) --no-print-directory node
	@sh tests/cluster_demo.sh

# cluster-test: three nodes, leaders SIGKILLed under a writer
# (tests/test_cluster.c); skipped, saying why, without libdqlite.
cluster-test: dqlite-deps
	@if pkg-config --exists dqlite 2>/dev/null; then \
	  $(MAKE) --no-print-directory $(NODE_BIN) $(B)/tests/test_cluster && $(B)/tests/test_cluster; \
	else \
	  echo "SKIP cluster-test: libdqlite-dev is not installed and could not be; run: $(DQLITE_INSTALL)"; \
	fi

# ---- bench: tests/bench*.c, this engine against LevelDB and RocksDB, and the
# lsm table against native SQLite (see tests/bench.c).  Built with -O2 and no
# sanitizers against build/liblsm.a; Debian's libleveldb-dev has no .pc file.
BENCH_SRC    := $(filter-out tests/bench_scale.c,$(wildcard tests/bench*.c))
BENCH_OBJ     = $(BENCH_SRC:tests/%.c=$(B)/bench/%.o)
BENCH_BIN     = $(B)/bench/bench
BENCH_PKGS    = libleveldb-dev librocksdb-dev
BENCH_CFLAGS  = -std=c11 -D_GNU_SOURCE -g -O2 -Wall -Wextra -Werror -MMD -MP -Ilsm
BENCH_LIBS    = -lleveldb $(or $(shell pkg-config --libs rocksdb 2>/dev/null),-lrocksdb) \
                -lsqlite3 $(LIBS)
.PHONY: bench-deps

bench: bench-deps
	@$(MAKE) --no-print-directory $(BENCH_BIN)
	@$(MAKE) --no-print-directory lsm.so \
	  || echo "bench: lsm.so did not build; the SQL level will be skipped"
	$(BENCH_BIN)

# bench-amp: only the amplification experiment of tests/bench_amp.c (N =
# BENCH_AMP_N, default 5,000,000); writes bench-results.csv and bench-amp.svg.
.PHONY: bench-amp
bench-amp: bench-deps
	@$(MAKE) --no-print-directory $(BENCH_BIN)
	BENCH_LEVEL=amp $(BENCH_BIN)

# bench-scale: tests/bench_scale.c, one store of each policy at 1M, 5M, 20M
# and 50M keys (BENCH_SCALE_SIZES), or BENCH_SCALE_EXPERIMENT=compression;
# not part of bench or test (it takes hours at the largest sizes).
SCALE_BIN = $(B)/bench/bench_scale
.PHONY: bench-scale
bench-scale: bench-deps
	@$(MAKE) --no-print-directory $(SCALE_BIN)
	$(SCALE_BIN)
$(SCALE_BIN): $(B)/bench/bench_scale.o $(B)/bench/bench_util.o $(B)/liblsm.a
	$(CC) -o $@ $^ $(BENCH_LIBS)

# prof-sql: tests/prof_sql.c, a deterministic SQL read workload for
# callgrind (usage in its header); not part of bench or test.
PROF_BIN = $(B)/bench/prof_sql
.PHONY: prof-sql
prof-sql: lsm.so $(PROF_BIN)
$(PROF_BIN): $(B)/bench/prof_sql.o
	$(CC) -o $@ $^ -lsqlite3

# prof-write: tests/prof_write.c, where the bytes of one SQL write workload
# go (usage in its header); not part of bench or test.
PROF_WRITE_BIN = $(B)/bench/prof_write
.PHONY: prof-write
prof-write: lsm.so $(PROF_WRITE_BIN)
$(PROF_WRITE_BIN): $(B)/bench/prof_write.o $(B)/tests/vfs_shim.o
	$(CC) -o $@ $^ -lsqlite3

# prof-compact: tests/prof_compact.c, a deterministic flush and compaction
# workload on the engine API for callgrind (usage in its header); not part
# of bench or test.
PROF_COMPACT_BIN = $(B)/bench/prof_compact
.PHONY: prof-compact
prof-compact: $(PROF_COMPACT_BIN)
$(PROF_COMPACT_BIN): $(B)/bench/prof_compact.o $(B)/bench/bench_util.o $(B)/liblsm.a
	$(CC) -o $@ $^ $(LIBS)

# prof-get: tests/prof_get.c, where a get's time goes right after the
# writes and settled (usage in its header); not part of bench or test.
PROF_GET_BIN = $(B)/bench/prof_get
.PHONY: prof-get
prof-get: $(PROF_GET_BIN)
$(PROF_GET_BIN): $(B)/bench/prof_get.o $(B)/bench/bench_util.o $(B)/liblsm.a
	$(CC) -o $@ $^ $(LIBS)

bench-deps:
	@need=""; for p in $(BENCH_PKGS); do dpkg -s $$p >/dev/null 2>&1 || need="$$need $$p"; done; \
	if [ -z "$$need" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "bench: installing:$$need"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null \
	    || { echo "bench: apt-get install failed:$$need"; exit 1; }; \
	else \
	  echo "bench: missing packages; run: sudo apt-get install -y$$need"; exit 1; \
	fi

$(BENCH_BIN): $(BENCH_OBJ) $(B)/liblsm.a
	$(CC) -o $@ $^ $(BENCH_LIBS)
$(B)/bench/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

clean:
	rm -rf $(B) lsm.so bench-results.csv

-include $(shell find $(B) -name '*.d' 2>/dev/null)
