-- sqlite3 workload for ward's benchmarks (bench/run.sh runs
-- `sqlite3 :memory: < bench/sqlite.sql`): 200,000 rows into an in-memory
-- database, three indexes, then queries, updates and deletes.  The output is
-- deterministic (no random()), so it must be the same under every allocator.
PRAGMA cache_size = -200000;
CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL, d BLOB);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
INSERT INTO t(a, b, c, d)
  SELECT (i * 7919) % 100003,
         printf('row-%08x-%s', (i * 2654435761) % 4294967296, substr('abcdefghijklmnopqrstuvwxyz', 1 + i % 26)),
         (i % 1000) / 7.0,
         zeroblob(i % 200)
  FROM n;
CREATE INDEX t_a ON t(a);
CREATE INDEX t_b ON t(b);
CREATE INDEX t_ca ON t(c, a);
SELECT count(*), sum(a), sum(length(b)), sum(length(d)) FROM t;
SELECT a % 10 AS k, count(*), min(b), max(b) FROM t GROUP BY k ORDER BY k;
SELECT count(*) FROM t AS x JOIN t AS y ON x.a = y.a AND x.id < y.id;
SELECT group_concat(b, ','), count(*) FROM (SELECT b FROM t WHERE a BETWEEN 5000 AND 5200 ORDER BY b);
UPDATE t SET b = b || '-updated', c = c + 1 WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
SELECT count(*), sum(length(b)), total(c) FROM t;
CREATE TABLE u AS SELECT a, count(*) AS n, group_concat(id) AS ids FROM t GROUP BY a;
SELECT count(*), sum(n), sum(length(ids)) FROM u;
SELECT b FROM t ORDER BY b DESC LIMIT 3;
