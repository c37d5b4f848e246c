/*
 * The reference for benches/tgs.rs: N sequential service-ticket requests through MIT
 * krb5's library (krb5_get_credentials), each from a fresh memory ccache holding only the
 * TGT, so every request is a real TGS exchange through whatever KDC the krb5.conf in
 * KRB5_CONFIG names (the lab's KDC proxy). Prints "<median ns> <min ns> <max ns>".
 *
 *   mit_tgs FILE:tgt.ccache cifs/acct.file.core.windows.net@REALM [N]
 */
#include <krb5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static krb5_context ctx;

static void check(krb5_error_code ret, const char *what) {
    if (ret) {
        fprintf(stderr, "%s: %s\n", what, krb5_get_error_message(ctx, ret));
        exit(1);
    }
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s CCACHE SERVICE [N]\n", argv[0]);
        return 2;
    }
    int n = argc > 3 ? atoi(argv[3]) : 20;
    check(krb5_init_context(&ctx), "init");
    krb5_ccache file;
    check(krb5_cc_resolve(ctx, argv[1], &file), "resolve");
    krb5_principal me, server, tgs;
    check(krb5_cc_get_principal(ctx, file, &me), "principal");
    check(krb5_parse_name(ctx, argv[2], &server), "parse service");
    check(krb5_build_principal_ext(ctx, &tgs, me->realm.length, me->realm.data, 6, "krbtgt",
                                   me->realm.length, me->realm.data, 0), "tgs name");
    krb5_creds match, tgt;
    memset(&match, 0, sizeof match);
    match.client = me;
    match.server = tgs;
    check(krb5_cc_retrieve_cred(ctx, file, 0, &match, &tgt), "TGT in the ccache");
    double *t = calloc(n, sizeof *t);
    for (int i = 0; i < n; i++) {
        krb5_ccache mem;
        check(krb5_cc_new_unique(ctx, "MEMORY", NULL, &mem), "memory ccache");
        check(krb5_cc_initialize(ctx, mem, me), "init ccache");
        check(krb5_cc_store_cred(ctx, mem, &tgt), "store TGT");
        krb5_creds in, *out;
        memset(&in, 0, sizeof in);
        in.client = me;
        in.server = server;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        check(krb5_get_credentials(ctx, 0, mem, &in, &out), "get credentials");
        clock_gettime(CLOCK_MONOTONIC, &b);
        t[i] = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
        krb5_free_creds(ctx, out);
        krb5_cc_destroy(ctx, mem);
    }
    qsort(t, n, sizeof *t, cmp);
    printf("%.0f %.0f %.0f\n", t[n / 2], t[0], t[n - 1]);
    return 0;
}
