#!/usr/bin/env python3
"""fuzz/behaviours.py: writes the corpus inputs kept by behaviour
(corpus/<harness>/b-NAME), one small input per oracle, tier and edge
step, decoded as fuzz/ops.c, fuzz/misuse.c and fuzz/threads.c read their
input.  Coverage-guided merges keep
inputs by edges; these keep what the oracles need (the reuse oracle, the
exit and fork steps, the exact fits of realloc in place), so that the
replay in make check carries them whatever a merge drops.  Run it after
changing the harness's decoding: `fuzz/behaviours.py` (from the top)."""
import os
import struct

ops = {}


def u16(v):
    return struct.pack("<H", v)


def malloc(slot, sel, v, fill=0x11):
    return bytes([0, slot, sel]) + u16(v) + bytes([fill])


def small(slot, n, fill=0x11):  # size_of: sel < 0x60, v % 1025
    return malloc(slot, 0, n, fill)


def edge(slot, idx, fill=0x11):  # size_of: the edge_sizes table
    return malloc(slot, 0x60, idx, fill)


def free(slot):
    return bytes([9, slot])


def realloc(slot, sel, v, fill=0x22):
    return bytes([2, slot, sel]) + u16(v) + bytes([fill])


def step3(slot, *args):  # op 3 on an empty slot: an edge step
    return bytes([3, slot]) + bytes(args)


def burst(w, sel, v):  # op 13, w >= 128: (w - 127) * 4 allocations, each freeing the one 8 before
    return bytes([13, 0, w, sel]) + u16(v)


def sample_next():
    return bytes([13, 0, 0x70])


# the reuse oracle: freed, then allocated again at once (small, medium,
# large too big for the cache, sampled); after a burst of frees far below
# quarantine_bytes
ops["reuse-small"] = b"".join(small(i % 4, 64, i) + free(i % 4) for i in range(40))
ops["reuse-small-classes"] = b"".join(small(i % 8, 16 * (i % 60) + 1, i) + free(i % 8) for i in range(120))
ops["reuse-medium"] = b"".join(malloc(i % 4, 0xA0, 2372 + i) + free(i % 4) for i in range(12))
ops["reuse-large-uncached"] = edge(0, 27) + free(0) + edge(1, 27, 0x22) + free(1) + edge(2, 27)
ops["reuse-burst-small"] = small(0, 64) + free(0) + burst(255, 0, 64) + small(1, 64)
ops["reuse-burst-medium"] = malloc(0, 0xA0, 300) + free(0) + burst(200, 0xA0, 300)
ops["reuse-sampled"] = b"".join(sample_next() + small(i % 2, 64, i) + free(i % 2) for i in range(24))
# small chunks through the classes' shared caches: 512 frees of 64
# bytes quarantined, 1.5 MiB of 1008-byte frees push them out into the
# thread's cache, which passes them on to the shared cache; then taken back
ops["shared-cache-refill"] = burst(255, 0, 64) + burst(255, 0, 1008) * 3 + burst(255, 0, 64) + burst(255, 0, 48)
# realloc of a large block past what its mapping holds: must move
ops["realloc-large-grow"] = malloc(0, 0xE0, 8192) + realloc(0, 0xE0, 8193) + realloc(0, 0xE0, 8300)
ops["realloc-large-edges"] = edge(0, 24) + realloc(0, 0x60, 25) + edge(1, 19) + realloc(1, 0x60, 20)
# the edge steps (fuzz/ops.c, edge_step)
for d in range(5):  # A B C, B freed, A grown to A + B (+-16, 32)
    ops["edge-exact-fit-%d" % d] = step3(0, 0, 7, 9, d, 1, 2, 3) + step3(5, 1, 60, 3, d, 4, 5, 6)
for d in range(3):  # X Y Z W, X Z Y freed (Y merges both sides), then exactly what they make (+-16)
    ops["edge-coalesce-%d" % d] = step3(0, 2, 5, 9, 13, 2, d, 7) + step3(8, 2, 200, 100, 50, 7, d, 9)
for e in range(0, 27, 3):  # memalign, three alignments a step, at each class edge
    ops["edge-memalign-%02d" % e] = b"".join(step3(4 * k, 3, e + k % 3, 3 * k, 1, 2, 3) for k in range(3))
ops["edge-exit-quarantine-small"] = step3(0, 4) + u16(48)
ops["edge-exit-quarantine-medium"] = step3(0, 4) + u16(5000)
ops["edge-exit-quarantine-big"] = step3(0, 4) + u16(60000)
ops["edge-exit-cache"] = step3(0, 5) + u16(48)
ops["edge-exit-thread"] = step3(0, 6) + u16(48)
ops["edge-exit-thread-trim"] = step3(0, 9) + u16(48)
# the shared caches full of chunks of the classes the fork step takes
ops["edge-fork-shared-cache"] = (burst(255, 0, 64) + burst(255, 0, 200) + burst(255, 0, 500) + burst(255, 0, 1000) +
                                 burst(255, 0, 1008) * 3 + step3(0, 7))
