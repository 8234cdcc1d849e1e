/* threads: 2 to 4 threads run decoded sequences on ward at once, handing
 * blocks to each other through a shared mailbox, so blocks are freed and
 * reallocated by threads other than the one that allocated them, while the
 * others allocate, free, trim and walk the heap.  The shadow model: every
 * live block of every thread is in one registry, so each new block is
 * checked against all of them for overlap; each block's fill pattern is
 * verified by whichever thread takes, reallocates or frees it; calloc
 * zeroing, alignment and realloc preservation as in ops.  After the threads
 * have exited, the main thread frees what is left and walks the heap.  A
 * step can make its thread's next allocation a sampled guard page, so
 * sampled blocks travel between threads too.  The reuse oracle
 * (oracle.h), per thread: no new block, on any thread, overlaps a freed
 * one the quarantine of the thread that freed it still promises to hold
 * (by bytes and entries, as SECURITY.md and quarantine.h keep it), also
 * after that thread has ended and left its quarantine to the next thread
 * that starts; a freed large block is inaccessible at once (and one too
 * big for the large cache held for 32 large frees); a sampled page not
 * back before 16 more sampled blocks.  Any mismatch, and any report from
 * ward, is a finding: abort().
 *
 * Input: [threads] then steps [thread] [op] [slot] [args...]. */
#include "common.h"
#include "oracle.h"

#include <pthread.h>
#include <sys/wait.h>

#define NT_MAX 4
#define LOCAL 8
#define MAILBOX 16
#define MAX_STEPS 160
#define REG 128

struct step {
    uint8_t op, slot, fill, arg;
    size_t n;
};

struct worker {
    pthread_t th;
    struct step steps[MAX_STEPS];
    int nsteps;
    struct blk local[LOCAL];
};

static struct worker w[NT_MAX];
static int nthreads;
static pthread_barrier_t start;

static pthread_mutex_t mb_lock = PTHREAD_MUTEX_INITIALIZER;
static struct blk mailbox[MAILBOX];

/* ---- the reuse oracle, per thread -------------------------------------
 * oracle.h's records and rule (by bytes and entries, per tier), with one
 * quarantine ring per thread: ring 0 is the main thread's, ring t + 1
 * worker t's.  A free counts on the quarantine of the thread that frees
 * (a cross-thread free on the freeing thread's), before the call (so a
 * block another thread gets back while the count is on its way is never
 * taken for too early), and the block is remembered, pending, before the
 * call too, held to its promise once held_then is read after it.
 *
 * A worker that ends leaves its ring to the next thread that starts
 * (thread.c: stocked, up to TC_POOL_KEEP; thread_exit drains its own past
 * that).  A thread starts in ward at its first call that takes a thread
 * cache (tcache_get: a small or medium allocation or free, malloc_trim),
 * which the harness cannot see exactly: a worker is `created` only after
 * such a call has returned, and a ring that ends may be taken over by any
 * worker not created then (`adopters`): a free by any of them counts on
 * it, as on its own.  That counts too much, never too little.  Also the
 * frees late_free makes in a thread's destructors, which reach ward after
 * its own destructor (a thread that never took a cache takes one there,
 * and may take over an ended thread's ring).  malloc_trim drains the
 * caller's ring and the stocked ones: before it starts, the caller's and
 * every ended ring (taken over or not) are forgotten, and so is one that
 * ends while it runs.
 *
 * A freed large block must be inaccessible when free returns: the free and
 * its probe hold big_lock for writing, every allocating call holds it for
 * reading, so no large mapping is handed out again in between. */
static pthread_mutex_t o_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t big_lock;
static __thread unsigned me_ring;         /* 0: the main thread; t + 1: worker t */
static __thread int armed;                /* this thread's next malloc or calloc is sampled */
static uint32_t created, ended, adopters[NT_MAX + 1];
static unsigned nended, trimming;

/* The rings a free by this thread counts on: its own, and every ended one
 * it may have taken over.  o_lock held. */
static uint32_t rings_of_me(void)
{
    uint32_t m = 1u << me_ring;
    for (unsigned r = 1; r <= NT_MAX; r++)
        if ((ended >> r & 1) && (adopters[r] >> me_ring & 1))
            m |= 1u << r;
    return m;
}

/* A call that took a thread cache has returned. */
static void took_cache(int took)
{
    if (took) {
        pthread_mutex_lock(&o_lock);
        created |= 1u << me_ring;
        pthread_mutex_unlock(&o_lock);
    }
}

