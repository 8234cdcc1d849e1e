/* The example project's other bug: a planted leak.  A worker thread
 * tokenizes a line into a list and drop_tokens() forgets to free it: under
 * ward with leaks=1 the test fails at exit with one direct leak (the
 * list's head, lost in drop_tokens) and two indirect ones (the rest of the
 * list, reached only from the head).  (On the main thread, a copy of the
 * head's address left behind in a dead stack frame could still hold the
 * list, for ward as for LeakSanitizer: both scan the stack conservatively;
 * a joined thread's stack is not scanned.) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct token {
    struct token *next;
    char word[24];
};

static struct token *tokenize(const char *line)
{
    struct token *head = NULL, **tail = &head;
    while (*line) {
        size_t n = strcspn(line, " ");
        struct token *t = calloc(1, sizeof *t);
        if (!t)
            exit(1);
        memcpy(t->word, line, n < sizeof t->word - 1 ? n : sizeof t->word - 1);
        *tail = t;
        tail = &t->next;
        line += n;
        line += strspn(line, " ");
    }
    return head;
}

static int count_tokens(const struct token *t)
{
    int n = 0;
    for (; t; t = t->next)
        n++;
    return n;
}

static void drop_tokens(struct token *t)
{
    (void)t; /* the bug: the list is never freed */
}

static void *worker(void *arg)
{
    struct token *t = tokenize(arg);
    int n = count_tokens(t);
    drop_tokens(t);
    return (void *)(long)n;
}

int main(void)
{
    pthread_t th;
    void *n;
    if (pthread_create(&th, NULL, worker, "alpha beta gamma") != 0 || pthread_join(th, &n) != 0)
        return 1;
    printf("%ld tokens\n", (long)n);
    return (long)n == 3 ? 0 : 1;
}
