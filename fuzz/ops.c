/* Operation-sequence fuzz harness: the input decodes into malloc / calloc /
 * realloc / aligned / free / usable_size / trim steps on ward's prefixed API
 * (ward runs beside the process allocator).  A shadow model keeps every live
 * block's size, alignment and fill byte; after each step it checks contents,
 * alignment, non-overlap, calloc zeroing, realloc preservation and
 * ward_check_heap().  Any mismatch aborts: a finding.
 *
 * Builds for libFuzzer (clang -fsanitize=fuzzer), for AFL++ and OSS-Fuzz
 * through $LIB_FUZZING_ENGINE, and as a plain program replaying files
 * (-DWARD_FUZZ_MAIN). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward.h"

#define SLOTS 64
#define MAX_TOTAL (64u << 20)

struct blk {
    unsigned char *p;
    size_t n, align;
    unsigned char fill;
};

static void die(const char *what, size_t i)
{
    fprintf(stderr, "ops: %s (slot %zu)\n", what, i);
    abort();
}

static void verify(const struct blk *b, size_t i)
{
    for (size_t k = 0; k < b->n; k++)
        if (b->p[k] != (unsigned char)(b->fill + k))
            die("contents changed", i);
}

static void stamp(struct blk *b, unsigned char fill)
{
    b->fill = fill;
    for (size_t k = 0; k < b->n; k++)
        b->p[k] = (unsigned char)(fill + k);
}

static size_t size_of(const uint8_t *d)
{
    /* mostly small, some medium, a few large */
    unsigned sel = d[0] >> 5;
    size_t v = (size_t)d[1] | (size_t)d[2] << 8;
    switch (sel) {
    case 0: case 1: case 2: case 3: return v % 1100;
    case 4: case 5: return v % 70000;
    case 6: return (v << 3) % 600000;
    default: return (v << 6) % (3u << 20);
    }
}

static void check_overlap(struct blk *s, size_t i)
{
    for (size_t j = 0; j < SLOTS; j++) {
        if (j == i || !s[j].p)
            continue;
        size_t a = s[i].n ? s[i].n : 1, b = s[j].n ? s[j].n : 1;
        if (s[i].p < s[j].p + b && s[j].p < s[i].p + a)
            die("blocks overlap", i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct blk s[SLOTS];
    memset(s, 0, sizeof s);
    size_t total = 0;
    for (size_t pos = 0; pos + 4 <= size; pos += 4) {
        const uint8_t *d = data + pos;
        size_t i = d[3] % SLOTS;
        unsigned op = d[3] / SLOTS; /* 0..3 */
        if (s[i].p) {
            verify(&s[i], i);
            if (ward_malloc_usable_size(s[i].p) < s[i].n)
                die("usable size below the request", i);
            if (op == 0 || total > MAX_TOTAL) { /* free */
                total -= s[i].n;
                if (d[0] & 1)
                    ward_free_sized(s[i].p, s[i].n);
                else
                    ward_free(s[i].p);
                s[i].p = NULL;
            } else { /* realloc */
                size_t n = size_of(d), keep = n < s[i].n ? n : s[i].n;
                unsigned char *q = ward_realloc(s[i].p, n);
                if (!q && n)
                    continue; /* failure leaves the block as it was */
                if (n == 0) { /* glibc semantics: freed */
                    total -= s[i].n;
                    s[i].p = NULL;
                    continue;
                }
                for (size_t k = 0; k < keep; k++)
                    if (q[k] != (unsigned char)(s[i].fill + k))
                        die("realloc lost contents", i);
                total += n - s[i].n;
                s[i].p = q;
                s[i].n = n;
                s[i].align = 16;
                stamp(&s[i], d[1]);
                check_overlap(s, i);
            }
        } else {
            size_t n = size_of(d);
            size_t align = 16;
            unsigned char *p;
            if (op == 1) {
                p = ward_calloc(1, n);
                if (p)
                    for (size_t k = 0; k < n; k++)
                        if (p[k])
                            die("calloc memory not zero", i);
            } else if (op == 2) {
                align = (size_t)1 << (d[0] % 17);
                if (ward_posix_memalign((void **)&p, align, n))
                    p = NULL;
            } else {
                p = ward_malloc(n);
            }
            if (!p)
                continue;
            if ((uintptr_t)p % (align < 16 ? 16 : align))
                die("misaligned block", i);
            s[i] = (struct blk){p, n, align, 0};
            total += n;
            stamp(&s[i], d[2]);
            check_overlap(s, i);
        }
        if ((pos & 63) == 0)
            ward_check_heap();
        if (d[0] == 0xff && d[1] == 0xff)
            ward_malloc_trim(0);
    }
    ward_check_heap();
    for (size_t i = 0; i < SLOTS; i++)
        if (s[i].p) {
            verify(&s[i], i);
            ward_free(s[i].p);
        }
    return 0;
}

#ifdef WARD_FUZZ_MAIN
/* Replays files, or every file of the seed corpus (a deterministic run for
 * make check). */
#include <dirent.h>

static int replay(const char *path)
{
    static uint8_t buf[1 << 20];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    return 1;
}

int main(int argc, char **argv)
{
    int done = 0;
    for (int a = 1; a < argc; a++)
        done += replay(argv[a]);
    if (argc == 1) {
        char path[4096];
        DIR *d = opendir(WARD_CORPUS);
        if (!d) {
            fprintf(stderr, "ops: cannot open %s\n", WARD_CORPUS);
            return 1;
        }
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", WARD_CORPUS, e->d_name);
            done += replay(path);
        }
        closedir(d);
    }
    printf("ops: replayed %d inputs\n", done);
    return done ? 0 : 1;
}
#endif