/* Before a free (or a realloc that may move) of b: counted, and b
 * remembered as pending. */
static struct freed *o_before_free(const struct blk *b)
{
    pthread_mutex_lock(&o_lock);
    oracle_count(b->n, b->tier, b->sampled, rings_of_me());
    struct freed *r = oracle_remember(b->p, b->n, b->tier, b->sampled, me_ring, 0, 1);
    pthread_mutex_unlock(&o_lock);
    return r;
}

/* After it: freed (the record held to its promise from now on) or not
 * (realloc in place: forgotten). */
static void o_after_free(struct freed *r, const unsigned char *p, int freed)
{
    struct ward_stats st;
    ward_get_stats(&st);
    pthread_mutex_lock(&o_lock);
    if (r && r->p == (uintptr_t)p && r->pending) {
        r->held_then = st.quarantined;
        r->pending = 0;
        if (!freed)
            r->p = 0;
    }
    pthread_mutex_unlock(&o_lock);
}

/* A worker's steps are done: its ring is left to the next thread (or
 * drained, past TC_POOL_KEEP). */
static void o_thread_ends(void)
{
    pthread_mutex_lock(&o_lock);
    if (nended >= 4 || trimming) { /* TC_POOL_KEEP: maybe drained; or by a malloc_trim */
        oracle_forget(1u << me_ring);
    } else {
        ended |= 1u << me_ring;
        nended++;
        adopters[me_ring] = ~created & ~(1u << me_ring);
    }
    pthread_mutex_unlock(&o_lock);
}

/* every live block of every thread */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct blk reg[REG];

static void on_report(const struct ward_report *r, void *arg)
{
    (void)arg;
    finding("ward reported a bug in correct threads: %s", r->text);
}

/* Adds a new block to the registry, checking it against every live one;
 * false when the registry is full (the block is then freed at once). */
static int reg_add(const struct blk *b, const char *what)
{
    pthread_mutex_lock(&reg_lock);
    int at = -1;
    for (int j = 0; j < REG; j++) {
        if (!reg[j].p) {
            if (at < 0)
                at = j;
            continue;
        }
        size_t bn = b->n ? b->n : 1, cn = reg[j].n ? reg[j].n : 1;
        if (b->p < reg[j].p + cn && reg[j].p < b->p + bn)
            finding("%s: %p (%zu bytes) overlaps the live block %p (%zu bytes)", what, (void *)b->p, b->n,
                    (void *)reg[j].p, reg[j].n);
    }
    if (at >= 0)
        reg[at] = *b;
    pthread_mutex_unlock(&reg_lock);
    return at >= 0;
}

/* Out of the registry before ward may hand the memory out again. */
static void reg_del(const unsigned char *p)
{
    pthread_mutex_lock(&reg_lock);
    for (int j = 0; j < REG; j++)
        if (reg[j].p == p) {
            reg[j].p = NULL;
            pthread_mutex_unlock(&reg_lock);
            return;
        }
    finding("block %p is not in the registry", (const void *)p);
}

/* Frees b (out of the registry, or never in it) for the oracle. */
static void o_free(struct blk *b, unsigned how)
{
    int large = b->tier == 2 && !b->sampled;
    struct freed *r = o_before_free(b);
    if (large)
        pthread_rwlock_wrlock(&big_lock);
    if (how == 1)
        ward_free_sized(b->p, b->n);
    else if (how == 2)
        ward_realloc(b->p, 0);
    else
        ward_free(b->p);
    if (large) {
        if (b->n > F_MEDIUM_MAX)
            oracle_probe_large(b->p, b->n);
        pthread_rwlock_unlock(&big_lock);
    }
    o_after_free(r, b->p, 1);
    took_cache(b->tier <= 1 && !b->sampled);
    b->p = NULL;
}

static void put_free(struct blk *b, unsigned how)
{
    verify(b, "before free");
    reg_del(b->p);
    o_free(b, how);
}

static void new_block(struct blk *b, unsigned char *p, size_t n, size_t align, int zeroed, unsigned char fill,
                      const char *what, int sampled, int tier)
{
    *b = (struct blk){p, n, align, 0, (unsigned char)tier, (unsigned char)sampled};
    pthread_mutex_lock(&o_lock);
    oracle_alloc(p, n, sampled, what);
    pthread_mutex_unlock(&o_lock);
    if ((uintptr_t)p % (align < 16 ? 16 : align))
        finding("%s: %p is not aligned to %zu", what, (void *)p, align);
    if (zeroed && !all_zero(p, n))
        finding("%s: a %zu-byte block is not zero", what, n);
    if (ward_malloc_usable_size(p) != n)
        finding("%s: malloc_usable_size(%p) is not %zu", what, (void *)p, n);
    stamp(b, fill);
    if (!reg_add(b, what))
        o_free(b, 0);
}

