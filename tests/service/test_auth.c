/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/auth.c: key specs at their limits, and the
 * authorization matrix of contract "Access": every operation x every role x
 * every kind of credential, through the real nimbus_service_<op> entry
 * points, with keys configured and without; the key file (service/keyfile.c)
 * read and written, its mistakes named by line; and reloads of it while
 * other threads check keys (the tsan preset runs this test).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "service_internal.h"
#include "test_util.h"

static const nimbus_credentials_t *T = &nimbus_test_trusted;

static void test_key_specs(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    char spec[600], name[80], secret[300];
    CU_ASSERT_EQUAL(nimbus_core_key_count(core), 0);
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, "ops:s3cret:admin", &err), 0);
    memset(name, 'n', NIMBUS_KEY_NAME_MAX);
    name[NIMBUS_KEY_NAME_MAX] = '\0';
    memset(secret, 'S', NIMBUS_KEY_SECRET_MAX);
    secret[NIMBUS_KEY_SECRET_MAX] = '\0';
    snprintf(spec, sizeof(spec), "%s:%s:read", name, secret);
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, spec, &err), 0);
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, "a.b_c-D9:!#$%&'()*+,-./;<=>?@[]^_`{|}~:write", &err),
                    0);
    CU_ASSERT_EQUAL(nimbus_core_key_count(core), 3);

    snprintf(spec, sizeof(spec), "%sx:other:read", name);
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, spec, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "name"));
    snprintf(spec, sizeof(spec), "long:%sx:read", secret);
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, spec, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "secret"));
    static const char *bad[] = {
        "",         "nosecret",      "a:b",          ":s:read",           "a::read",
        "a:b:",     "a:b:superuser", "a:b:Read",     "a b:s:read",        "a:s s:read",
        "ä:s:read", "a:s\x01:read",  "ops:new:read", "fresh:s3cret:read", NULL};
    for (size_t i = 0; bad[i] != NULL; i++) {
        err.code = NIMBUS_OK;
        CU_ASSERT_EQUAL(nimbus_core_add_key(core, bad[i], &err), -1);
        CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    }
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, NULL, &err), -1);
    CU_ASSERT_EQUAL(nimbus_core_key_count(core), 3);
    /* The table is bounded. */
    int added = 3;
    for (int i = 0; i < 100; i++) {
        snprintf(spec, sizeof(spec), "k%d:secret-%d:read", i, i);
        if (nimbus_core_add_key(core, spec, &err) != 0) {
            break;
        }
        added++;
    }
    CU_ASSERT_EQUAL(added, 64);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    nimbus_test_close(core, svc);
}

/* Calls op with valid arguments; the store is prepared so that an
 * authorized call succeeds. Returns the call's result. */
static int call(nimbus_service_t *svc, nimbus_op_t op, const nimbus_credentials_t *c,
                nimbus_error_t *err)
{
    static int counter;
    char id[32];
    snprintf(id, sizeof(id), "n%d", ++counter);
    nimbus_observation_t obs = nimbus_test_obs(counter, 1);
    int rc = -1;
    switch (op) {
    case NIMBUS_OP_ListStations: {
        nimbus_list_stations_request_t req = {0};
        nimbus_list_stations_response_t res = {0};
        rc = nimbus_service_list_stations(svc, c, &req, &res, err);
        nimbus_list_stations_response_cleanup(&res);
        break;
    }
    case NIMBUS_OP_GetStation: {
        nimbus_get_station_request_t req = {"base"};
        nimbus_get_station_response_t res = {0};
        rc = nimbus_service_get_station(svc, c, &req, &res, err);
        nimbus_get_station_response_cleanup(&res);
        break;
    }
    case NIMBUS_OP_CreateStation: {
        nimbus_create_station_request_t req = {nimbus_test_station(id, "Berlin", "DE")};
        nimbus_create_station_response_t res = {0};
        rc = nimbus_service_create_station(svc, c, &req, &res, err);
        nimbus_create_station_response_cleanup(&res);
        break;
    }
    case NIMBUS_OP_UpdateStation: {
        nimbus_update_station_request_t req = {"base", nimbus_test_station("base", "Berlin", "DE")};
        nimbus_update_station_response_t res = {0};
        rc = nimbus_service_update_station(svc, c, &req, &res, err);
        nimbus_update_station_response_cleanup(&res);
        break;
    }
    case NIMBUS_OP_DeleteStation: {
        nimbus_test_create(svc, id, "Berlin", "DE");
        nimbus_delete_station_request_t req = {id};
        nimbus_delete_station_response_t res = {0};
        rc = nimbus_service_delete_station(svc, c, &req, &res, err);
        nimbus_delete_station_response_cleanup(&res);
        break;
    }
    case NIMBUS_OP_RecordObservations: {
        nimbus_record_observations_request_t req = {"base", &obs, 1};
        nimbus_record_observations_response_t res = {0};
        rc = nimbus_service_record_observations(svc, c, &req, &res, err);
        nimbus_record_observations_response_cleanup(&res);
        break;
    }
    case NIMBUS_OP_GetObservations: {
        nimbus_get_observations_request_t req = {.station_id = "base"};
        nimbus_get_observations_response_t res = {0};
        rc = nimbus_service_get_observations(svc, c, &req, &res, err);
        nimbus_get_observations_response_cleanup(&res);
        break;
    }
    case NIMBUS_OP_GetWeather: {
        nimbus_get_weather_request_t req = {"base"};
        nimbus_get_weather_response_t res = {0};
        rc = nimbus_service_get_weather(svc, c, &req, &res, err);
        nimbus_get_weather_response_cleanup(&res);
        break;
    }
    case NIMBUS_OP_GetCityWeather: {
        nimbus_get_city_weather_request_t req = {"Berlin", NULL};
        nimbus_get_city_weather_response_t res = {0};
        rc = nimbus_service_get_city_weather(svc, c, &req, &res, err);
        nimbus_get_city_weather_response_cleanup(&res);
        break;
    }
    case NIMBUS_OP_GetObservationFeed: {
        nimbus_get_observation_feed_request_t req = {0};
        nimbus_get_observation_feed_response_t res = {0};
        rc = nimbus_service_get_observation_feed(svc, c, &req, &res, err);
        nimbus_get_observation_feed_response_cleanup(&res);
        break;
    }
    }
    return rc;
}

