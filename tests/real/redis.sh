#!/usr/bin/env bash
# redis-server on 127.0.0.1 (a free port), plainly and under ward, with
# redis-cli and redis-benchmark (two client threads) inheriting the same
# preload.  Debian's redis-server links jemalloc, but under LD_PRELOAD every
# malloc/calloc/realloc/free/malloc_usable_size it makes is ward's (it asks
# jemalloc only for size classes and statistics), so the plain run is
# jemalloc and the other ward.  Compared: every reply to a scripted session
# (strings from 10 bytes to 1 MiB, appends, lists, sets, sorted sets,
# hashes, SORT, Lua, DEBUG RELOAD through an RDB file), the dataset's
# DEBUG DIGEST after redis-benchmark has run, and a clean SHUTDOWN (exit 0).
# Deleted keys and flushed databases are freed by redis's background thread
# (lazyfree), so chunks allocated by the main thread are freed by another.
# (Not io-threads: they spin, and on a busy 2-core machine make the run
# several times slower.)
# shellcheck source=tests/real/common.bash
. "$(dirname "$0")/common.bash"
need redis-server redis-cli redis-benchmark awk

# the scripted session: one command per line, replies in raw form
awk 'BEGIN {
    # most commands carry many items (redis-cli waits for each reply)
    for (i = 0; i < 10000; i++) {
        n = (i * 7919) % 1500 + 10
        printf "%s key:%d %s%d", (i % 50 ? "" : "MSET"), i, substr("abcdefghijklmnopqrstuvwxyz", 1 + i % 26) sprintf("%0" n "d", 0), i
        if (i % 50 == 49) print ""
    }
    print "SET key:10000 single"
    print "DBSIZE"
    for (i = 0; i < 10000; i += 499) printf "STRLEN key:%d\nGETRANGE key:%d 0 40\n", i, i
    for (i = 0; i < 1500; i++) printf "APPEND grow:%d %s\n", i % 7, sprintf("%0" (i % 300 + 1) "d", i)
    for (i = 0; i < 7; i++) printf "STRLEN grow:%d\n", i
    print "SETRANGE big 1048575 x"
    print "STRLEN big"
    print "SETRANGE big 500000 middle"
    print "GETRANGE big 499998 500010"
    for (i = 0; i < 6000; i++) {
        if (i % 20 == 0) printf "%s list", (i % 40 ? "LPUSH" : "RPUSH")
        printf " item-%d-%s", i, substr("xyz0123456789", 1 + i % 10)
        if (i % 20 == 19) print ""
    }
    print "LLEN list"
    print "LRANGE list 0 9"
    print "LRANGE list -5 -1"
    print "LINDEX list 2999"
    print "LTRIM list 100 4099"
    print "LLEN list"
    print "SORT list ALPHA LIMIT 0 5"
    print "SORT list ALPHA DESC LIMIT 10 5"
    for (i = 0; i < 5000; i++) {
        if (i % 50 == 0) printf "SADD set:%d", i / 50 % 3
        printf " m%d", (i * 31) % 2500
        if (i % 50 == 49) print ""
    }
    print "SCARD set:0"
    print "SINTERCARD 2 set:0 set:1"
    print "SUNIONSTORE set:all set:0 set:1 set:2"
    print "SCARD set:all"
    print "SORT set:all ALPHA LIMIT 0 5"
    for (i = 0; i < 8000; i++) {
        printf "%s %d z%d", (i % 50 ? "" : "ZADD zset"), (i * 104729) % 100003, i
        if (i % 50 == 49) print ""
    }
    print "ZCARD zset"
    print "ZRANGE zset 0 4 WITHSCORES"
    print "ZREVRANGE zset 0 4 WITHSCORES"
    print "ZRANGEBYSCORE zset 5000 5500 LIMIT 0 5"
    for (i = 0; i < 8000; i += 3) printf "%s z%d%s", (i % 150 ? "" : "ZREM zset"), i, (i % 150 == 147 ? "\n" : "")
    print ""
    print "ZCARD zset"
    print "ZRANK zset z4"
    for (i = 0; i < 4000; i++) {
        if (i % 20 == 0) printf "HSET hash:%d", i / 20 % 40
        printf " f%d %s", i, sprintf("%0" (i % 90 + 1) "d", i)
        if (i % 20 == 19) print ""
    }
    print "HLEN hash:7"
    print "HGET hash:7 f3345"
    print "HMGET hash:39 f780 f1599 f3999 f4000"
    print "HSTRLEN hash:39 f3990"
    print "OBJECT ENCODING hash:3"
    for (i = 0; i < 500; i++) printf "INCRBY counter:%d %d\n", i % 10, i
    print "MGET counter:0 counter:1 counter:9"
    for (i = 0; i < 10000; i += 2) printf "%s key:%d%s", (i % 100 ? "" : "DEL"), i, (i % 100 == 98 ? "\n" : "")
    print "DBSIZE"
    print "EVAL \"local t = {} for i = 1, 20000 do t[i] = string.rep(\x27a\x27, i % 50) .. i end local n = 0 for i = 1, #t do n = n + #t[i] end return n\" 0"
    print "EVAL \"local r = {} for i = 1, 500 do r[#r + 1] = redis.call(\x27GET\x27, \x27key:\x27 .. (i * 2 + 1)) end return #table.concat(r)\" 0"
    print "DEBUG DIGEST"
    print "DEBUG RELOAD"
    print "DEBUG DIGEST"
    print "DBSIZE"
    print "GET key:9999"
}' >"$work/session.txt"