static void run_step(struct worker *me, const struct step *st)
{
    struct blk *b = &me->local[st->slot % LOCAL];
    unsigned op = st->op % 10;
    if (op <= 2 && b->p)
        put_free(b, st->arg % 3);
    switch (op) {
    case 0: case 1: case 2: { /* malloc, calloc, aligned_alloc */
        size_t a = op == 2 ? (size_t)16 << (st->arg % 10) : 16;
        pthread_rwlock_rdlock(&big_lock);
        unsigned char *p = op == 0 ? ward_malloc(st->n) : op == 1 ? ward_calloc(1, st->n) : ward_aligned_alloc(a, st->n);
        pthread_rwlock_unlock(&big_lock);
        if (!p)
            finding("allocation of %zu bytes failed", st->n);
        int smp = a <= 16 ? maybe_sampled(st->n, &armed) : 0; /* an alignment of 16 is malloc's */
        int tier = tier_for(st->n, a);
        new_block(b, p, st->n, a, op == 1, st->fill, "allocation", smp, tier);
        took_cache(tier <= 1 && !smp);
        break;
    }
    case 3: /* free, free_sized or realloc(p, 0) */
        if (b->p)
            put_free(b, st->arg % 3);
        break;
    case 4: { /* realloc, maybe of a block another thread allocated */
        if (!b->p)
            break;
        verify(b, "before realloc");
        size_t n = st->n ? st->n : 1;
        reg_del(b->p);
        struct blk old = *b;
        int large = old.tier == 2 && !old.sampled;
        struct freed *r = o_before_free(&old); /* if it moves, the old block is freed on this thread */
        if (large)
            pthread_rwlock_wrlock(&big_lock);
        else
            pthread_rwlock_rdlock(&big_lock);
        unsigned char *q = ward_realloc(b->p, n);
        if (q && q != old.p && large && old.n > F_MEDIUM_MAX)
            oracle_probe_large(old.p, old.n);
        pthread_rwlock_unlock(&big_lock);
        if (!q)
            finding("realloc to %zu bytes failed", n);
        size_t keep = n < b->n ? n : b->n;
        size_t bad = pat_bad(q, keep, b->fill);
        if (bad != (size_t)-1)
            finding("realloc lost byte %zu", bad);
        if (q == old.p) { /* in place: same tier, nothing freed */
            o_after_free(r, old.p, 0);
            new_block(b, q, n, 16, 0, st->fill, "realloc in place", old.sampled, old.tier);
        } else {
            new_block(b, q, n, 16, 0, st->fill, "realloc", maybe_sampled(n, &armed), tier_for(n, 16));
            o_after_free(r, old.p, 1);
        }
        break;
    }
    case 5: case 6: { /* give a block to the mailbox, or take one */
        pthread_mutex_lock(&mb_lock);
        struct blk *m = &mailbox[st->arg % MAILBOX];
        if (op == 5 && b->p && !m->p) {
            *m = *b;
            b->p = NULL;
        } else if (op == 6 && m->p && !b->p) {
            *b = *m;
            m->p = NULL;
        }
        pthread_mutex_unlock(&mb_lock);
        if (op == 6 && b->p)
            verify(b, "taken from the mailbox");
        break;
    }
    case 7:
        ward_check_heap();
        break;
    case 8:
        if (st->arg < 32) {
            /* this thread's ring and the stocked ones drained: forgotten
             * before (another thread may get a chunk back before trim
             * returns), with every ended one, which some thread may have
             * taken over, and a ring that ends while it runs */
            pthread_mutex_lock(&o_lock);
            oracle_forget(1u << me_ring | ended);
            ended = 0;
            nended = 0;
            trimming++;
            pthread_mutex_unlock(&o_lock);
            ward_malloc_trim(0);
            pthread_mutex_lock(&o_lock);
            trimming--;
            created |= 1u << me_ring;
            pthread_mutex_unlock(&o_lock);
        } else if (st->arg < 64) { /* this thread's next malloc or calloc (up to 4080 bytes) is sampled */
            if (ward_testing_sample_next() != 0)
                finding("the harness build has no sampling pool");
            armed = 1;
        } else if (st->arg >= 250) { /* fork while the others run: the child's heap works */
            pid_t pid = fork();
            if (pid == 0) {
                void *p = ward_malloc(st->arg), *q = ward_malloc(70000);
                ward_free(p);
                ward_free(q);
                ward_check_heap();
                _exit(0);
            }
            int status = 0;
            if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
                finding("fork: the child failed (status %#x)", status);
        }
        break;
    case 9: { /* free a block from the mailbox: a cross-thread free */
        pthread_mutex_lock(&mb_lock);
        struct blk m = mailbox[st->arg % MAILBOX];
        mailbox[st->arg % MAILBOX].p = NULL;
        pthread_mutex_unlock(&mb_lock);
        if (m.p)
            put_free(&m, st->fill % 3);
        break;
    }
    }
}

