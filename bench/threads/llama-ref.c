/*
 * llama-ref: native llama.cpp reference for bench/threads/gen-speed.mjs.
 *
 * Uses the very same prebuilt libllama / libggml binaries that node-llama-cpp
 * 3.21.1 ships, without any JS, so "what llama.cpp itself achieves on this
 * machine" can be measured side by side with node-llama-cpp.  Like
 * llama-server / llama-cli it creates one persistent ggml threadpool and
 * attaches it with llama_attach_threadpool() (pass attach=0 to reproduce the
 * per-decode disposable threadpool that node-llama-cpp ends up with).
 *
 * Built by gen-speed.mjs with the llama.cpp headers of the exact release the
 * binaries were built from (extracted from
 * node_modules/node-llama-cpp/llama/gitRelease.bundle into a temp dir).
 *
 * usage: llama-ref BINS_DIR MODEL THREADS N_GEN N_PROMPT ATTACH(0|1) POLL [RUNS]
 * prints one JSON line:
 *   {"pp_tps":[..per run..],"tg_tps":[..],"pp_foreign":[..],"tg_foreign":[..],
 *    "prompt":[ids],"tokens":[first 32 generated ids]}
 * *_foreign: average number of CPU cores used by other processes during each run
 * (from /proc/stat minus our own getrusage), to spot runs disturbed by background load.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include "llama.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* machine-wide busy CPU seconds (all CPUs) from /proc/stat, and our own CPU seconds:
 * (busy - own) / wall = average number of cores used by *other* processes during a run */
static double machine_busy_s(void) {
    FILE * f = fopen("/proc/stat", "r");
    if (!f) return -1;
    unsigned long long v[10] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
                   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
    fclose(f);
    if (n < 5) return -1;
    unsigned long long total = 0;
    for (int i = 0; i < 8; i++) total += v[i]; /* guest time is already part of user */
    return (double) (total - v[3] - v[4]) / (double) sysconf(_SC_CLK_TCK);
}

static double own_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double foreign_cores(double busy0, double own0, double wall) {
    if (busy0 < 0 || wall < 0.3) return -1; /* 10 ms resolution: too short to tell */
    double f = ((machine_busy_s() - busy0) - (own_cpu_s() - own0)) / wall;
    return f < 0 ? 0 : f;
}

