// The C++ program of tests/real/gxx.sh, also what `make bench`'s g++
// workload compiles (bench/run.py): heavy in templates and the standard
// library, so cc1plus's template instantiation allocates a lot.
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

// a deterministic generator, one per thread
struct Lcg {
    unsigned long long s;
    explicit Lcg(unsigned long long seed) : s(seed) {}
    unsigned next() { s = s * 6364136223846793005ULL + 1442695040888963407ULL; return (unsigned)(s >> 33); }
};

// FNV-1a over anything streamable
template <typename... Ts> unsigned long long fnv(const Ts &...xs)
{
    std::ostringstream os;
    ((os << xs << '|'), ...);
    unsigned long long h = 1469598103934665603ULL;
    for (unsigned char c : os.str())
        h = (h ^ c) * 1099511628211ULL;
    return h;
}

template <typename K, typename V, template <typename...> class Map>
unsigned long long digest_map(const Map<K, V> &m)
{
    std::vector<std::pair<K, V>> v(m.begin(), m.end());
    std::sort(v.begin(), v.end());
    unsigned long long h = 0;
    for (auto &kv : v)
        h = h * 31 + fnv(kv.first, kv.second);
    return h;
}

struct Shape {
    virtual ~Shape() = default;
    virtual double area() const = 0;
    virtual std::string name() const = 0;
};
struct Rect : Shape {
    double w, h;
    Rect(double a, double b) : w(a), h(b) {}
    double area() const override { return w * h; }
    std::string name() const override { return "rect" + std::to_string((int)w); }
};
struct Circle : Shape {
    double r;
    explicit Circle(double a) : r(a) {}
    double area() const override { return 3 * r * r; }
    std::string name() const override { return "circle" + std::to_string((int)r); }
};

using Item = std::variant<int, std::string, std::vector<int>, std::shared_ptr<Shape>>;

// a bounded queue between threads: what one thread allocates, another frees
template <typename T> class Queue {
    std::mutex m;
    std::condition_variable cv;
    std::deque<T> q;
    bool closed = false;

public:
    void push(T x)
    {
        std::unique_lock<std::mutex> l(m);
        q.push_back(std::move(x));
        cv.notify_one();
    }
    void close()
    {
        std::unique_lock<std::mutex> l(m);
        closed = true;
        cv.notify_all();
    }
    std::optional<T> pop()
    {
        std::unique_lock<std::mutex> l(m);
        cv.wait(l, [&] { return !q.empty() || closed; });
        if (q.empty())
            return std::nullopt;
        T x = std::move(q.front());
        q.pop_front();
        return x;
    }
};

static unsigned long long produce(int id, Queue<std::unique_ptr<std::vector<Item>>> &out)
{
    Lcg r(1000 + id);
    std::map<std::string, std::vector<int>> m;
    std::unordered_map<int, std::string> u;
    unsigned long long h = 0;
    for (int i = 0; i < 40000; i++) {
        unsigned x = r.next();
        m["k" + std::to_string(x % 5000)].push_back((int)(x % 1000));
        u[(int)(x % 20000)] += (char)('a' + x % 26);
        if (i % 40 == 0) {
            auto batch = std::make_unique<std::vector<Item>>();
            for (int j = 0; j < 20; j++) {
                switch ((x + j) % 4) {
                case 0: batch->emplace_back((int)(x + j)); break;
                case 1: batch->emplace_back(std::string(x % 300 + j, (char)('A' + j))); break;
                case 2: batch->emplace_back(std::vector<int>(x % 100 + j, j)); break;
                default:
                    if (j % 2)
                        batch->emplace_back(std::shared_ptr<Shape>(std::make_shared<Rect>(j, x % 7)));
                    else
                        batch->emplace_back(std::shared_ptr<Shape>(std::make_shared<Circle>(j)));
                }
            }
            out.push(std::move(batch));
        }
        if (m.size() > 3000 && i % 1000 == 0)
            for (auto it = m.begin(); it != m.end();)
                it = it->second.size() % 3 == 0 ? m.erase(it) : std::next(it);
    }
    for (auto &kv : m)
        h = h * 131 + fnv(kv.first, std::accumulate(kv.second.begin(), kv.second.end(), 0LL));
    return h ^ digest_map(u);
}

static unsigned long long consume(Queue<std::unique_ptr<std::vector<Item>>> &in)
{
    unsigned long long sum = 0;
    while (auto b = in.pop()) {
        for (auto &it : **b)
            sum += std::visit(
                [](auto &v) -> unsigned long long {
                    using T = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<T, int>)
                        return (unsigned)v;
                    else if constexpr (std::is_same_v<T, std::string>)
                        return v.size() * 3;
                    else if constexpr (std::is_same_v<T, std::vector<int>>)
                        return std::accumulate(v.begin(), v.end(), 0ULL);
                    else
                        return (unsigned long long)v->area() + v->name().size();
                },
                it);
    }
    return sum;
}

int main()
{
    // two producers and two consumers
    Queue<std::unique_ptr<std::vector<Item>>> q;
    unsigned long long ph[2] = {0, 0}, cs[2] = {0, 0};
    std::vector<std::thread> prod, cons;
    for (int i = 0; i < 2; i++)
        cons.emplace_back([&, i] { cs[i] = consume(q); });
    for (int i = 0; i < 2; i++)
        prod.emplace_back([&, i] { ph[i] = produce(i, q); });
    for (auto &t : prod)
        t.join();
    q.close();
    for (auto &t : cons)
        t.join();
    std::printf("producers %llx %llx\n", ph[0], ph[1]);
    std::printf("consumed %llu\n", cs[0] + cs[1]);

    // strings, regex, sets and a big sort on the main thread
    std::vector<std::string> words;
    Lcg r(7);
    for (int i = 0; i < 100000; i++) {
        std::string w;
        for (unsigned n = r.next() % 12 + 1; n; n--)
            w += (char)('a' + r.next() % 26);
        words.push_back(std::move(w));
    }
    std::sort(words.begin(), words.end(), [](const std::string &a, const std::string &b) {
        return std::make_tuple(a.size(), a) < std::make_tuple(b.size(), b);
    });
    std::set<std::string> uniq(words.begin(), words.end());
    std::printf("words %zu unique %zu first %s last %s\n", words.size(), uniq.size(), words.front().c_str(),
                words.back().c_str());
    std::string text;
    for (size_t i = 0; i < 20000; i++)
        text += words[i * 5] + (i % 10 ? " " : "\n");
    std::regex re("\\b([aeiou])([a-z]*)\\1\\b");
    unsigned long long rh = 0;
    size_t nmatch = 0;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
        rh = rh * 33 + fnv((*it)[0].str());
        nmatch++;
    }
    std::printf("regex %zu matches %llx\n", nmatch, rh);
    std::function<unsigned long long(int)> fib = [&](int n) -> unsigned long long {
        static std::map<int, unsigned long long> memo;
        if (n < 2)
            return (unsigned long long)n;
        auto f = memo.find(n);
        if (f != memo.end())
            return f->second;
        return memo[n] = fib(n - 1) + fib(n - 2);
    };
    std::printf("fib(90) %llu\n", fib(90));
    return 0;
}
