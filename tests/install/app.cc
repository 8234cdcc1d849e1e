// Built by tests/install.sh against an installed ward, with pkg-config,
// shared and -static.  `appxx` proves ward serves operator new (a container's
// storage has ward's exact usable size; new of a huge size throws
// std::bad_alloc) and exits 0; `appxx sized-delete` commits a sized delete
// with the wrong size, which ward must report naming both sizes.
#include <malloc.h>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include <ward.h>

static void *volatile sink;

int main(int argc, char **argv)
{
    if (argc > 1 && std::strcmp(argv[1], "sized-delete") == 0) {
        void *p = ::operator new(48);
        ::operator delete(p, 40);
        return 0;
    }
    std::vector<std::string> v;
    for (int i = 0; i < 1000; i++)
        v.push_back(std::string(100 + i % 50, 'x'));
    int *a = new int[7];
    size_t usable = malloc_usable_size(a);
    delete[] a;
    bool threw = false;
    try {
        sink = ::operator new(static_cast<size_t>(-1) / 4);
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    bool ok = usable == 7 * sizeof(int) && threw && ward_check_heap() == 0;
    std::printf("appxx: malloc_usable_size(new int[7]) = %zu, huge new %s: %s\n", usable,
                threw ? "threw std::bad_alloc" : "did not throw", ok ? "ward is the allocator" : "NOT ward");
    return ok ? 0 : 1;
}