static void quiet_log(enum ggml_log_level level, const char * text, void * ud) {
    (void) ud;
    if (level >= GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

static bool no_progress(float p, void * ud) { (void) p; (void) ud; return true; }

int main(int argc, char ** argv) {
    if (argc < 8) {
        fprintf(stderr, "usage: %s BINS_DIR MODEL THREADS N_GEN N_PROMPT ATTACH POLL [RUNS]\n", argv[0]);
        return 2;
    }
    const char * bins = argv[1];
    const char * path = argv[2];
    int n_threads = atoi(argv[3]);
    int n_gen     = atoi(argv[4]);
    int n_prompt  = atoi(argv[5]);
    int attach    = atoi(argv[6]);
    int poll      = atoi(argv[7]);
    int runs      = argc > 8 ? atoi(argv[8]) : 3;

    llama_log_set(quiet_log, NULL);
    ggml_backend_load_all_from_path(bins);
    llama_backend_init();

    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    mp.progress_callback = no_progress;
    struct llama_model * model = llama_model_load_from_file(path, mp);
    if (!model) { fprintf(stderr, "load failed\n"); return 1; }

    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 2048;
    cp.n_batch = 512;
    cp.n_ubatch = 512;
    cp.n_seq_max = 1;
    cp.n_threads = n_threads;
    cp.n_threads_batch = n_threads;
    struct llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "ctx failed\n"); return 1; }

    struct ggml_threadpool * tp = NULL;
    if (attach) {
        ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU));
        typedef struct ggml_threadpool * (*tp_new_t)(struct ggml_threadpool_params *);
        tp_new_t tp_new = (tp_new_t) ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_new");
        struct ggml_threadpool_params tpp = ggml_threadpool_params_default(n_threads);
        tpp.poll = (uint32_t) poll;
        tp = tp_new ? tp_new(&tpp) : NULL;
        if (!tp) { fprintf(stderr, "threadpool failed\n"); return 1; }
        llama_attach_threadpool(ctx, tp, tp);
    }

    const struct llama_vocab * vocab = llama_model_get_vocab(model);
    int n_vocab = llama_vocab_n_tokens(vocab);

    struct llama_sampler_chain_params sp = llama_sampler_chain_default_params();
    struct llama_sampler * smpl = llama_sampler_chain_init(sp);
    llama_sampler_chain_add(smpl, llama_sampler_init_greedy());

    /* prompt processing: n_prompt deterministic tokens in one batch; run 0 warms up */
    double pp_foreign[64], tg_foreign[64];
    int n_pp = 0, n_tg = 0;
    printf("{\"pp_tps\":[");
    if (n_prompt > 0) {
        llama_token * pt = malloc(sizeof(llama_token) * n_prompt);
        for (int i = 0; i < n_prompt; i++) pt[i] = 100 + (i * 7919) % (n_vocab - 200);
        pt[0] = llama_vocab_bos(vocab);
        for (int rep = 0; rep <= runs; rep++) {
            llama_memory_clear(llama_get_memory(ctx), true);
            double b0 = machine_busy_s(), o0 = own_cpu_s();
            double t0 = now_s();
            if (llama_decode(ctx, llama_batch_get_one(pt, n_prompt)) != 0) { fprintf(stderr, "pp decode failed\n"); return 1; }
            llama_synchronize(ctx);
            double dt = now_s() - t0;
            if (rep > 0) {
                printf("%s%.2f", rep > 1 ? "," : "", n_prompt / dt);
                if (n_pp < 64) pp_foreign[n_pp++] = foreign_cores(b0, o0, dt);
            }
        }
        free(pt);
    }
    printf("],\"tg_tps\":[");

    /* generation: short prompt, then n_gen single-token decodes with greedy sampling;
     * the clock starts after the first token has been sampled (same as gen-speed.mjs) */
    const char * text = "The quick brown fox jumps over the lazy dog. Once upon a time";
    llama_token prompt[64];
    int np = llama_tokenize(vocab, text, (int32_t) strlen(text), prompt, 64, true, false);
    if (np <= 0) { fprintf(stderr, "tokenize failed\n"); return 1; }
    llama_token first[32];
    int n_first = 0;
    for (int rep = 0; rep <= runs; rep++) { /* rep 0: warm-up with up to 64 tokens */
        llama_memory_clear(llama_get_memory(ctx), true);
        llama_sampler_reset(smpl);
        if (llama_decode(ctx, llama_batch_get_one(prompt, np)) != 0) return 1;
        llama_token tok = llama_sampler_sample(smpl, ctx, -1);
        int n = rep == 0 ? (n_gen < 64 ? n_gen : 64) : n_gen;
        n_first = 0;
        double b0 = machine_busy_s(), o0 = own_cpu_s();
        double t0 = now_s();
        for (int i = 0; i < n; i++) {
            if (n_first < 32) first[n_first++] = tok;
            if (llama_decode(ctx, llama_batch_get_one(&tok, 1)) != 0) { fprintf(stderr, "decode failed\n"); return 1; }
            tok = llama_sampler_sample(smpl, ctx, -1);
        }
        double dt = now_s() - t0;
        if (rep > 0) {
            printf("%s%.2f", rep > 1 ? "," : "", n / dt);
            if (n_tg < 64) tg_foreign[n_tg++] = foreign_cores(b0, o0, dt);
        }
    }

    printf("],\"pp_foreign\":[");
    for (int i = 0; i < n_pp; i++) printf("%s%.3f", i ? "," : "", pp_foreign[i]);
    printf("],\"tg_foreign\":[");
    for (int i = 0; i < n_tg; i++) printf("%s%.3f", i ? "," : "", tg_foreign[i]);
    printf("],\"prompt\":[");
    for (int i = 0; i < np; i++) printf("%s%d", i ? "," : "", prompt[i]);
    printf("],\"tokens\":[");
    for (int i = 0; i < n_first; i++) printf("%s%d", i ? "," : "", first[i]);
    printf("]}\n");
    fflush(stdout);
    _exit(0); /* skip teardown: not measured, and avoids exit-order noise */
}
