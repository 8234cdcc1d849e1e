#!/usr/bin/env bash
# sqlite3 on an in-memory database, plainly and under ward: tables filled
# with ~100k rows by recursive CTEs, indexes, joins, GROUP BY, window
# functions, string building, updates and deletes, a VACUUM.
# shellcheck source=tests/real/common.bash
. "$(dirname "$0")/common.bash"
need sqlite3

cat >"$work/work.sql" <<'SQL'
.headers off
.mode list
PRAGMA cache_size = -20000;
CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT, city TEXT, score REAL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, amount INTEGER, note TEXT, day INTEGER);
CREATE TABLE product (id INTEGER PRIMARY KEY, label TEXT, price INTEGER);
CREATE TABLE line (order_id INTEGER, product_id INTEGER, qty INTEGER);

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
INSERT INTO customer SELECT i, 'customer-' || i || '-' || hex(i * 7919 % 65521),
       'city' || (i * 31 % 97), (i * 7919 % 10007) / 100.0 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO orders SELECT i, 1 + (i * 7919 % 10000), (i * 104729 % 100000) / 7,
       substr('lorem ipsum dolor sit amet consectetur adipiscing elit', 1 + i % 40, 10 + i % 30) || i,
       i % 365 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
INSERT INTO product SELECT i, 'product ' || printf('%05d', i * 37 % 1000), 100 + i * 13 % 900 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150000)
INSERT INTO line SELECT 1 + (i * 48271 % 100000), 1 + (i * 16807 % 500), 1 + i % 9 FROM n;

CREATE INDEX orders_customer ON orders(customer_id);
CREATE INDEX orders_day ON orders(day, amount);
CREATE INDEX line_order ON line(order_id);
CREATE INDEX customer_city ON customer(city, score);

SELECT 'counts', (SELECT count(*) FROM customer), (SELECT count(*) FROM orders),
       (SELECT count(*) FROM product), (SELECT count(*) FROM line);

SELECT 'top cities';
SELECT c.city, count(*), sum(o.amount), round(avg(c.score), 3)
  FROM orders o JOIN customer c ON c.id = o.customer_id
 GROUP BY c.city ORDER BY sum(o.amount) DESC, c.city LIMIT 10;

SELECT 'revenue by product';
SELECT p.label, sum(l.qty * p.price) AS rev, count(DISTINCT l.order_id)
  FROM line l JOIN product p ON p.id = l.product_id
 GROUP BY p.id ORDER BY rev DESC, p.label LIMIT 10;

SELECT 'busiest days';
SELECT day, count(*), max(amount), min(amount) FROM orders
 GROUP BY day HAVING count(*) > 270 ORDER BY day LIMIT 10;

SELECT 'window';
SELECT customer_id, amount, rnk FROM (
  SELECT customer_id, amount, rank() OVER (PARTITION BY customer_id ORDER BY amount DESC, id) AS rnk
    FROM orders WHERE customer_id <= 30)
 WHERE rnk <= 2 ORDER BY customer_id, rnk;

SELECT 'running total', max(rt), count(*) FROM (
  SELECT sum(amount) OVER (ORDER BY id ROWS BETWEEN 100 PRECEDING AND CURRENT ROW) AS rt FROM orders);

SELECT 'group_concat', length(group_concat(note, ',')), count(DISTINCT note) FROM orders;
SELECT 'strings', sum(length(upper(note) || lower(name) || replace(name, '-', '::'))) FROM orders o JOIN customer c ON c.id = o.customer_id;

SELECT 'customers without orders', count(*) FROM customer c
 WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id);

SELECT 'subquery', count(*) FROM orders WHERE amount > (SELECT avg(amount) FROM orders);

CREATE TEMP TABLE big AS SELECT o.id, c.name, o.note, p.label, l.qty
  FROM orders o JOIN customer c ON c.id = o.customer_id
  JOIN line l ON l.order_id = o.id JOIN product p ON p.id = l.product_id;
SELECT 'big join', count(*), sum(qty), sum(length(name) + length(label)) FROM big;

UPDATE orders SET note = note || '-updated-' || (amount % 100) WHERE id % 3 = 0;
DELETE FROM orders WHERE id % 7 = 0;
DELETE FROM line WHERE order_id NOT IN (SELECT id FROM orders);
SELECT 'after update/delete', count(*), sum(length(note)) FROM orders;
SELECT 'lines left', count(*), sum(qty) FROM line;

DROP TABLE big;
VACUUM;
PRAGMA integrity_check;
SELECT 'json', length(json_group_array(json_object('id', id, 'amount', amount, 'note', note)))
  FROM (SELECT * FROM orders ORDER BY id LIMIT 20000);
SELECT 'ordered', id, amount, note FROM orders ORDER BY amount DESC, id LIMIT 5;
SQL

compare sqlite sqlite3 -batch -bail :memory: ".read $work/work.sql"
finish
