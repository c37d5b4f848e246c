/*
 * The reference: the same operations as benches/crypto.rs through MIT krb5's own library
 * (libkrb5 / libk5crypto). Built and run by benches/crypto-compare.
 *
 * Prints one line per measurement: "<name> <median ns per operation>".
 * krb5_c_* calls take a keyblock and derive the usage keys on every call; krb5_k_* calls
 * take a krb5_key, which caches derived keys (MIT's fastest path). Both are reported.
 */
#include <krb5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCHES 15

static krb5_context ctx;

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void check(krb5_error_code ret, const char *what) {
    if (ret) {
        const char *msg = krb5_get_error_message(ctx, ret);
        fprintf(stderr, "%s: %s\n", what, msg);
        exit(1);
    }
}

typedef void (*op_fn)(void *);

/* Median over BATCHES batches of the per-operation time, after one warm-up batch. */
static double measure(op_fn op, void *arg, long iters) {
    double t[BATCHES];
    for (long i = 0; i < iters; i++) op(arg);
    for (int b = 0; b < BATCHES; b++) {
        double start = now_ns();
        for (long i = 0; i < iters; i++) op(arg);
        t[b] = (now_ns() - start) / (double)iters;
    }
    qsort(t, BATCHES, sizeof t[0], cmp_double);
    return t[BATCHES / 2];
}

struct s2k_arg { krb5_enctype etype; unsigned iterations; };

static void op_s2k(void *p) {
    struct s2k_arg *a = p;
    krb5_data pw = { 0, 28, "correct horse battery staple" };
    krb5_data salt = { 0, 33, "KERBEROS.MICROSOFTONLINE.COMalice" };
    unsigned char params[4] = { a->iterations >> 24, a->iterations >> 16, a->iterations >> 8, a->iterations };
    krb5_data par = { 0, 4, (char *)params };
    krb5_keyblock key;
    check(krb5_c_string_to_key_with_params(ctx, a->etype, &pw, &salt, &par, &key), "s2k");
    krb5_free_keyblock_contents(ctx, &key);
}

struct enc_arg {
    krb5_keyblock *kb;
    krb5_key key;
    krb5_data in;
    krb5_enc_data ct;
    krb5_data out;
};

static void op_c_encrypt(void *p) {
    struct enc_arg *a = p;
    check(krb5_c_encrypt(ctx, a->kb, 11, NULL, &a->in, &a->ct), "encrypt");
}
static void op_k_encrypt(void *p) {
    struct enc_arg *a = p;
    check(krb5_k_encrypt(ctx, a->key, 11, NULL, &a->in, &a->ct), "encrypt");
}
static void op_c_decrypt(void *p) {
    struct enc_arg *a = p;
    check(krb5_c_decrypt(ctx, a->kb, 11, NULL, &a->ct, &a->out), "decrypt");
}
static void op_k_decrypt(void *p) {
    struct enc_arg *a = p;
    check(krb5_k_decrypt(ctx, a->key, 11, NULL, &a->ct, &a->out), "decrypt");
}

struct ck_arg { krb5_keyblock *kb; krb5_key key; krb5_cksumtype type; krb5_data in; };

static void op_c_checksum(void *p) {
    struct ck_arg *a = p;
    krb5_checksum ck;
    check(krb5_c_make_checksum(ctx, a->type, a->kb, 6, &a->in, &ck), "checksum");
    krb5_free_checksum_contents(ctx, &ck);
}
static void op_k_checksum(void *p) {
    struct ck_arg *a = p;
    krb5_checksum ck;
    check(krb5_k_make_checksum(ctx, a->type, a->key, 6, &a->in, &ck), "checksum");
    krb5_free_checksum_contents(ctx, &ck);
}

static const char *ename(krb5_enctype e) {
    return e == ENCTYPE_AES256_CTS_HMAC_SHA1_96 ? "aes256-cts-hmac-sha1-96" : "aes256-cts-hmac-sha384-192";
}

