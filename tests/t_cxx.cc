// C++ under ward: every form of operator new/delete works; a failed new
// calls the new_handler, then throws std::bad_alloc (nothrow: NULL); a sized
// or aligned delete that does not match the allocation, or a double delete,
// is reported (each bug in a child process, its report and SIGABRT
// asserted), and delete_check=0 lets the mismatches through.
#include <dlfcn.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

static int failures;
#define CHECK(c, ...)                                                                              \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            std::fprintf(stderr, "t_cxx: FAIL: " __VA_ARGS__);                                     \
            std::fprintf(stderr, "\n");                                                            \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

struct alignas(128) Wide {
    char bytes[300];
};

static void run_child(const char *what, void (*bug)(), const char *expect, const char *also = nullptr)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 2);
        bug();
        _exit(0);
    }
    close(pfd[1]);
    char out[4096] = {0};
    size_t len = 0;
    ssize_t r;
    while ((r = read(pfd[0], out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)r;
    close(pfd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "%s: child was not aborted (status %#x)", what, st);
    CHECK(std::strncmp(out, expect, std::strlen(expect)) == 0, "%s: report was '%.200s', want '%s'", what,
          out, expect);
    if (also)
        CHECK(std::strstr(out, also) != nullptr, "%s: report '%.300s' does not say '%s'", what, out, also);
}

static void *volatile sink;

// a 48-byte block, then a sized delete that says 40
static void sized_mismatch()
{
    void *q = ::operator new(48);
    ::operator delete(q, 40);
}

// a block from plain new, not 256-aligned, deleted as if aligned to 256
static void aligned_mismatch()
{
    void *q;
    do
        q = ::operator new(48);
    while (((uintptr_t)q & 255) == 0);
    ::operator delete(q, std::align_val_t(256));
}

// delete_check=0: the same bugs, in this program re-executed with WARD_OPTIONS
// set (options are read once, at start-up), must end normally and silently
static void run_unchecked(const char *self, const char *which)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 2);
        setenv("WARD_OPTIONS", "delete_check=0", 1);
        execl("/proc/self/exe", self, which, (char *)nullptr);
        _exit(127);
    }
    close(pfd[1]);
    char out[4096] = {0};
    size_t len = 0;
    ssize_t r;
    while ((r = read(pfd[0], out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)r;
    close(pfd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "delete_check=0 %s: child status %#x, output '%.200s'", which,
          st, out);
    CHECK(len == 0, "delete_check=0 %s: output '%.200s'", which, out);
}

static int handler_calls;
static void new_handler_once()
{
    handler_calls++;
    std::set_new_handler(nullptr); // the next failure throws
}

int main(int argc, char **argv)
{
    if (argc == 2 && std::strcmp(argv[1], "sized-mismatch") == 0) {
        sized_mismatch();
        return 0;
    }
    if (argc == 2 && std::strcmp(argv[1], "aligned-mismatch") == 0) {
        aligned_mismatch();
        return 0;
    }
    if (!getenv("WARD_TEST_NO_WARD") && !dlsym(RTLD_DEFAULT, "ward_check_heap")) {
        std::fprintf(stderr, "t_cxx: FAIL: ward not loaded\n");
        return 1;
    }
    // the ordinary forms, through the standard library
    std::vector<std::string> v;
    for (int i = 0; i < 20000; i++)
        v.push_back(std::string(i % 300, 'x') + std::to_string(i));
    std::map<int, std::unique_ptr<int[]>> m;
    for (int i = 0; i < 5000; i++)
        m[i] = std::unique_ptr<int[]>(new int[i % 97 + 1]());
    size_t total = 0;
    for (auto &s : v)
        total += s.size();
    CHECK(total > 0 && m.size() == 5000, "containers");

    // aligned new (C++17), plain and array, and sized/aligned deletes
    for (int i = 0; i < 1000; i++) {
        Wide *w = new Wide;
        CHECK(((uintptr_t)w & 127) == 0, "new Wide is %p, not 128-aligned", (void *)w);
        std::memset(w, 1, sizeof *w);
        delete w;
        Wide *a = new Wide[3];
        CHECK(((uintptr_t)a & 127) == 0, "new Wide[3] not aligned");
        delete[] a;
    }
    void *p = ::operator new(100);
    ::operator delete(p, 100);
    p = ::operator new[](0);
    CHECK(p != nullptr, "operator new[](0) returned NULL");
    ::operator delete[](p, (size_t)0);
    p = ::operator new(64, std::align_val_t(4096));
    CHECK(((uintptr_t)p & 4095) == 0, "operator new(64, align 4096)");
    ::operator delete(p, 64, std::align_val_t(4096));
    p = ::operator new(10, std::nothrow);
    ::operator delete(p, std::nothrow);

    // failure: nothrow gives NULL, the throwing form throws std::bad_alloc
    sink = ::operator new((size_t)-1 / 2, std::nothrow);
    CHECK(sink == nullptr, "nothrow new of a huge size returned %p", sink);
    bool threw = false;
    try {
        sink = ::operator new((size_t)-1 / 2);
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    CHECK(threw, "operator new of a huge size did not throw std::bad_alloc");
    // the new_handler is called first; it removes itself, then new throws
    std::set_new_handler(new_handler_once);
    threw = false;
    try {
        sink = ::operator new[]((size_t)-1 / 2, std::align_val_t(64));
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    CHECK(threw && handler_calls == 1, "aligned new[]: threw %d, new_handler called %d times (want 1)", threw,
          handler_calls);

    if (!getenv("WARD_TEST_NO_WARD")) {
        run_child("sized delete mismatch", sized_mismatch, "ward: sized delete mismatch: operator delete(0x",
                  "size 40 given, but the chunk holds 48 requested bytes");
        run_child("aligned delete mismatch", aligned_mismatch,
                  "ward: aligned delete mismatch: operator delete(0x", "alignment 256 given, but the pointer is only ");
        run_child("sized delete[] mismatch", [] {
            char *q = new char[3000];
            sink = q;
            ::operator delete[](q, 2999);
        }, "ward: sized delete mismatch: operator delete[](0x", "size 2999 given, but the chunk holds 3000");
        run_unchecked(argv[0], "sized-mismatch");
        run_unchecked(argv[0], "aligned-mismatch");
        run_child("double delete", [] {
            int *q = new int(5);
            sink = q;
            delete q;
            delete (int *)sink;
        }, "ward: double free: operator delete");
        run_child("delete[] of an interior pointer", [] {
            int *q = new int[100];
            sink = q + 4;
            delete[] (int *)sink;
        }, "ward: invalid free: operator delete[]");
        int (*check)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "ward_check_heap");
        CHECK(check() == 0, "ward_check_heap");
    }
    if (failures)
        return 1;
    std::printf("t_cxx: all C++ forms of new/delete work; mismatched and double deletes reported\n");
    return 0;
}
