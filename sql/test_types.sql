-- test_types.sql — keys order exactly as SQLite orders them (numbers <
-- TEXT < BLOB, 1 == 1.0), rows keep the key as last written, and every
-- value keeps its storage class and its exact value.
--
-- The reference is the native table an lsm table promises to behave as: CREATE TABLE nat(key PRIMARY KEY NOT NULL, value) WITHOUT ROWID.
--
-- Run by tests/run_sql.sh: sqlite3 -bail -batch test.db ".load <repo>/lsm" ".read <this>"
.mode list
.headers off

CREATE VIRTUAL TABLE kv USING lsm;
CREATE TABLE nat(key PRIMARY KEY NOT NULL, value) WITHOUT ROWID;

-- A mixed set of keys, each written to both tables with the same value.
CREATE TEMP TABLE sample(k);
INSERT INTO sample VALUES
  (-9223372036854775808), (-1e300), (-2.5), (-1), (-0.5), (0), (0.5), (1), (1.5), (2), (10),
  (9007199254740991), (9007199254740992), (9007199254740993), (9007199254740994),
  (9223372036854775806), (9223372036854775807), (9.3e18), (1e300),
  (''), ('A'), ('B'), ('a'), ('aa'), ('ab'), ('b'), ('1'), ('10'), ('2'), (CAST(x'610062' AS TEXT)),
  (x''), (x'00'), (x'0000'), (x'01'), (x'ff'), (x'61');
INSERT INTO kv SELECT k, typeof(k) FROM sample;
INSERT INTO nat SELECT k, typeof(k) FROM sample;

.testcase every_key_is_stored
SELECT count(*) FROM kv;
.check "36"

.testcase keys_order_as_in_a_native_table
SELECT (SELECT group_concat(quote(key) || ':' || typeof(key), ' ') FROM (SELECT key FROM kv ORDER BY key))
     = (SELECT group_concat(quote(key) || ':' || typeof(key), ' ') FROM (SELECT key FROM nat ORDER BY key));
.check "1"

.testcase keys_order_in_reverse_as_in_a_native_table
SELECT (SELECT group_concat(quote(key), ' ') FROM (SELECT key FROM kv ORDER BY key DESC))
     = (SELECT group_concat(quote(key), ' ') FROM (SELECT key FROM nat ORDER BY key DESC));
.check "1"

.testcase numbers_come_before_text_and_text_before_blobs
SELECT group_concat(c, '') FROM (
  SELECT CASE typeof(key) WHEN 'text' THEN 't' WHEN 'blob' THEN 'b' ELSE 'n' END AS c
    FROM kv ORDER BY key);
.check "nnnnnnnnnnnnnnnnnnntttttttttttbbbbbb"

.testcase integers_beyond_two_to_the_53_keep_their_order
SELECT group_concat(key, ' ') FROM kv WHERE key BETWEEN 9007199254740991 AND 9007199254740994;
.check "9007199254740991 9007199254740992 9007199254740993 9007199254740994"

.testcase the_largest_integers_and_reals_order_by_value
SELECT group_concat(quote(key), ' ') FROM kv WHERE key > 9223372036854775805 AND key < 1e300;
.check "9223372036854775806 9223372036854775807 9.3e+18"

.testcase text_orders_by_its_bytes
SELECT group_concat(quote(key), ' ') FROM kv WHERE key >= '' AND key < x'';
SELECT length(CAST(key AS BLOB)) FROM kv WHERE key = CAST(x'610062' AS TEXT);
.check "'' '1' '10' '2' 'A' 'B' 'a' 'a' 'aa' 'ab' 'b' 3"

.testcase blobs_order_by_their_bytes_shorter_first
SELECT group_concat(quote(key), ' ') FROM kv WHERE key >= x'';
.check "X'' X'00' X'0000' X'01' X'61' X'FF'"

.testcase one_and_one_point_zero_are_the_same_key
INSERT INTO kv VALUES (1.0, 'now real');
INSERT INTO nat VALUES (1.0, 'now real') ON CONFLICT DO UPDATE SET key = excluded.key, value = excluded.value;
SELECT count(*), quote(key), typeof(key), value FROM kv WHERE key = 1;
.check "1|1.0|real|now real"

.testcase the_row_keeps_the_key_as_last_written
INSERT INTO kv VALUES (1, 'integer again');
SELECT quote(key), typeof(key) FROM kv WHERE key = 1.0;
.check "1|integer"

.testcase minus_zero_and_zero_are_one_key_and_minus_zero_is_kept
INSERT INTO kv VALUES (-0.0, 'minus zero');
SELECT count(*), typeof(key), hex(ieee754_to_blob(key)), value FROM kv WHERE key = 0;
.check "1|real|8000000000000000|minus zero"

.testcase a_text_key_is_not_the_number_it_spells
SELECT group_concat(quote(key) || '=' || value, ' ') FROM kv WHERE key IN (1, '1');
.check "1=integer again '1'=text"

.testcase lookups_by_a_real_find_an_integer_key_and_the_reverse
SELECT (SELECT value FROM kv WHERE key = 2.0), (SELECT value FROM kv WHERE key = 1.5e0),
       (SELECT count(*) FROM kv WHERE key = 2.000000001);
