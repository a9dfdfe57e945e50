/*
 * libcorral-threadpool.so - persistent compute threads for ggml's CPU backend.
 *
 * Why: node-llama-cpp 3.21.1's addon never calls llama_attach_threadpool(), so
 * every graph the CPU backend computes reaches
 *     ggml_graph_compute(cgraph, cplan)   with cplan->threadpool == NULL
 * and ggml-cpu then builds a *disposable* threadpool: it pthread_create()s
 * n_threads-1 workers for every decode and joins them afterwards.  The new
 * worker is often queued on the CPU of the thread that created it, which is
 * busy-waiting in ggml_barrier(), so on a small VM a barrier can wait for a
 * whole scheduler tick (4 ms at HZ=250): threads=2 was ~10x slower than
 * threads=1 for tiny models and up to ~15x for a 100M-parameter one.
 * (node-llama-cpp also runs every decode on whichever of libuv's worker
 * threads is free, so the thread that creates the pool changes per token.)
 *
 * What: loaded with LD_PRELOAD (or process.dlopen(..., RTLD_NOW|RTLD_GLOBAL)
 * before node-llama-cpp loads its backends), this library defines
 * ggml_graph_compute().  The CPU backend (libggml-cpu-<variant>.so,
 * dlopen()ed at run time with RTLD_LOCAL) calls ggml_graph_compute through its
 * PLT, and symbol lookup for a dlopen()ed library searches the global scope
 * first, so its calls land here.  When cplan->threadpool is NULL and
 * n_threads > 1 we lend the call a ggml threadpool we keep alive (created
 * once with the backend's own ggml_threadpool_new(); one per thread count
 * and concurrent caller), as llama.cpp's own tools do via
 * llama_attach_threadpool(), and forward to the backend's real
 * ggml_graph_compute() on a persistent "executor" thread of that pool while
 * the calling thread sleeps, so all compute threads are long-lived and keep
 * their CPUs (the ggml workers spin in barriers; a worker sharing a CPU with
 * its partner stalls both).  With threads=1 there is no barrier and the
 * hand-off would only add two thread wake-ups per graph, so by default the
 * shim then does nothing.
 * The computation itself is unchanged (same graph, same plan, same thread
 * count), so results are identical; only the threads that run it differ.
 *
 * Safety: whenever anything is unexpected (real function not found, pool or
 * thread creation fails, all pools busy, disabled by env) the call is
 * forwarded unchanged on the calling thread, i.e. ggml's original behaviour.
 *
 * Environment:
 *   CORRAL_THREADPOOL=0           disable (pure pass-through)
 *   CORRAL_THREADPOOL_EXECUTOR=0  compute on the calling (libuv) thread, pool only
 *   CORRAL_THREADPOOL_EXECUTOR=1  executor thread also for threads=1
 *                                 (default "auto": executor for threads > 1 only)
 *   CORRAL_THREADPOOL_POLL=N      ggml polling level 0..100 of idle pool
 *                                 workers (default 50 = llama.cpp's --poll)
 *   CORRAL_THREADPOOL_DEBUG=1     log decisions to stderr
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
#include <signal.h>
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

#define MAX_LIBS         8   /* distinct libraries that call ggml_graph_compute */
#define MAX_POOLS        8   /* persistent pools per library                     */
#define MAX_CALLSITES   32   /* cached return addresses                          */
#define MAX_POOL_THREADS 256
#define EXECUTOR_STACK  (8u << 20)

struct pool {
    void *      tp;         /* ggml threadpool (NULL for n_threads == 1: none needed) */
    int         n_threads;
    atomic_bool busy;       /* owned by one compute at a time */