cat >"$work/redis-work.sh" <<'SH'
set -u
session=$1
# a free port: one nothing answers on, then the server must bind it (another
# program may take it first: then try another)
port=
for try in $(seq 1 30); do
    p=$((20000 + (RANDOM * 7 + try * 101) % 40000))
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then continue; fi
    redis-server --bind 127.0.0.1 --port "$p" --save '' --appendonly no --dir "$PWD" \
        --dbfilename dump.rdb --logfile "$PWD/server.log" --daemonize no \
        --lazyfree-lazy-user-del yes --lazyfree-lazy-user-flush yes \
        --lazyfree-lazy-server-del yes --enable-debug-command local \
        >server.stdout 2>server.stderr &
    pid=$!
    for wait in $(seq 1 300); do
        if [ "$(redis-cli -p "$p" PING 2>/dev/null)" = PONG ]; then port=$p; break; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$port" ] && break
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
done
if [ -z "$port" ]; then
    echo "redis-server did not start" >&2
    cat server.log server.stderr >&2
    exit 10
fi
cli() { redis-cli -p "$port" "$@"; }

cli <"$session" >session.out
echo "session: $(wc -l <session.out) replies"
# the replies that are not OK or a number, NULs shown as dots
tr '\0' . <session.out | awk 'length($0) > 200 { $0 = substr($0, 1, 200) "..." } { print }' |
    grep -v -E '^(OK|[0-9]+)$' | head -n 150
echo "session sha256 $(sha256sum <session.out)"

# 10k requests per test from 20 connections, pipelined, two client threads;
# one key per test (no -r), so the dataset it leaves is the same every run
cli FLUSHALL ASYNC
redis-benchmark -p "$port" -q -n 10000 -c 20 -P 8 --threads 2 \
    -t set,get,incr,lpush,rpop,sadd,hset,zadd,zpopmin,lrange_100,mset >bench.out 2>&1
echo "benchmark exit $?, $(grep -c 'requests per second' bench.out) tests reported"
cli DBSIZE
cli DEBUG DIGEST
cli GET key:__rand_int__ | wc -c
cli INFO stats | grep -E '^(total_commands_processed|rejected_connections):' | tr -d '\r' | sort

cli SHUTDOWN NOSAVE >/dev/null 2>&1
wait "$pid"
echo "server exit $?"
echo "ward lines in the server's stderr: $(grep -c '^ward' server.stderr)"
SH

compare redis bash "$work/redis-work.sh" "$work/session.txt"
finish