.check "integer|real|0"

.testcase a_number_range_includes_text_and_blobs_above_it
SELECT count(*) FROM kv WHERE key > 9.3e18;
SELECT count(*) FROM nat WHERE key > 9.3e18;
.check "18 18"

-- Values: every storage class, exactly.
CREATE VIRTUAL TABLE vals USING lsm(k, v);
CREATE TABLE natvals(k PRIMARY KEY NOT NULL, v) WITHOUT ROWID;
CREATE TEMP TABLE vsample(v);
INSERT INTO vsample VALUES (NULL), (0), (1), (-1), (127), (128), (-9223372036854775808),
  (9223372036854775807), (0.1), (-0.0), (1e308), (-1e-308), (4.9406564584124654e-324),
  (''), ('text'), ('ünïcödé ✓'), (CAST(x'00410042' AS TEXT)), (x''), (x'00'), (zeroblob(1000)),
  (randomblob(5000)), (printf('%.*c', 100000, 'x'));
INSERT INTO vals SELECT rowid, v FROM vsample;
INSERT INTO natvals SELECT rowid, v FROM vsample;

.testcase every_value_keeps_its_type_and_bytes
SELECT count(*) FROM vals JOIN natvals USING (k)
 WHERE typeof(vals.v) = typeof(natvals.v) AND quote(vals.v) IS quote(natvals.v)
   AND length(CAST(vals.v AS BLOB)) IS length(CAST(natvals.v AS BLOB));
.check "22"

.testcase null_and_empty_text_and_empty_blob_stay_distinct
SELECT group_concat(typeof(v) || ':' || quote(v), ' ') FROM vals WHERE k IN (1, 14, 18);
.check "null:NULL text:'' blob:X''"

.testcase a_real_keeps_every_bit
SELECT v = 0.1, v * 3 = 0.1 * 3 FROM vals WHERE k = 9;
SELECT quote(v) FROM vals WHERE k = 13;
.check "1|1 4.94065645841247e-324"

.testcase text_with_nul_bytes_keeps_its_length
SELECT length(CAST(v AS BLOB)), hex(v) FROM vals WHERE k = 17;
.check "4|00410042"

.testcase the_integer_extremes_survive
SELECT group_concat(v, ' ') FROM vals WHERE k IN (7, 8);
.check "-9223372036854775808 9223372036854775807"

-- A scan hands every row over as stored: keys of each type (text, blob,
-- integer, real) and of every length 0 to 60, with text and blob values of
-- every length 0 to 60 and around the record's one- and two-byte serial
-- types (xColumn's shortcuts: vtab.c's text key, record.c's first column).
CREATE VIRTUAL TABLE lens USING lsm(k, v);
CREATE TABLE natlens(k PRIMARY KEY NOT NULL, v) WITHOUT ROWID;
CREATE TEMP TABLE lensample(k, v);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 60),
  s(z) AS (SELECT '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ')
INSERT INTO lensample
  SELECT substr(z, 1, i), substr(z, 61 - i, i) FROM n, s
  UNION ALL SELECT CAST(substr(z, 2, i) AS BLOB), CAST(substr(z, 1, i) AS BLOB) FROM n, s
  UNION ALL SELECT CAST(substr(z, 1, i) || x'00' || 'tail' AS TEXT), i FROM n, s
  UNION ALL SELECT i * 1000003 - 30000000, printf('%.*c', i, 'v') FROM n
  UNION ALL SELECT i + 0.25, zeroblob(i) FROM n;
INSERT INTO lensample VALUES (1e9, printf('%.*c', 56, 't')), (1e9 + 1, printf('%.*c', 57, 't')),
  (1e9 + 2, zeroblob(57)), (1e9 + 3, randomblob(58)), (1e9 + 4, printf('%.*c', 8184, 't')),
  (1e9 + 5, zeroblob(8184)), (1e9 + 6, printf('%.*c', 8185, 't')), (1e9 + 7, zeroblob(8185));
INSERT INTO lens SELECT k, v FROM lensample;
INSERT INTO natlens SELECT k, v FROM lensample;

.testcase a_scan_gives_back_keys_and_values_of_every_type_and_length
SELECT count(*), sum(a.k IS b.k AND typeof(a.k) = typeof(b.k)
                     AND length(CAST(a.k AS BLOB)) = length(CAST(b.k AS BLOB))
                     AND a.v IS b.v AND typeof(a.v) = typeof(b.v)
                     AND length(CAST(a.v AS BLOB)) = length(CAST(b.v AS BLOB)))
  FROM (SELECT row_number() OVER () AS r, k, v FROM (SELECT k, v FROM lens ORDER BY k)) a
  JOIN (SELECT row_number() OVER () AS r, k, v FROM (SELECT k, v FROM natlens ORDER BY k)) b
  USING (r);
SELECT (SELECT group_concat(quote(k) || quote(v), ',') FROM (SELECT k, v FROM lens ORDER BY k DESC))
     = (SELECT group_concat(quote(k) || quote(v), ',') FROM (SELECT k, v FROM natlens ORDER BY k DESC));
.check "313|313 1"