    /* executor thread: runs the computes handed to this pool */
    bool            has_executor;
    pthread_t       executor;
    pthread_mutex_t m;
    pthread_cond_t  cv_work;
    pthread_cond_t  cv_done;
    unsigned long   n_req;   /* jobs requested / finished (guarded by m) */
    unsigned long   n_done;
    compute_fn      job_fn;
    void *          job_graph;
    struct shim_ggml_cplan * job_plan;
    int             job_status;
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
static int             g_executor = -1; /* -1 auto: executor when n_threads > 1; 0 never; 1 always */
static atomic_int      g_mode = -1;    /* -1: from env; else 0 pass-through, 1 pool, 2 pool + executor */
static int             g_debug;
static uint32_t        g_poll = 50;
static atomic_ulong    g_pooled;       /* computes given a persistent pool */
static atomic_ulong    g_executed;     /* ... of which ran on an executor thread */
static atomic_ulong    g_passthrough;  /* computes forwarded unchanged */

SHIM_EXPORT int ggml_graph_compute(void * cgraph, struct shim_ggml_cplan * cplan);

static bool env_off(const char * name) {
    const char * e = getenv(name);
    return e && (strcmp(e, "0") == 0 || strcmp(e, "off") == 0 || strcmp(e, "false") == 0 || strcmp(e, "no") == 0);
}

static void read_env_locked(void) {
    if (g_enabled != -1) return;
    g_enabled  = !env_off("CORRAL_THREADPOOL");
    const char * x = getenv("CORRAL_THREADPOOL_EXECUTOR");
    g_executor = !x || !x[0] || strcmp(x, "auto") == 0 ? -1 : env_off("CORRAL_THREADPOOL_EXECUTOR") ? 0 : 1;
    const char * d = getenv("CORRAL_THREADPOOL_DEBUG");
    g_debug = d && d[0] && strcmp(d, "0") != 0;
    const char * p = getenv("CORRAL_THREADPOOL_POLL");
    if (p && p[0]) {
        char * end = NULL;
        long v = strtol(p, &end, 10);
        if (end && *end == '\0' && v >= 0 && v <= 1000) g_poll = (uint32_t) v;
    }
    if (g_debug) fprintf(stderr, "[corral-threadpool] enabled=%d executor=%d poll=%u\n", g_enabled, g_executor, g_poll);
}

/* Effective settings for one call: the env values unless overridden at run time.
 * *executor: -1 auto (only for n_threads > 1), 0 never, 1 always. */
static void current_mode_locked(int * enabled, int * executor) {
    int m = atomic_load(&g_mode);
    if (m < 0) { *enabled = g_enabled; *executor = g_executor; return; }
    *enabled = m >= 1;
    *executor = m >= 2 ? 1 : 0;
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
             * reference is kept on purpose: our threads run its code, so it must
             * never be unloaded while they exist. dlsym() on this handle searches
             * the library and its dependencies only, i.e. finds its own symbols. */
            void * h = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
            if (h) {
                compute_fn c = (compute_fn) dlsym(h, "ggml_graph_compute");
                tp_new_fn  n = (tp_new_fn)  dlsym(h, "ggml_threadpool_new");
                if (c && c != ggml_graph_compute) {
                    struct lib * l = &g_libs[g_n_libs++];
                    memset(l, 0, sizeof(*l));
                    l->base    = info.dli_fbase;
                    l->compute = c;
                    l->tp_new  = n;
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

static void * executor_main(void * arg) {
    struct pool * p = arg;
    pthread_mutex_lock(&p->m);
    for (;;) {
        while (p->n_done == p->n_req) pthread_cond_wait(&p->cv_work, &p->m);
        compute_fn fn = p->job_fn;
        void * graph = p->job_graph;
        struct shim_ggml_cplan * plan = p->job_plan;
        pthread_mutex_unlock(&p->m);

        int status = fn(graph, plan);

        pthread_mutex_lock(&p->m);
        p->job_status = status;
        p->n_done = p->n_req;
        pthread_cond_signal(&p->cv_done);
    }
    return NULL;
}

/* Threads we create (executor, and ggml's pool workers, which inherit the mask of
 * the thread that creates them) must not receive process signals meant for Node. */
static void block_signals(sigset_t * old) {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, old);
}

static bool start_executor_locked(struct pool * p) {
    if (pthread_mutex_init(&p->m, NULL) != 0) return false;
    if (pthread_cond_init(&p->cv_work, NULL) != 0) { pthread_mutex_destroy(&p->m); return false; }
    if (pthread_cond_init(&p->cv_done, NULL) != 0) {
        pthread_cond_destroy(&p->cv_work); pthread_mutex_destroy(&p->m); return false;
    }
    p->n_req = p->n_done = 0;

    pthread_attr_t attr;
    bool ok = pthread_attr_init(&attr) == 0;
    if (ok) {
        pthread_attr_setstacksize(&attr, EXECUTOR_STACK);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        sigset_t old;
        block_signals(&old);
        ok = pthread_create(&p->executor, &attr, executor_main, p) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);
    }
    if (!ok) {
        pthread_cond_destroy(&p->cv_done); pthread_cond_destroy(&p->cv_work); pthread_mutex_destroy(&p->m);
        return false;
    }
    pthread_setname_np(p->executor, "corral-ggml");
    p->has_executor = true;
    return true;
}

static struct pool * acquire_pool_locked(struct lib * l, int n_threads, int executor) {
    for (int i = 0; i < l->n_pools; i++) {
        struct pool * p = &l->pools[i];
        if (p->n_threads != n_threads || atomic_load(&p->busy)) continue;
        if (executor && !p->has_executor) start_executor_locked(p); /* e.g. mode switched at run time */
        /* a 1-thread pool is only useful with its executor */
        if (n_threads == 1 && !(executor && p->has_executor)) continue;
        atomic_store(&p->busy, true);
        return p;
    }
    if (l->n_pools >= MAX_POOLS) return NULL;

    /* One thread needs no ggml pool (ggml's "disposable" pool of 1 creates no
     * threads); it only benefits from the executor. */
    if (n_threads == 1 && !executor) return NULL;
    if (n_threads > 1 && !l->tp_new) return NULL;

    struct pool * p = &l->pools[l->n_pools];
    memset(p, 0, sizeof(*p));
    p->n_threads = n_threads;

    if (n_threads > 1) {
        struct shim_ggml_threadpool_params params;
        memset(&params, 0, sizeof(params)); /* cpumask all zero: default affinity */
        params.n_threads  = n_threads;
        params.prio       = 0;              /* GGML_SCHED_PRIO_NORMAL: keep inherited */
        params.poll       = g_poll;
        params.strict_cpu = false;
        params.paused     = false;
        sigset_t old;
        block_signals(&old);
        p->tp = l->tp_new(&params);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (!p->tp) return NULL;
    }
    if (executor && !start_executor_locked(p) && n_threads == 1) {
        /* nothing gained without the executor; p->tp is NULL here, nothing to leak */
        return NULL;
    }

    l->n_pools++;
    atomic_store(&p->busy, true);
    if (g_debug) fprintf(stderr, "[corral-threadpool] new persistent pool: %d thread(s), ggml threadpool %p, executor %s, poll %u\n",
                         n_threads, p->tp, p->has_executor ? "yes" : "no", g_poll);
    return p;
}

SHIM_EXPORT int ggml_graph_compute(void * cgraph, struct shim_ggml_cplan * cplan) {
    void * ret = __builtin_extract_return_addr(__builtin_return_address(0));

    pthread_mutex_lock(&g_lock);
    read_env_locked();
    struct lib * l = lib_for_caller_locked(ret);
    compute_fn real = l ? l->compute : NULL;
    struct pool * p = NULL;
    int enabled, executor;
    current_mode_locked(&enabled, &executor);
    if (real && enabled && cplan && cplan->threadpool == NULL &&
        cplan->n_threads >= 1 && cplan->n_threads <= MAX_POOL_THREADS) {
        if (executor < 0) executor = cplan->n_threads > 1;
        p = acquire_pool_locked(l, cplan->n_threads, executor);
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
    cplan->threadpool = p->tp; /* NULL for one thread: ggml's trivial 1-thread path */
    int status;
    if (p->has_executor && executor) {
        atomic_fetch_add_explicit(&g_executed, 1, memory_order_relaxed);
        pthread_mutex_lock(&p->m);
        p->job_fn    = real;
        p->job_graph = cgraph;
        p->job_plan  = cplan;
        p->n_req++;
        pthread_cond_signal(&p->cv_work);
        while (p->n_done != p->n_req) pthread_cond_wait(&p->cv_done, &p->m);
        status = p->job_status;
        pthread_mutex_unlock(&p->m);
    } else {
        status = real(cgraph, cplan);
    }
    cplan->threadpool = NULL; /* the caller's plan is left as we found it */
    atomic_store(&p->busy, false);
    return status;
}

/* ---- run-time control (A/B measurements) ----
 * corral_threadpool_set_mode(m): 0 pass-through, 1 persistent pool on the calling
 * thread, 2 pool + executor (also for one thread), -1 back to the environment's
 * setting. Takes effect at
 * the next compute. Returns the previous override. */

SHIM_EXPORT int corral_threadpool_set_mode(int mode) {
    if (mode < -1 || mode > 2) return -2;
    return atomic_exchange(&g_mode, mode);
}

/* ---- status ----
 * corral_threadpool_stats(): JSON text with the shim's counters (static buffer,
 * fine for diagnostics). Also reachable from JavaScript, see below. */

SHIM_EXPORT const char * corral_threadpool_stats(void) {
    static char buf[320];
    pthread_mutex_lock(&g_lock);
    read_env_locked();
    int pools = 0;
    for (int i = 0; i < g_n_libs; i++) pools += g_libs[i].n_pools;
    int enabled, executor;
    current_mode_locked(&enabled, &executor);
    const char * exec_name = executor < 0 ? "\"auto\"" : executor ? "true" : "false";
    snprintf(buf, sizeof(buf),
             "{\"version\":1,\"enabled\":%s,\"executor\":%s,\"poll\":%u,\"libs\":%d,\"pools\":%d,"
             "\"pooled\":%lu,\"executed\":%lu,\"passthrough\":%lu}",
             enabled ? "true" : "false", exec_name, g_poll, g_n_libs, pools,
             (unsigned long) atomic_load(&g_pooled), (unsigned long) atomic_load(&g_executed),
             (unsigned long) atomic_load(&g_passthrough));
    pthread_mutex_unlock(&g_lock);
    return buf;
}

/* ---- optional Node-API entry point ----
 * Lets Node load this library without LD_PRELOAD:
 *     const m = { exports: {} };
 *     process.dlopen(m, path, os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL);
 * RTLD_GLOBAL puts our ggml_graph_compute in the global scope, which ggml's
 * backend libraries (dlopen()ed later with RTLD_NOW | RTLD_LOCAL) search first,
 * so this must run before node-llama-cpp loads its backends (before getLlama()).
 * Without this symbol Node would dlclose() the library again ("Module did not
 * self-register"). m.exports.stats() returns corral_threadpool_stats() as a string;
 * m.exports.setMode(m) calls corral_threadpool_set_mode(m).
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

typedef int (*napi_get_cb_info_fn)(napi_env_t, napi_callback_info_t, size_t *, napi_value_t *, napi_value_t *, void **);
typedef int (*napi_get_value_int32_fn)(napi_env_t, napi_value_t, int32_t *);
typedef int (*napi_create_int32_fn)(napi_env_t, int32_t, napi_value_t *);

static napi_value_t js_set_mode(napi_env_t env, napi_callback_info_t info) {
    napi_get_cb_info_fn cbinfo = (napi_get_cb_info_fn) dlsym(RTLD_DEFAULT, "napi_get_cb_info");
    napi_get_value_int32_fn getint = (napi_get_value_int32_fn) dlsym(RTLD_DEFAULT, "napi_get_value_int32");
    napi_create_int32_fn mkint = (napi_create_int32_fn) dlsym(RTLD_DEFAULT, "napi_create_int32");
    size_t argc = 1;
    napi_value_t argv[1] = { NULL };
    int32_t mode = -1, prev = -2;
    if (cbinfo && getint && cbinfo(env, info, &argc, argv, NULL, NULL) == 0 && argc >= 1 &&
        getint(env, argv[0], &mode) == 0)
        prev = corral_threadpool_set_mode(mode);
    napi_value_t out = NULL;
    if (mkint) mkint(env, prev, &out);
    return out;
}

SHIM_EXPORT napi_value_t napi_register_module_v1(napi_env_t env, napi_value_t exports) {
    napi_create_function_fn mkfn = (napi_create_function_fn) dlsym(RTLD_DEFAULT, "napi_create_function");
    napi_set_named_property_fn setp = (napi_set_named_property_fn) dlsym(RTLD_DEFAULT, "napi_set_named_property");
    napi_value_t fn = NULL;
    if (mkfn && setp && mkfn(env, "stats", (size_t) -1, js_stats, NULL, &fn) == 0 && fn)
        setp(env, exports, "stats", fn);
    fn = NULL;
    if (mkfn && setp && mkfn(env, "setMode", (size_t) -1, js_set_mode, NULL, &fn) == 0 && fn)
        setp(env, exports, "setMode", fn);
    return exports;
}

SHIM_EXPORT int32_t node_api_module_get_api_version_v1(void) {
    return 8;
}
