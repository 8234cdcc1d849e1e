/* /proc/self/maps names ward's memory: a small chunk lies in "[anon:ward
 * small N]" (N its slot size), a medium one in "[anon:ward arena N]", a large
 * one in "[anon:ward large]" between two "[anon:ward large guard]" pages, and
 * a freed large block reads "[anon:ward large freed]"; a block that
 * sample=N gave a page of its own is in "[anon:ward sampled pages]".
 * Kernels without anonymous VMA names (before 5.17, or built without
 * CONFIG_ANON_VMA_NAME) make this a skip (exit 77). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

/* The name of the mapping holding `addr` ("" if it has none), or NULL when
 * no mapping holds it. */
static const char *name_of(uintptr_t addr, char *out, size_t cap)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return NULL;
    char line[512];
    const char *found = NULL;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        int off = 0;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &off) < 2)
            continue;
        if (addr < lo || addr >= hi)
            continue;
        char *nm = line + off;
        nm[strcspn(nm, "\n")] = '\0';
        snprintf(out, cap, "%s", nm);
        found = out;
        break;
    }
    fclose(f);
    return found;
}

static int failures;

static void expect(const char *what, uintptr_t addr, const char *want_prefix)
{
    char buf[256];
    const char *nm = name_of(addr, buf, sizeof buf);
    /* sample=N (on by default) may give a block a page of its own */
    static const char sampled[] = "[anon:ward sampled pages]";
    if (nm && strncmp(nm, sampled, sizeof sampled - 1) == 0 && strncmp(want_prefix, "[anon:ward large", 16) != 0) {
        printf("t_vmanames: %s at %#lx: %s (sampled)\n", what, (unsigned long)addr, nm);
        return;
    }
    if (!nm || strncmp(nm, want_prefix, strlen(want_prefix)) != 0) {
        fprintf(stderr, "t_vmanames: FAIL: %s at %#lx is in '%s', want '%s...'\n", what, (unsigned long)addr,
                nm ? nm : "(no mapping)", want_prefix);
        failures++;
    } else {
        printf("t_vmanames: %s at %#lx: %s\n", what, (unsigned long)addr, nm);
    }
}

int main(void)
{
    if (!dlsym(RTLD_DEFAULT, "ward_check_heap")) {
        fprintf(stderr, "t_vmanames: FAIL: ward not loaded\n");
        return 1;
    }
    /* does this kernel name anonymous mappings at all? */
    long pg = sysconf(_SC_PAGESIZE);
    void *probe = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (probe == MAP_FAILED)
        return 1;
    if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)probe, (unsigned long)pg,
              (unsigned long)"t_vmanames probe") != 0) {
        printf("t_vmanames: SKIP: this kernel does not name anonymous mappings (prctl PR_SET_VMA: %s)\n",
               strerror(errno));
        return 77;
    }
    munmap(probe, (size_t)pg);

    char *s = malloc(40);
    char *m = malloc(5000);
    size_t ln = 3u << 20;
    char *l = malloc(ln);
    if (!s || !m || !l)
        return 1;
    expect("small chunk of 40 bytes", (uintptr_t)s, "[anon:ward small ");
    expect("medium chunk", (uintptr_t)m, "[anon:ward arena ");
    expect("large block", (uintptr_t)l, "[anon:ward large]");
    /* the block ends at its pages' end: the next page is the guard */
    uintptr_t end = ((uintptr_t)l + ln + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
    expect("page after the large block", end, "[anon:ward large guard]");
    free(l);
    expect("freed large block", (uintptr_t)l, "[anon:ward large freed]");
    free(s);
    free(m);
    if (failures)
        return 1;
    printf("t_vmanames: ward's mappings are named\n");
    return 0;
}
