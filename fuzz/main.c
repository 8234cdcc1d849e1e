/* main.c: the main() of a harness built without libFuzzer.
 *
 * Built with afl-clang-fast (which defines __AFL_FUZZ_TESTCASE_LEN): AFL++'s
 * persistent mode with shared-memory test cases, many inputs per process.
 *
 * Otherwise: a replay driver.  `harness FILE|DIR...` runs every file given,
 * and every file in every directory given (and in its subdirectories, one
 * level down); with no argument it replays WARD_CORPUS (make check: every
 * corpus of every harness); WARD_FUZZ_MAX_INPUTS=n stops after n inputs.
 * Exit 0 when every input ran; a finding aborts. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#ifdef __AFL_FUZZ_TESTCASE_LEN
__AFL_FUZZ_INIT();

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    __AFL_INIT();
    unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF;
    while (__AFL_LOOP(100000))
        LLVMFuzzerTestOneInput(buf, (size_t)__AFL_FUZZ_TESTCASE_LEN);
    return 0;
}
#else
static int done, max_inputs;

static void run_file(const char *path)
{
    static uint8_t buf[1 << 20];
    if (max_inputs && done >= max_inputs)
        return;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (getenv("WARD_FUZZ_SHOW"))
        fprintf(stderr, "input %s\n", path);
    /* a copy of exactly the input's size, as the fuzzers give it */
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, buf, n);
    LLVMFuzzerTestOneInput(copy, n);
    free(copy);
    done++;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path, int depth)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    if (!S_ISDIR(st.st_mode)) {
        run_file(path);
        return;
    }
    if (depth > 1)
        return;
    DIR *d = opendir(path);
    if (!d)
        return;
    char **names = NULL;
    size_t nn = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        names = realloc(names, (nn + 1) * sizeof *names);
        names[nn++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, nn, sizeof *names, by_name); /* the same order every run */
    for (size_t i = 0; i < nn; i++) {
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, names[i]);
        run_path(sub, depth + 1);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    const char *m = getenv("WARD_FUZZ_MAX_INPUTS");
    max_inputs = m ? atoi(m) : 0;
    if (argc > 1)
        for (int a = 1; a < argc; a++)
            run_path(argv[a], 0);
    else
        run_path(WARD_CORPUS, 0);
    printf("%s: ran %d inputs\n", argv[0], done);
    return done ? 0 : 1;
}
#endif