typedef struct cred_case {
    const char *label;
    nimbus_credentials_t creds;
    nimbus_role_t role;   /* the role it proves; NONE when it proves none */
    nimbus_code_t denial; /* the code when it is not enough */
} cred_case_t;

static void test_matrix(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, "reader:re4der-secret:read", &err), 0);
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, "writer:wr1ter-secret:write", &err), 0);
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, "admin:adm1n-secret:admin", &err), 0);
    nimbus_test_create(svc, "base", "Berlin", "DE");
    const cred_case_t cases[] = {
        {"none", {NIMBUS_CRED_NONE, NULL, NULL}, NIMBUS_ROLE_NONE, NIMBUS_UNAUTHENTICATED},
        {"bearer read", {NIMBUS_CRED_SECRET, NULL, "re4der-secret"}, NIMBUS_ROLE_READ, 0},
        {"bearer write", {NIMBUS_CRED_SECRET, NULL, "wr1ter-secret"}, NIMBUS_ROLE_WRITE, 0},
        {"bearer admin", {NIMBUS_CRED_SECRET, NULL, "adm1n-secret"}, NIMBUS_ROLE_ADMIN, 0},
        {"named read", {NIMBUS_CRED_NAMED, "reader", "re4der-secret"}, NIMBUS_ROLE_READ, 0},
        {"named write", {NIMBUS_CRED_NAMED, "writer", "wr1ter-secret"}, NIMBUS_ROLE_WRITE, 0},
        {"named admin", {NIMBUS_CRED_NAMED, "admin", "adm1n-secret"}, NIMBUS_ROLE_ADMIN, 0},
        {"bearer wrong",
         {NIMBUS_CRED_SECRET, NULL, "adm1n-secreT"},
         NIMBUS_ROLE_NONE,
         NIMBUS_UNAUTHENTICATED},
        {"bearer prefix",
         {NIMBUS_CRED_SECRET, NULL, "adm1n"},
         NIMBUS_ROLE_NONE,
         NIMBUS_UNAUTHENTICATED},
        {"bearer longer",
         {NIMBUS_CRED_SECRET, NULL, "adm1n-secret2"},
         NIMBUS_ROLE_NONE,
         NIMBUS_UNAUTHENTICATED},
        {"bearer empty", {NIMBUS_CRED_SECRET, NULL, ""}, NIMBUS_ROLE_NONE, NIMBUS_UNAUTHENTICATED},
        {"bearer null", {NIMBUS_CRED_SECRET, NULL, NULL}, NIMBUS_ROLE_NONE, NIMBUS_UNAUTHENTICATED},
        {"named other's secret",
         {NIMBUS_CRED_NAMED, "reader", "adm1n-secret"},
         NIMBUS_ROLE_NONE,
         NIMBUS_UNAUTHENTICATED},
        {"named unknown",
         {NIMBUS_CRED_NAMED, "nobody", "adm1n-secret"},
         NIMBUS_ROLE_NONE,
         NIMBUS_UNAUTHENTICATED},
        {"named no name",
         {NIMBUS_CRED_NAMED, NULL, "adm1n-secret"},
         NIMBUS_ROLE_NONE,
         NIMBUS_UNAUTHENTICATED},
        {"trusted", {NIMBUS_CRED_TRUSTED, NULL, NULL}, NIMBUS_ROLE_ADMIN, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int op = 0; op < NIMBUS_OP_COUNT; op++) {
            nimbus_role_t needed = nimbus_op_table[op].role;
            err.code = NIMBUS_OK;
            int rc = call(svc, (nimbus_op_t)op, &cases[i].creds, &err);
            if (cases[i].role >= needed) {
                if (rc != 0) {
                    fprintf(stderr, "%s %s: %s\n", cases[i].label, nimbus_op_table[op].name,
                            err.message);
                }
                CU_ASSERT_EQUAL(rc, 0);
            } else {
                nimbus_code_t want =
                    cases[i].role == NIMBUS_ROLE_NONE ? cases[i].denial : NIMBUS_PERMISSION_DENIED;
                CU_ASSERT_EQUAL(rc, -1);
                if (err.code != want) {
                    fprintf(stderr, "%s %s: got %s, want %s\n", cases[i].label,
                            nimbus_op_table[op].name, nimbus_code_name(err.code),
                            nimbus_code_name(want));
                }
                CU_ASSERT_EQUAL(err.code, want);
            }
        }
    }
    /* Nothing was written by a refused call: only authorized writes moved
     * the seq (one per authorized RecordObservations). */
    CU_ASSERT_EQUAL(nimbus_core_head_seq(core), 5);
    nimbus_test_close(core, svc);
}

