/*
 * libcorral-threadpool.so - give ggml's CPU backend a persistent threadpool.
 *
 * Why: node-llama-cpp 3.21.1's addon never calls llama_attach_threadpool(), so
 * every graph the CPU backend computes reaches
 *     ggml_graph_compute(cgraph, cplan)   with cplan->threadpool == NULL
 * and ggml-cpu then builds a *disposable* threadpool: it pthread_create()s
 * n_threads-1 workers for every decode and joins them afterwards.  The new
 * worker is often queued on the CPU of the thread that created it, which is
 * busy-waiting in ggml_barrier(), so on a small VM each barrier can wait for a
 * scheduler tick (4 ms at HZ=250).  That made threads=2 ~10x slower than
 * threads=1.
 *
 * What: loaded with LD_PRELOAD, this library defines ggml_graph_compute().
 * The CPU backend (libggml-cpu-<variant>.so, dlopen()ed at run time) calls
 * ggml_graph_compute through its PLT, and symbol lookup for a dlopen()ed
 * library searches the global scope (which contains LD_PRELOAD objects)
 * first, so its calls land here.  When cplan->threadpool is NULL and
 * n_threads > 1, we lend the call a threadpool we keep alive (created once
 * with the backend's own ggml_threadpool_new(), one per thread count and
 * concurrent caller), then forward to the backend's real
 * ggml_graph_compute().  This is what llama.cpp's own tools do with
 * llama_attach_threadpool(): the computation is the same, only the worker
 * threads are reused, so results do not change.
 *
 * Safety: whenever anything is unexpected (real function not found, pool
 * creation fails, all pools busy, disabled by env) we forward the call
 * unchanged, i.e. ggml's original behaviour.
 *
 * Environment:
 *   CORRAL_THREADPOOL=0         disable (pure pass-through)
 *   CORRAL_THREADPOOL_POLL=N    ggml polling level 0..100 for idle workers
 *                               (default 50, same as llama.cpp's --poll)
 *   CORRAL_THREADPOOL_DEBUG=1   log decisions to stderr
 *
 * Struct layouts below are those of ggml as shipped with node-llama-cpp
 * 3.21.1 (llama.cpp release "v0.4.0"): checked against ggml.h / ggml-cpu.h
 * from node_modules/node-llama-cpp/llama/gitRelease.bundle and against the
 * disassembly of ggml_threadpool_params_init (n_threads @0x200, poll @0x208,
 * size 0x210) and ggml_graph_compute (n_threads @0x10, threadpool @0x18).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHIM_EXPORT __attribute__((visibility("default")))

/* ---- mirrors of ggml types (ggml v0.4.0 as bundled by node-llama-cpp 3.21.1) ---- */

#define SHIM_GGML_MAX_N_THREADS 512

struct shim_ggml_threadpool_params {
    bool     cpumask[SHIM_GGML_MAX_N_THREADS];
    int      n_threads;
    int      prio;       /* enum ggml_sched_priority, 0 = NORMAL */
    uint32_t poll;
    bool     strict_cpu;
    bool     paused;
};

struct shim_ggml_cplan {
    size_t    work_size;
    uint8_t * work_data;
    int       n_threads;
    void    * threadpool;
    void    * abort_callback;
    void    * abort_callback_data;
    bool      use_ref;
};

_Static_assert(offsetof(struct shim_ggml_threadpool_params, n_threads) == 0x200, "tpp.n_threads");
_Static_assert(offsetof(struct shim_ggml_threadpool_params, poll) == 0x208, "tpp.poll");
_Static_assert(offsetof(struct shim_ggml_threadpool_params, paused) == 0x20d, "tpp.paused");
_Static_assert(sizeof(struct shim_ggml_threadpool_params) == 0x210, "tpp size");
_Static_assert(offsetof(struct shim_ggml_cplan, n_threads) == 0x10, "cplan.n_threads");
_Static_assert(offsetof(struct shim_ggml_cplan, threadpool) == 0x18, "cplan.threadpool");

typedef int    (*compute_fn)(void * cgraph, struct shim_ggml_cplan * cplan);
typedef void * (*tp_new_fn)(struct shim_ggml_threadpool_params * params);

/* ---- state ---- */

#define MAX_LIBS       8   /* distinct libraries that call ggml_graph_compute */
#define MAX_POOLS      8   /* persistent pools per library                     */
#define MAX_CALLSITES 32   /* cached return addresses                          */
#define MAX_POOL_THREADS 256

struct pool {
    void *      tp;
    int         n_threads;
    atomic_bool busy;
};

struct lib {
    void *      base;     /* dli_fbase of the library */
    compute_fn  compute;  /* its real ggml_graph_compute */
    tp_new_fn   tp_new;   /* its ggml_threadpool_new (NULL: no pools) */
    int         n_pools;
    struct pool pools[MAX_POOLS];
};