int main(int argc, char **argv) {
    double scale = argc > 1 ? atof(argv[1]) : 1.0; /* shrink iteration counts for a quick run */
    check(krb5_init_context(&ctx), "init");

    struct s2k_arg s1 = { ENCTYPE_AES256_CTS_HMAC_SHA1_96, 4096 };
    printf("s2k/mit/aes256-sha1-4096 %.1f\n", measure(op_s2k, &s1, (long)(20 * scale) + 1));
    struct s2k_arg s2 = { ENCTYPE_AES256_CTS_HMAC_SHA384_192, 32768 };
    printf("s2k/mit/aes256-sha384-32768 %.1f\n", measure(op_s2k, &s2, (long)(3 * scale) + 1));

    krb5_enctype etypes[2] = { ENCTYPE_AES256_CTS_HMAC_SHA1_96, ENCTYPE_AES256_CTS_HMAC_SHA384_192 };
    size_t sizes[4] = { 64, 1024, 64 * 1024, 1024 * 1024 };
    unsigned char keybytes[32];
    memset(keybytes, 0x42, sizeof keybytes);
    for (int e = 0; e < 2; e++) {
        krb5_keyblock kb = { 0, etypes[e], 32, keybytes };
        krb5_key key;
        check(krb5_k_create_key(ctx, &kb, &key), "create key");
        for (int s = 0; s < 4; s++) {
            size_t n = sizes[s];
            struct enc_arg a = { &kb, key };
            a.in.length = n;
            a.in.data = malloc(n);
            for (size_t i = 0; i < n; i++) a.in.data[i] = (char)(i * 131 % 251);
            size_t clen;
            check(krb5_c_encrypt_length(ctx, etypes[e], n, &clen), "length");
            a.ct.ciphertext.length = clen;
            a.ct.ciphertext.data = malloc(clen);
            a.out.length = n;
            a.out.data = malloc(n + 64);
            long iters = (long)((n >= 65536 ? (n >= 1048576 ? 20 : 400) : 20000) * scale) + 1;
            printf("encrypt/%s/mit-c/%zu %.1f\n", ename(etypes[e]), n, measure(op_c_encrypt, &a, iters));
            printf("encrypt/%s/mit-k/%zu %.1f\n", ename(etypes[e]), n, measure(op_k_encrypt, &a, iters));
            a.ct.enctype = etypes[e];
            a.ct.ciphertext.length = clen;
            check(krb5_k_encrypt(ctx, key, 11, NULL, &a.in, &a.ct), "encrypt");
            a.out.length = n + 64;
            printf("decrypt/%s/mit-c/%zu %.1f\n", ename(etypes[e]), n, measure(op_c_decrypt, &a, iters));
            a.out.length = n + 64;
            printf("decrypt/%s/mit-k/%zu %.1f\n", ename(etypes[e]), n, measure(op_k_decrypt, &a, iters));
            if (a.out.length != n || memcmp(a.out.data, a.in.data, n) != 0) {
                fprintf(stderr, "round trip mismatch\n");
                return 1;
            }
            free(a.in.data);
            free(a.ct.ciphertext.data);
            free(a.out.data);
        }
        struct ck_arg c = { &kb, key, etypes[e] == ENCTYPE_AES256_CTS_HMAC_SHA1_96 ? CKSUMTYPE_HMAC_SHA1_96_AES256 : CKSUMTYPE_HMAC_SHA384_192_AES256 };
        c.in.length = 1024;
        c.in.data = malloc(1024);
        memset(c.in.data, 7, 1024);
        long iters = (long)(20000 * scale) + 1;
        printf("checksum/%s/mit-c/1024 %.1f\n", ename(etypes[e]), measure(op_c_checksum, &c, iters));
        printf("checksum/%s/mit-k/1024 %.1f\n", ename(etypes[e]), measure(op_k_checksum, &c, iters));
        free(c.in.data);
        krb5_k_free_key(ctx, key);
    }
    krb5_free_context(ctx);
    return 0;
}