static void test_open_server(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    nimbus_test_create(svc, "base", "Berlin", "DE");
    const nimbus_credentials_t kinds[] = {{NIMBUS_CRED_NONE, NULL, NULL},
                                          {NIMBUS_CRED_SECRET, NULL, "anything"},
                                          {NIMBUS_CRED_NAMED, "who", "ever"}};
    for (size_t k = 0; k < 3; k++) {
        for (int op = 0; op < NIMBUS_OP_COUNT; op++) {
            CU_ASSERT_EQUAL(call(svc, (nimbus_op_t)op, &kinds[k], &err), 0);
        }
    }
    CU_ASSERT_EQUAL(nimbus_core_authorize(core, NULL, NIMBUS_ROLE_ADMIN, &err), 0);
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, "r:x:read", &err), 0);
    CU_ASSERT_EQUAL(nimbus_core_authorize(core, NULL, NIMBUS_ROLE_READ, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_UNAUTHENTICATED);
    CU_ASSERT_EQUAL(nimbus_core_authorize(core, T, NIMBUS_ROLE_ADMIN, &err), 0);
    /* A kind outside the enum proves nothing, even with a valid secret. */
    nimbus_credentials_t odd = {(nimbus_credential_kind_t)42, "r", "x"};
    CU_ASSERT_EQUAL(nimbus_core_authorize(core, &odd, NIMBUS_ROLE_READ, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_UNAUTHENTICATED);
    nimbus_credentials_t good = {NIMBUS_CRED_SECRET, NULL, "x"};
    CU_ASSERT_EQUAL(nimbus_core_authorize(core, &good, NIMBUS_ROLE_READ, &err), 0);
    CU_ASSERT_EQUAL(nimbus_core_authorize(core, &good, NIMBUS_ROLE_WRITE, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_PERMISSION_DENIED);
    nimbus_test_close(core, svc);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static void test_key_file(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    char path[512];
    snprintf(path, sizeof path, "%s/keys", nimbus_test_dir());
    nimbus_key_entry_t keys[2];
    CU_ASSERT_EQUAL(nimbus_key_entry_make("a", NIMBUS_ROLE_READ, "sa", &keys[0], &err), 0);
    CU_ASSERT_EQUAL(nimbus_key_entry_make("b", NIMBUS_ROLE_ADMIN, "sb", &keys[1], &err), 0);
    CU_ASSERT(memcmp(keys[0].salt, keys[1].salt, sizeof keys[0].salt) != 0);
    snprintf(keys[1].added, sizeof keys[1].added, "2024-05-01T12:00:00Z");
    CU_ASSERT_EQUAL(nimbus_key_file_write(path, keys, 2, &err), 0);
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    nimbus_key_entry_t *read = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL_FATAL(nimbus_key_file_read(path, &read, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(memcmp(read, keys, sizeof keys), 0);
    CU_ASSERT(nimbus_key_entry_matches(&read[1], "sb"));
    CU_ASSERT(!nimbus_key_entry_matches(&read[1], "sa"));
    CU_ASSERT(!nimbus_key_entry_matches(&read[1], "sbx"));
    free(read);

    /* Loaded: the keys work, by Bearer and by name, with their roles. */
    size_t count = 0;
    CU_ASSERT_EQUAL(nimbus_core_load_key_file(core, path, &count, &err), 0);
    CU_ASSERT_EQUAL(count, 2);
    CU_ASSERT(nimbus_core_keys_required(core));
    nimbus_credentials_t b = {NIMBUS_CRED_SECRET, NULL, "sb"};
    nimbus_credentials_t a_named = {NIMBUS_CRED_NAMED, "a", "sa"};
    nimbus_credentials_t a_as_b = {NIMBUS_CRED_NAMED, "b", "sa"};
    char who[NIMBUS_KEY_NAME_MAX + 1];
    CU_ASSERT_EQUAL(nimbus_core_authorize_as(core, &b, NIMBUS_ROLE_ADMIN, who, &err), 0);
    CU_ASSERT_STRING_EQUAL(who, "b");
    CU_ASSERT_EQUAL(nimbus_core_authorize_as(core, &a_named, NIMBUS_ROLE_WRITE, who, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_PERMISSION_DENIED);
    CU_ASSERT_STRING_EQUAL(who, "a");
    CU_ASSERT_EQUAL(nimbus_core_authorize_as(core, &a_as_b, NIMBUS_ROLE_READ, who, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_UNAUTHENTICATED);
    CU_ASSERT_STRING_EQUAL(who, "");

    /* Mistakes name the line, and leave the keys in force as they were. */
    static const struct {
        const char *text;
        const char *message;
    } bad[] = {
        {"# c\n\na read\n", "keys:3: a key line is NAME ROLE"},
        {"a root sha256:00:00\n", "keys:1: a key's role must be"},
        {"a read md5:00112233445566778899aabbccddeeff:00\n", "keys:1: a key's hash must be"},
        {"a read sha256:0011:0011\n", "keys:1: a key's hash must be"},
        {"a\x01 read x\n", "keys:1: a key's name must be"},
        {"a read sha256:00112233445566778899aabbccddeeff:"
         "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff yesterday\n",
         "keys:1: a key's time added must look like"},
        {"a read sha256:00112233445566778899aabbccddeeff:"
         "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
         "a write sha256:00112233445566778899aabbccddeeff:"
         "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
         "keys:2: key 'a' is in the file twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(path, bad[i].text, 0600);
        CU_ASSERT_EQUAL(nimbus_core_load_key_file(core, path, &count, &err), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, bad[i].message));
        if (!strstr(err.message, bad[i].message)) {
            fprintf(stderr, "case %zu: %s\n", i, err.message);
        }
        CU_ASSERT_EQUAL(nimbus_core_authorize(core, &b, NIMBUS_ROLE_ADMIN, &err), 0);
    }
    /* Other users may neither read nor write it. */
    CU_ASSERT_EQUAL(nimbus_key_file_write(path, keys, 1, &err), 0);
    chmod(path, 0604);
    CU_ASSERT_EQUAL(nimbus_core_load_key_file(core, path, &count, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "may be read by every user (mode 0604)"));
    chmod(path, 0602);
    CU_ASSERT_EQUAL(nimbus_core_load_key_file(core, path, &count, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "may be written by every user"));
    chmod(path, 0640);
    CU_ASSERT_EQUAL(nimbus_core_load_key_file(core, path, &count, &err), 0);
    CU_ASSERT_EQUAL(count, 1);
    CU_ASSERT_EQUAL(nimbus_core_authorize(core, &b, NIMBUS_ROLE_READ, &err), -1);
    /* An --api-key may not take a file key's name, nor its secret. */
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, "a:other:read", &err), -1);
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, "dev:sa:read", &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "share a secret"));
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, "dev:sd:read", &err), 0);
    /* An empty file: keys are still required, and only --api-key's work. */
    write_text(path, "", 0600);
    CU_ASSERT_EQUAL(nimbus_core_load_key_file(core, path, &count, &err), 0);
    CU_ASSERT_EQUAL(count, 0);
    CU_ASSERT_EQUAL(nimbus_core_key_count(core), 1);
    nimbus_credentials_t dev = {NIMBUS_CRED_SECRET, NULL, "sd"};
    CU_ASSERT_EQUAL(nimbus_core_authorize(core, &dev, NIMBUS_ROLE_READ, &err), 0);
    CU_ASSERT_EQUAL(nimbus_core_authorize(core, NULL, NIMBUS_ROLE_READ, &err), -1);
    /* The metrics' client labels keep every name ever in force, once each,
     * in the order they came: removed keys keep their series. */
    CU_ASSERT_EQUAL(nimbus__key_label_count(core), 3);
    CU_ASSERT_STRING_EQUAL(nimbus__key_label(core, 0), "a");
    CU_ASSERT_STRING_EQUAL(nimbus__key_label(core, 1), "b");
    CU_ASSERT_STRING_EQUAL(nimbus__key_label(core, 2), "dev");
    /* New secrets: 43 base64url characters, never the same twice. */
    char s1[NIMBUS_KEY_NEW_SECRET_LEN + 1], s2[NIMBUS_KEY_NEW_SECRET_LEN + 1];
    CU_ASSERT_EQUAL(nimbus_key_secret_new(s1, &err), 0);
    CU_ASSERT_EQUAL(nimbus_key_secret_new(s2, &err), 0);
    CU_ASSERT_EQUAL(strlen(s1), 43);
    CU_ASSERT_EQUAL(strspn(s1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                    43);
    CU_ASSERT(strcmp(s1, s2) != 0);
    nimbus_test_close(core, svc);
}

/* Checkers and a reloader at once: every check sees the one key that is in
 * every file, whichever file is in force, and the snapshots' references
 * never free one in use (ASan) or race (TSan). */
typedef struct checker {
    nimbus_core_t *core;
    atomic_bool *stop;
    int failures;
    long checks;
} checker_t;

static void *check_loop(void *arg)
{
    checker_t *c = arg;
    nimbus_credentials_t stable = {NIMBUS_CRED_SECRET, NULL, "stable-secret"};
    nimbus_error_t err;
    char who[NIMBUS_KEY_NAME_MAX + 1];
    while (!atomic_load(c->stop) || c->checks < 100) {
        if (nimbus_core_authorize_as(c->core, &stable, NIMBUS_ROLE_READ, who, &err) != 0 ||
            strcmp(who, "stable") != 0) {
            c->failures++;
        }
        c->checks++;
    }
    return NULL;
}

static void test_reload_while_checking(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    char path[512];
    snprintf(path, sizeof path, "%s/keys-swap", nimbus_test_dir());
    nimbus_key_entry_t keys[3];
    CU_ASSERT_EQUAL(
        nimbus_key_entry_make("stable", NIMBUS_ROLE_READ, "stable-secret", &keys[0], &err), 0);
    CU_ASSERT_EQUAL(nimbus_key_file_write(path, keys, 1, &err), 0);
    size_t count;
    CU_ASSERT_EQUAL(nimbus_core_load_key_file(core, path, &count, &err), 0);
    atomic_bool stop = false;
    checker_t checkers[3];
    pthread_t threads[3];
    for (int i = 0; i < 3; i++) {
        checkers[i] = (checker_t){core, &stop, 0, 0};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&threads[i], NULL, check_loop, &checkers[i]), 0);
    }
    for (int round = 0; round < 200; round++) {
        char name[16], secret[32];
        snprintf(name, sizeof name, "k%d", round);
        snprintf(secret, sizeof secret, "secret-%d", round);
        CU_ASSERT_EQUAL(
            nimbus_key_entry_make(name, NIMBUS_ROLE_WRITE, secret, &keys[1 + round % 2], &err), 0);
        CU_ASSERT_EQUAL(nimbus_key_file_write(path, keys, 1 + (size_t)(round % 3 != 0) * 2, &err),
                        0);
        CU_ASSERT_EQUAL(nimbus_core_load_key_file(core, path, &count, &err), 0);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 3; i++) {
        pthread_join(threads[i], NULL);
        CU_ASSERT_EQUAL(checkers[i].failures, 0);
        CU_ASSERT(checkers[i].checks >= 100);
    }
    nimbus_test_close(core, svc);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"key specs", test_key_specs},
        {"operation x role x credential matrix", test_matrix},
        {"no keys: open to all", test_open_server},
        {"the key file", test_key_file},
        {"reloads while other threads check", test_reload_while_checking},
        {NULL, NULL},
    };
    return nimbus_test_run("auth", cases);
}