struct callsite {
    void *       ret;
    struct lib * lib;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lib      g_libs[MAX_LIBS];
static int             g_n_libs;
static struct callsite g_sites[MAX_CALLSITES];
static int             g_n_sites;
static compute_fn      g_next_compute; /* dlsym(RTLD_NEXT) fallback */
static int             g_enabled = -1; /* -1: not read yet */
static atomic_ulong    g_pooled;       /* computes that ran on a persistent pool */
static atomic_ulong    g_passthrough;  /* computes forwarded unchanged */
static int             g_debug;
static uint32_t        g_poll = 50;

SHIM_EXPORT int ggml_graph_compute(void * cgraph, struct shim_ggml_cplan * cplan);

static void read_env_locked(void) {
    if (g_enabled != -1) return;
    const char * e = getenv("CORRAL_THREADPOOL");
    g_enabled = !(e && (strcmp(e, "0") == 0 || strcmp(e, "off") == 0 || strcmp(e, "false") == 0));
    const char * d = getenv("CORRAL_THREADPOOL_DEBUG");
    g_debug = d && d[0] && strcmp(d, "0") != 0;
    const char * p = getenv("CORRAL_THREADPOOL_POLL");
    if (p && p[0]) {
        char * end = NULL;
        long v = strtol(p, &end, 10);
        if (end && *end == '\0' && v >= 0 && v <= 1000) g_poll = (uint32_t) v;
    }
    if (g_debug) fprintf(stderr, "[corral-threadpool] enabled=%d poll=%u\n", g_enabled, g_poll);
}

/* Find (and cache) the library that made the call, with its real symbols. */
static struct lib * lib_for_caller_locked(void * ret) {
    for (int i = 0; i < g_n_sites; i++) {
        if (g_sites[i].ret == ret) return g_sites[i].lib;
    }

    struct lib * found = NULL;
    Dl_info info;
    if (dladdr(ret, &info) && info.dli_fname && info.dli_fbase) {
        for (int i = 0; i < g_n_libs; i++) {
            if (g_libs[i].base == info.dli_fbase) { found = &g_libs[i]; break; }
        }
        if (!found && g_n_libs < MAX_LIBS) {
            /* RTLD_NOLOAD: only take a reference to the already loaded library. The
             * reference is kept on purpose: our pool threads run its code, so it must
             * never be unloaded while they exist. */
            void * h = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
            if (h) {
                compute_fn c = (compute_fn) dlsym(h, "ggml_graph_compute");
                tp_new_fn  n = (tp_new_fn)  dlsym(h, "ggml_threadpool_new");
                if (c && c != ggml_graph_compute) {
                    struct lib * l = &g_libs[g_n_libs++];
                    memset(l, 0, sizeof(*l));
                    l->base    = info.dli_fbase;
                    l->compute = c;
                    l->tp_new  = (n && (void *) n != (void *) c) ? n : NULL;
                    found = l;
                    if (g_debug) fprintf(stderr, "[corral-threadpool] caller %s: compute=%p threadpool_new=%p\n",
                                         info.dli_fname, (void *) c, (void *) n);
                } else {
                    if (g_debug) fprintf(stderr, "[corral-threadpool] caller %s has no own ggml_graph_compute\n", info.dli_fname);
                    dlclose(h);
                }
            }
        }
    }

    if (g_n_sites < MAX_CALLSITES) {
        g_sites[g_n_sites].ret = ret;
        g_sites[g_n_sites].lib = found; /* may be NULL: remembered as "no pool" */
        g_n_sites++;
    }
    return found;
}

static struct pool * acquire_pool_locked(struct lib * l, int n_threads) {
    for (int i = 0; i < l->n_pools; i++) {
        struct pool * p = &l->pools[i];
        if (p->n_threads == n_threads && !atomic_load(&p->busy)) {
            atomic_store(&p->busy, true);
            return p;
        }
    }
    if (!l->tp_new || l->n_pools >= MAX_POOLS) return NULL;

    struct shim_ggml_threadpool_params params;
    memset(&params, 0, sizeof(params)); /* cpumask all zero: default affinity */
    params.n_threads  = n_threads;
    params.prio       = 0;              /* GGML_SCHED_PRIO_NORMAL: keep inherited */
    params.poll       = g_poll;
    params.strict_cpu = false;
    params.paused     = false;

    void * tp = l->tp_new(&params);
    if (!tp) return NULL;

