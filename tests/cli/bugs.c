/* Heap bugs for the launcher's tests (tests/cli/launcher.sh), each in
 * functions with names the report's stacks must show:
 *
 *   bugs double_free | write_after_free | overflow | uaf_read | overflow_read
 *        | several | double_free_loop | double_free_threads | clean
 *
 * make_buffer allocates, release_early frees first, release_again frees
 * again; the other bugs are committed by functions named after them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *volatile sink;

__attribute__((noinline)) static char *make_buffer(size_t n)
{
    char *p = malloc(n);
    if (p)
        memset(p, 'x', n);
    return p;
}

__attribute__((noinline)) static void release_early(char *p) { free(p); }
__attribute__((noinline)) static void release_again(char *p) { free(p); }

__attribute__((noinline)) static void write_into_freed(char *p) { p[3] = 'w'; sink = p; }
__attribute__((noinline)) static void fill_too_much(char *p, size_t n) { memset(p, 'o', n + 8); sink = p; }
__attribute__((noinline)) static int read_freed(const char *p) { return ((const volatile char *)p)[5]; }
__attribute__((noinline)) static int read_past_end(const char *p, size_t n)
{
    return ((const volatile char *)p)[n + 16]; /* past the 16-byte alignment slack */
}

/* 200 double frees on each of four threads at once */
static void *double_free_200(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200; i++) {
        char *p = make_buffer(40);
        release_early(p);
        release_again(p);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "clean";
    if (!strcmp(what, "double_free")) {
        char *p = make_buffer(40);
        release_early(p);
        release_again(p);
    } else if (!strcmp(what, "write_after_free")) {
        char *p = make_buffer(40);
        release_early(p);
        write_into_freed(p);
    } else if (!strcmp(what, "overflow")) {
        char *p = make_buffer(40);
        fill_too_much(p, 40);
        release_early(p);
    } else if (!strcmp(what, "uaf_read")) {
        char *p = make_buffer(100);
        release_early(p);
        printf("read %d\n", read_freed(p));
    } else if (!strcmp(what, "overflow_read")) {
        /* sampled blocks sit at either end of their page: try a few */
        for (int i = 0; i < 64; i++) {
            char *p = make_buffer(100);
            printf("read %d\n", read_past_end(p, 100));
            printf("read %d\n", read_past_end(p - 4096 + 200, 0));
        }
    } else if (!strcmp(what, "several")) {
        char *p = make_buffer(40);
        release_early(p);
        release_again(p);
        char *q = make_buffer(3000);
        release_early(q);
        release_again(q);
        puts("several: still running");
    } else if (!strcmp(what, "double_free_loop")) {
        /* the same double free five times, from the same stacks */
        for (int i = 0; i < 5; i++) {
            char *p = make_buffer(40);
            release_early(p);
            release_again(p);
        }
        puts("double_free_loop: still running");
    } else if (!strcmp(what, "double_free_threads")) {
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, double_free_200, NULL);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
        puts("double_free_threads: still running");
    } else {
        char *p = make_buffer(40);
        release_early(p);
        puts("clean");
    }
    return 0;
}