ops["edge-fork"] = small(1, 100) + malloc(2, 0xA0, 300) + step3(0, 7)
ops["edge-thread-exit"] = small(1, 100) + step3(0, 8, 0) + u16(64) + small(2, 100) + step3(3, 8, 0xA0) + u16(300)

# misuse: [bug] [prelude] ff ff [the bug's arguments] (fuzz/misuse.c)
misuse = {}
# a small write after free found at reuse: the chunk pushed out of the
# quarantine into the cache, then allocated again
misuse["waf-small-at-reuse"] = bytes([2, 0xFF, 0xFF, 0, 0]) + u16(64) + u16(5) + bytes([0, 0x41, 2])
misuse["waf-small-at-reuse-560"] = bytes([2, 0xFF, 0xFF, 1, 0]) + u16(545) + u16(500) + bytes([3, 1, 2, 3, 2])
# one byte past a sampled block (bug byte 24: overflow, sampled), 60 bytes
# (a slack byte either side), found by free
misuse["overflow1-sampled"] = bytes([24, 0xFF, 0xFF, 0, 0]) + u16(60) + bytes([0x11, 0, 0x41, 0])
misuse["overflow1-sampled-1000"] = bytes([24, 0xFF, 0xFF, 0, 0]) + u16(1000) + bytes([0x11, 0, 0x41, 0])
# one byte past a request that fills whole 16-byte blocks, in a class
# with slack (512 bytes in a 560-byte body): the canary alone sees it
misuse["overflow1-small-512"] = bytes([0, 0xFF, 0xFF, 0, 0]) + u16(512) + bytes([0x11, 0, 0x41, 0])
misuse["overflow1-small-944"] = bytes([0, 0xFF, 0xFF, 0, 0]) + u16(944) + bytes([0x11, 0, 0x41, 2])
# a write into the poisoned body of a free medium chunk V, between live A
# and B; B freed and drained merges V: the merge must look at V's body
misuse["plant-body-merge-front"] = bytes([6, 0xFF, 0xFF]) + u16(1000) * 3 + bytes([4, 0]) + u16(8) + bytes([0x41, 2])
misuse["plant-body-merge-back"] = bytes([6, 0xFF, 0xFF]) + u16(1000) * 3 + bytes([4, 0]) + u16(1880) + bytes([0x41, 2])

# a medium chunk's header from before realloc shrank it in place, written
# back (bug 7, forge, how 1 with the byte's high bit): free, realloc,
# free_sized, the heap walk and malloc_usable_size must each see it
for t in range(5):
    misuse["forge-replay-shrunk-%d" % t] = bytes([7, 0xFF, 0xFF, 0, 0xA0]) + u16(3000) + bytes([0x11, 1, 0x83, t, 0])

# threads (fuzz/threads.c): [threads] then steps [thread] [op] [slot] [arg]
# [size: ops 0-4] [fill].  Worker 0 frees a small block and ends: its
# quarantine holds the block for the next thread that starts.  Worker 1
# forks first (no ward call that takes a thread cache: it starts in ward
# after worker 0 has ended, and takes its quarantine over), then allocates
# blocks of that size: the block must not come back (the reuse oracle, per
# thread); it would if the quarantine were drained when worker 0 ended or
# when worker 1 took it over.
threads = {}


def t_step(t, op, slot, arg, n=None, fill=0x11):
    return bytes([t, op, slot, arg]) + (bytes([0]) + u16(n) if n is not None else b"") + bytes([fill])


for n, count in ((64, 40), (1024, 100)):
    threads["ended-thread-quarantine-%d" % n] = (
        bytes([0])
        + t_step(0, 0, 0, 0, n, 1)
        + t_step(0, 3, 0, 0, n, 2)
        + b"".join(t_step(1, 8, 0, 250) for _ in range(4))
        + b"".join(t_step(1, 0, i % 8, 0, n, 4 + i) for i in range(count))
    )

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")
for name, data in sorted(ops.items()):
    with open(os.path.join(root, "ops", "b-" + name), "wb") as f:
        f.write(data)
for name, data in sorted(misuse.items()):
    with open(os.path.join(root, "misuse", "b-" + name), "wb") as f:
        f.write(data)
for name, data in sorted(threads.items()):
    with open(os.path.join(root, "threads", "b-" + name), "wb") as f:
        f.write(data)
print("wrote %d inputs to corpus/ops, %d to corpus/misuse, %d to corpus/threads" % (len(ops), len(misuse), len(threads)))