    struct pool * p = &l->pools[l->n_pools++];
    p->tp        = tp;
    p->n_threads = n_threads;
    atomic_store(&p->busy, true);
    if (g_debug) fprintf(stderr, "[corral-threadpool] new persistent threadpool %p: %d threads, poll %u\n",
                         tp, n_threads, g_poll);
    return p;
}

SHIM_EXPORT int ggml_graph_compute(void * cgraph, struct shim_ggml_cplan * cplan) {
    void * ret = __builtin_extract_return_addr(__builtin_return_address(0));

    pthread_mutex_lock(&g_lock);
    read_env_locked();
    struct lib * l = lib_for_caller_locked(ret);
    compute_fn real = l ? l->compute : NULL;
    struct pool * p = NULL;
    if (real && g_enabled && cplan && cplan->threadpool == NULL &&
        cplan->n_threads > 1 && cplan->n_threads <= MAX_POOL_THREADS) {
        p = acquire_pool_locked(l, cplan->n_threads);
    }
    if (!real) {
        if (!g_next_compute) {
            compute_fn c = (compute_fn) dlsym(RTLD_NEXT, "ggml_graph_compute");
            if (c != ggml_graph_compute) g_next_compute = c;
        }
        real = g_next_compute;
        if (!real) {
            /* Last resort: any backend library we have seen. */
            for (int i = 0; i < g_n_libs && !real; i++) real = g_libs[i].compute;
        }
    }
    pthread_mutex_unlock(&g_lock);

    if (!real) {
        fprintf(stderr, "[corral-threadpool] fatal: cannot find the real ggml_graph_compute\n");
        abort();
    }

    if (!p) {
        atomic_fetch_add_explicit(&g_passthrough, 1, memory_order_relaxed);
        return real(cgraph, cplan);
    }

    atomic_fetch_add_explicit(&g_pooled, 1, memory_order_relaxed);
    cplan->threadpool = p->tp;
    int status = real(cgraph, cplan);
    cplan->threadpool = NULL; /* the caller's plan is left as we found it */
    atomic_store(&p->busy, false);
    return status;
}

/* ---- status ----
 * corral_threadpool_stats(): JSON text with the shim's counters (static buffer,
 * fine for diagnostics). Also reachable from JavaScript, see below. */

SHIM_EXPORT const char * corral_threadpool_stats(void) {
    static char buf[256];
    pthread_mutex_lock(&g_lock);
    read_env_locked();
    int pools = 0;
    for (int i = 0; i < g_n_libs; i++) pools += g_libs[i].n_pools;
    snprintf(buf, sizeof(buf),
             "{\"version\":1,\"enabled\":%s,\"poll\":%u,\"libs\":%d,\"pools\":%d,\"pooled\":%lu,\"passthrough\":%lu}",
             g_enabled ? "true" : "false", g_poll, g_n_libs, pools,
             (unsigned long) atomic_load(&g_pooled), (unsigned long) atomic_load(&g_passthrough));
    pthread_mutex_unlock(&g_lock);
    return buf;
}

/* ---- optional Node-API entry point ----
 * Lets Node load this library without LD_PRELOAD:
 *     process.dlopen(m, path, os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL)
 * RTLD_GLOBAL puts our ggml_graph_compute in the global scope, which ggml's
 * backend libraries (dlopen()ed later with RTLD_NOW | RTLD_LOCAL) search first,
 * so this must run before node-llama-cpp loads its backends (before getLlama()).
 * Without this symbol Node would dlclose() the library again ("Module did not
 * self-register"). m.exports.stats() returns corral_threadpool_stats() as a string.
 * The N-API functions are looked up at run time, so the library still loads
 * into non-Node processes (LD_PRELOAD into llama-server, say). */

typedef void * napi_env_t;
typedef void * napi_value_t;
typedef void * napi_callback_info_t;
typedef int (*napi_create_string_utf8_fn)(napi_env_t, const char *, size_t, napi_value_t *);
typedef napi_value_t (*napi_cb_fn)(napi_env_t, napi_callback_info_t);
typedef int (*napi_create_function_fn)(napi_env_t, const char *, size_t, napi_cb_fn, void *, napi_value_t *);
typedef int (*napi_set_named_property_fn)(napi_env_t, napi_value_t, const char *, napi_value_t);

static napi_value_t js_stats(napi_env_t env, napi_callback_info_t info) {
    (void) info;
    napi_create_string_utf8_fn mkstr = (napi_create_string_utf8_fn) dlsym(RTLD_DEFAULT, "napi_create_string_utf8");
    napi_value_t out = NULL;
    if (mkstr) mkstr(env, corral_threadpool_stats(), (size_t) -1, &out);
    return out;
}

SHIM_EXPORT napi_value_t napi_register_module_v1(napi_env_t env, napi_value_t exports) {
    napi_create_function_fn mkfn = (napi_create_function_fn) dlsym(RTLD_DEFAULT, "napi_create_function");
    napi_set_named_property_fn setp = (napi_set_named_property_fn) dlsym(RTLD_DEFAULT, "napi_set_named_property");
    napi_value_t fn = NULL;
    if (mkfn && setp && mkfn(env, "stats", (size_t) -1, js_stats, NULL, &fn) == 0 && fn)
        setp(env, exports, "stats", fn);
    return exports;
}

SHIM_EXPORT int32_t node_api_module_get_api_version_v1(void) {
    return 8;
}
