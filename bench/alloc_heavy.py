"""Allocation-heavy Python workload for ward's benchmarks (bench/run.sh).

Deterministic: prints one line of figures that must be the same under every
allocator.  run.sh runs it twice: with Python's default small-object
allocator (pymalloc, which asks malloc only for big arenas and objects over
512 bytes) and with PYTHONMALLOC=malloc (every object goes through malloc).
Usage: alloc_heavy.py [SCALE]  (1 = the full run; counts are multiplied)."""
import json
import random
import sys
import zlib

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def n_(count):
    """count * SCALE, at least 1"""
    return max(1, int(count * SCALE))


class Node:
    __slots__ = ("key", "val", "kids")

    def __init__(self, key, val):
        self.key = key
        self.val = val
        self.kids = []


def records(seed, n):
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    out = []
    for i in range(n):
        h = (i * 2654435761 + seed) & 0xFFFFFFFF
        out.append({
            "id": i,
            "name": "%s-%d-%s" % (words[h & 7], h % 1_000_003, "x" * ((h >> 8) % 40)),
            "tags": [words[(h >> (3 * j)) & 7] for j in range((h >> 20) % 6)],
            "score": h / 4294967296.0,
        })
    return out


def tree(rng, depth, width):
    root = Node(0, "root")
    level = [root]
    k = 1
    for _ in range(depth):
        nxt = []
        for node in level:
            for _ in range(rng.randrange(1, width)):
                child = Node(k, str(k) * 3)
                k += 1
                node.kids.append(child)
                nxt.append(child)
        level = nxt
    return root, k


def walk(node):
    total, stack = 0, [node]
    while stack:
        n = stack.pop()
        total += n.key + len(n.val)
        stack.extend(n.kids)
    return total


def main():
    rng = random.Random(12345)
    crc = 0

    for round_ in range(2):
        recs = records(round_, n_(100_000))
        recs.sort(key=lambda r: (r["name"], r["id"]))
        groups = {}
        for r in recs:
            groups.setdefault(r["name"].split("-")[0], []).append(r)
        text = json.dumps(recs)
        back = json.loads(text)
        crc = zlib.crc32(text.encode(), crc)
        crc = zlib.crc32(repr(sorted((k, len(v)) for k, v in groups.items())).encode(), crc)
        del recs, groups, text, back

    for round_ in range(n_(4)):
        root, count = tree(rng, 10, 6)
        crc = zlib.crc32(b"%d:%d" % (count, walk(root)), crc)
        del root

    # string building and slicing
    parts = []
    for i in range(n_(400_000)):
        parts.append(str(i * 7919 % 100_003))
    s = ",".join(parts)
    pieces = s.split(",")
    crc = zlib.crc32(("".join(reversed(pieces[:50_000]))).encode(), crc)
    bag = {}
    for p in pieces:
        bag[p] = bag.get(p, 0) + 1
    crc = zlib.crc32(b"%d" % len(bag), crc)
    uniq = set(pieces) - set(pieces[::3])
    crc = zlib.crc32(b"%d" % len(uniq), crc)

    # growing and shrinking containers
    lst = []
    for i in range(n_(1_000_000)):
        lst.append((i, i * 2.0))
        if i % 1000 == 999:
            del lst[-300:]
    crc = zlib.crc32(b"%d" % len(lst), crc)

    print("%08x" % crc)


if __name__ == "__main__":
    main()
