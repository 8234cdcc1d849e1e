#!/usr/bin/env bash
# python3 running an allocation-heavy script, plainly and under ward.
# PYTHONMALLOC=malloc sends every object through malloc (not pymalloc's
# arenas), so the few million small objects below are ward's to serve.
# shellcheck source=tests/real/common.bash
. "$(dirname "$0")/common.bash"

if [ -x /usr/bin/python3 ]; then
    py=/usr/bin/python3
else
    need python3
    py=$(command -v python3)
fi

cat >"$work/alloc.py" <<'PY'
import collections, hashlib, json, random, re, sys, threading, gc

rng = random.Random(12345)
out = []

def emit(name, value):
    print(f"{name}: {value}")

def digest(obj):
    return hashlib.sha256(repr(obj).encode()).hexdigest()[:16]

# dicts and strings: 200k keys, rebuilt, deleted from, merged
d = {}
for i in range(200000):
    d[f"key-{i:07d}-{i * 7919 % 10007}"] = i * i
emit("dict len", len(d))
emit("dict sum", sum(d.values()) % 1000000007)
for k in list(d)[::3]:
    del d[k]
d2 = {k[::-1]: v // 3 for k, v in d.items()}
d.update(d2)
emit("dict after churn", (len(d), digest(sorted(d.items())[:1000])))

# lists of small objects: a few million tuples and lists made and dropped
total = 0
for rnd in range(3):
    lst = [(i, str(i), [i] * (i % 5)) for i in range(200000)]
    total += sum(len(t[1]) + len(t[2]) for t in lst)
    lst = lst[::2] + lst[1::2]
    total += len(lst)
    del lst
emit("small objects", total)

# class instances with attribute dicts, a linked structure, a cycle for gc
class Node:
    def __init__(self, v, nxt):
        self.v = v
        self.nxt = nxt
        self.extra = {"v": v, "s": "x" * (v % 50)}

head = None
for i in range(300000):
    head = Node(i, head)
s = 0
n = head
while n is not None:
    s += n.v + len(n.extra["s"])
    n = n.nxt
emit("linked list", s)
a = Node(1, None)
b = Node(2, a)
a.nxt = b
del a, b, head, n
emit("gc collected >= 2", gc.collect() >= 2)

# big integers
f = 1
for i in range(2, 4000):
    f *= i
emit("3999! bits", f.bit_length())
emit("3999! hex digest", hashlib.sha256(hex(f).encode()).hexdigest()[:16])
p = pow(3, 100000) - pow(7, 30000)
emit("big pow", (p.bit_length(), p % 1000000007))
fib = [0, 1]
for i in range(20000):
    fib.append(fib[-1] + fib[-2])
emit("fib", (fib[-1].bit_length(), fib[-1] % 998244353))

# json round trip of a nested structure
data = {
    "users": [
        {"id": i, "name": f"user{i}", "tags": [f"t{j}" for j in range(i % 7)],
         "score": rng.random(), "nested": {"a": [i, i + 1, {"b": str(i) * 3}]}}
        for i in range(25000)
    ]
}
text = json.dumps(data, sort_keys=True)
back = json.loads(text)
emit("json length", len(text))
emit("json round trip", back == data)
emit("json digest", hashlib.sha256(text.encode()).hexdigest()[:16])
text2 = json.dumps(back, indent=2)
emit("json indented length", len(text2))
del data, back, text, text2

# sorting
keys = [rng.randrange(10 ** 9) for _ in range(400000)]
recs = [(k % 1000, str(k), k) for k in keys]
recs.sort()
emit("sorted", digest(recs[::4000]))
words = sorted(set(str(k)[:5] for k in keys), key=lambda w: (w[::-1], w))
emit("words", (len(words), digest(words[:500])))

# strings: concatenation, join, split, regex, Counter
s = ""
for i in range(100000):
    s += chr(97 + i % 26)
    if i % 1000 == 0:
        s = s[:-300] + s[-300:].upper()
parts = re.findall(r"[A-Z]+|[a-z]+", s)
emit("regex parts", (len(parts), digest(parts[:100])))
c = collections.Counter(" ".join(str(k) for k in keys))
emit("counter", digest(sorted(c.items())))

# bytearray growth (realloc) and bytes slicing
ba = bytearray()
for i in range(200000):
    ba += (i % 251).to_bytes(1, "little") * (i % 97)
emit("bytearray", (len(ba), hashlib.sha256(ba).hexdigest()[:16]))
chunks = [bytes(ba[i:i + 4096]) for i in range(0, len(ba), 777)]
emit("chunks", (len(chunks), hashlib.sha256(b"".join(chunks)).hexdigest()[:16]))
del ba, chunks

# threads allocating at once; results merged deterministically
results = {}
def work(tid):
    r = random.Random(tid)
    acc = []
    for i in range(60000):
        acc.append({"t": tid, "i": i, "v": [r.random() for _ in range(3)]})
        if len(acc) > 5000:
            acc = acc[2500:]
    results[tid] = digest(acc[-10:])
ts = [threading.Thread(target=work, args=(t,)) for t in range(4)]
for t in ts:
    t.start()
for t in ts:
    t.join()
emit("threads", sorted(results.items()))
PY

export PYTHONHASHSEED=0 PYTHONMALLOC=malloc PYTHONDONTWRITEBYTECODE=1
compare python "$py" -s -B "$work/alloc.py"
finish