/* A thread-specific destructor that keeps itself for a second round, so it
 * runs after ward's own (which gives the thread's cache back): ward must
 * still serve a thread past that point. */
static pthread_key_t late_key;
static void late_free(void *arg)
{
    uintptr_t round = (uintptr_t)arg;
    if (round < 2) {
        pthread_setspecific(late_key, (void *)(round + 1));
        return;
    }
    /* counted as this thread's frees: a thread that took no cache in its
     * steps takes one now, maybe an ended thread's ring */
    pthread_rwlock_rdlock(&big_lock);
    void *p = ward_malloc(24 + round), *q = ward_malloc(3000);
    pthread_rwlock_unlock(&big_lock);
    pthread_mutex_lock(&o_lock);
    oracle_count(24 + round, 0, 0, rings_of_me());
    oracle_count(3000, 1, 0, rings_of_me());
    pthread_mutex_unlock(&o_lock);
    ward_free(p);
    ward_free(q);
}

static void *thread_main(void *arg)
{
    struct worker *me = arg;
    me_ring = (unsigned)(me - w) + 1;
    armed = 0;
    pthread_setspecific(late_key, (void *)1);
    pthread_barrier_wait(&start);
    for (int i = 0; i < me->nsteps; i++)
        run_step(me, &me->steps[i]);
    o_thread_ends();
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        once = 1;
        fuzz_start(on_report, NULL);
        pthread_key_create(&late_key, late_free);
        oracle_options();
        /* up to 56 blocks live (the slots, the mailbox, late_free's) and
         * three threads mid-allocation: a freed sampled page has 16 free
         * ones ahead of it only with 128 pages or more */
        if (opt.sample_slots < 128)
            opt.sample_slots = 0;
        pthread_rwlockattr_t ra;
        pthread_rwlockattr_init(&ra);
        pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        pthread_rwlock_init(&big_lock, &ra);
    }
    ward_testing_reset();
    oracle_reset();
    created = 1; /* the main thread's cache: made by the reset */
    ended = 0;
    nended = 0;
    memset(adopters, 0, sizeof adopters);
    memset(w, 0, sizeof w);
    memset(mailbox, 0, sizeof mailbox);
    memset(reg, 0, sizeof reg);
    struct in in = {data, size};
    nthreads = 2 + (int)(u8(&in) % (NT_MAX - 1));
    for (int k = 0; in.n && k < MAX_STEPS * nthreads; k++) {
        struct worker *me = &w[u8(&in) % nthreads];
        if (me->nsteps == MAX_STEPS)
            break;
        struct step *st = &me->steps[me->nsteps++];
        st->op = (uint8_t)u8(&in);
        st->slot = (uint8_t)u8(&in);
        st->arg = (uint8_t)u8(&in);
        st->n = st->op % 10 <= 4 ? size_of(&in) : 0;
        if (st->n > (1u << 20))
            st->n = (1u << 20) + st->n % 4096; /* a few large blocks, not many megabytes each */
        st->fill = (uint8_t)u8(&in);
    }
    pthread_barrier_init(&start, NULL, (unsigned)nthreads);
    for (int t = 0; t < nthreads; t++)
        if (pthread_create(&w[t].th, NULL, thread_main, &w[t]))
            finding("pthread_create failed");
    for (int t = 0; t < nthreads; t++)
        pthread_join(w[t].th, NULL);
    pthread_barrier_destroy(&start);
    /* the threads have exited (their caches given back): free the rest here */
    for (int t = 0; t < nthreads; t++)
        for (int i = 0; i < LOCAL; i++)
            if (w[t].local[i].p)
                put_free(&w[t].local[i], (unsigned)i % 3);
    for (int i = 0; i < MAILBOX; i++)
        if (mailbox[i].p)
            put_free(&mailbox[i], 0);
    ward_check_heap();
    return 0;
}
