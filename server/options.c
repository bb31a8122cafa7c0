/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The settings of `nimbus`: defaults, then the configuration file of
 * --config, then the command line, which wins. Every setting has a default
 * that is safe on a developer's machine (loopback, one database under
 * ./var/), and every value is checked here, from the file as from the
 * command line and by the same code, so that the server never starts
 * half-configured.
 *
 * The file is INI, read by inih (Debian's libinih): `name = value` lines
 * whose names are the long options without their dashes, at the top or
 * under [nimbus]; whole-line comments start with # or ;. A flag takes true
 * or false (yes/no, on/off, 1/0). A mistake (an unknown name or section, a
 * bad value, a setting given twice, a line that is none of these) refuses
 * the start with the file's name and the line. The command line overrides
 * the file setting by setting; --api-key values on the command line replace
 * the file's list rather than add to it.
 */
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include "server_internal.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "Usage: nimbus [OPTIONS]\n"
        "  or:  nimbus keys add NAME ROLE|list|remove NAME (--keys FILE|--config FILE)\n"
        "Weather-station observation service: SOAP (POST /soap, WSDL at GET /soap?wsdl),\n"
        "REST + JSON (/v1/...), WebSocket streaming (GET /v1/stream) on one HTTP port.\n"
        "\n"
        "  --config FILE          read settings from FILE, an INI file whose keys are the\n"
        "                         long options below (listen = 127.0.0.1:8080), at the\n"
        "                         top or under [nimbus]; the command line wins over it\n"
        "  --listen HOST:PORT     address to listen on (default " NIMBUS_DEFAULT_LISTEN ");\n"
        "                         port 0 picks a free port; IPv6 as [::1]:8080\n"
        "  --workers N            event loops, one per thread (default: number of cores)\n"
        "  --db PATH|URI          SQLite database file (default " NIMBUS_DEFAULT_DB "), or a\n"
        "                         postgresql:// URI shared by several nodes\n"
        "  --follow-poll MS       PostgreSQL: read other nodes' writes at least this\n"
        "                         often when no notification comes (default 1000)\n"
        "  --max-body BYTES       largest request body (default 1048576)\n"
        "  --max-ws-message BYTES largest WebSocket message (default 1048576)\n"
        "  --soap-max-depth N     SOAP elements nested deeper are refused, 5..256\n"
        "                         (default 32)\n"
        "  --soap-max-attributes N\n"
        "                         attributes on one SOAP start tag, namespace\n"
        "                         declarations included (default 32)\n"
        "  --soap-max-namespaces N\n"
        "                         SOAP namespace declarations in scope at once\n"
        "                         (default 64)\n"
        "  --ws-queue BYTES       output a WebSocket may queue before it lags (default 4194304)\n"
        "  --max-connections N    connections in all, HTTP and WebSocket (default: the\n"
        "                         descriptor limit less 64; 0: no limit)\n"
        "  --max-connections-per-client N\n"
        "                         connections from one client address (default 512;\n"
        "                         0: no limit)\n"
        "  --request-timeout S    seconds a request has to arrive whole from its first\n"
        "                         byte, plus a second per --min-body-rate bytes (default 10)\n"
        "  --min-body-rate BYTES  bytes per second that earn a slow upload more time\n"
        "                         (default 4096)\n"
        "  --idle-timeout S       close a connection silent this long (default 60)\n"
        "  --rate N               calls a second per API key (per client address when\n"
        "                         there are no keys), SOAP, REST and WebSocket together\n"
        "                         (default 0: no limit)\n"
        "  --burst N              calls a key may make at once before --rate applies\n"
        "                         (default: one second's worth)\n"
        "  --max-subscriptions-per-key N\n"
        "                         stream subscriptions one key (one address without\n"
        "                         keys) may hold at once (default 1000; 0: no limit)\n"
        "  --tls-cert FILE        serve TLS with this PEM certificate (chain); with\n"
        "  --tls-key FILE         its private key. SIGHUP reads both again\n"
        "");
    fprintf(out,
            "  --shutdown-grace S     at SIGTERM, the longest wait for answers in flight\n"
            "                         (default 10)\n"
            "  --retention AGE        delete observations whose observedAt is older than AGE\n"
            "                         (30d, 12h, 90m, 3600s; default: keep all; with\n"
            "                         --demo: 3d)\n"
            "  --render-cache BYTES   rendered answers each worker keeps for reads that\n"
            "                         repeat (default 16777216; 0 keeps none)\n"
            "  --ws-ping-interval MS  ping a silent WebSocket after MS milliseconds; drop it\n"
            "                         after two silent intervals (default 30000)\n"
            "  --keys FILE            API keys from FILE: names, roles and salted hashes of\n"
            "                         the secrets, made by `nimbus keys add`; refused if\n"
            "                         other users may read it. SIGHUP reads it again\n"
            "  --api-key NAME:SECRET:ROLE\n"
            "                         for development only: add an API key (role: read,\n"
            "                         write or admin); repeatable. The secret shows in ps\n"
            "                         and shell history: use --keys in production. With\n"
            "                         no keys the server is open to everyone.\n"
            "  --open                 allow a server without keys to listen beyond loopback\n"
            "  --cors-origin LIST     origins allowed to GET cross-site, comma-separated, or *\n"
            "  --static-dir DIR       dashboard files served at / (default: the built-in ones)\n"
            "  --demo                 seed demo stations if the database has none, then\n"
            "                         record plausible observations every few seconds\n"
            "                         (a database that holds stations is left alone)\n"
            "  --demo-reseed          with --demo: seed even if the database holds stations\n"
            "");
    fprintf(out,
            "  --trusted-proxy CIDR   believe Forwarded and X-Forwarded-For/-Proto/-Host from\n"
            "                         peers in this network (10.0.0.0/8, 127.0.0.1, ::1):\n"
            "                         the client address (logs, limits) and the scheme and\n"
            "                         host of advertised URLs; repeatable; from anyone else\n"
            "                         they are ignored\n"
            "  --public-url URL       base URL to advertise in the WSDL, OpenAPI, Location\n"
            "                         and Link (https://api.example.com[/prefix]); default:\n"
            "                         the one the client used, if its host is well-formed\n"
            "  --soap-sunset DATE     tell SOAP clients that SOAP goes away at DATE\n"
            "                         (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC): every SOAP\n"
            "                         answer gets Deprecation, Sunset and a Link to the\n"
            "                         migration guide\n"
            "  --soap-sunset-link URL the guide's URL (default: GET /migration, the guide\n"
            "                         this server serves)\n"
            "  --port-file FILE       write the bound port to FILE once listening\n"
            "  --quiet                no access log\n"
            "  --log-file PATH        write the log to PATH (appended to; SIGHUP opens it\n"
            "                         again, for logrotate) instead of stderr\n"
            "  --log-format FORMAT    text (default) or json: one JSON object per line\n"
            "  --help                 this text\n"
            "  --version              the version\n"
            "\n"
            "API keys in the key file (FILE from --keys, or from the keys setting of the\n"
            "--config file); a running server reads the file again at SIGHUP:\n"
            "  nimbus keys add NAME ROLE    add a key (role read, write or admin) and print\n"
            "                               its new random secret, this once only\n"
            "  nimbus keys list             each key's name, role and when it was added\n"
            "  nimbus keys remove NAME      remove a key (once read again, its secret fails)\n");
}

/* Where a value comes from, for messages: the command line ("--workers
 * needs ...") or a line of the file ("nimbus.conf:4: workers needs ..."). */
typedef struct source {
    const char *file; /* NULL: the command line (or the environment) */
    int line;
    const char *name; /* the option's long name, or the variable's */
    bool env;         /* name is an environment variable */
    char msg[1200];   /* the first mistake, whole */
} source_t;

static void bad(source_t *src, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bad(source_t *src, const char *fmt, ...)
{
    char what[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* "needs ..." follows the name after a space, ": ..." right after it. */
    const char *gap = what[0] == ':' ? "" : " ";
    if (src->file) {
        snprintf(src->msg, sizeof src->msg, "%s:%d: %s%s%s", src->file, src->line, src->name, gap,
                 what);
    } else {
        snprintf(src->msg, sizeof src->msg, "%s%s%s%s", src->env ? "" : "--", src->name, gap, what);
    }
}

static int parse_size(source_t *src, const char *text, size_t min, size_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || !end || *end || text[0] == '-' || text[0] == '\0' || v < min ||
        v > (unsigned long long)SIZE_MAX / 8) {
        bad(src, "needs a whole number of bytes >= %zu, not '%s'", min, text);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

/* A whole number in [min, max] for a count option. */
static int parse_count(source_t *src, const char *text, int min, int max, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || !end || *end || text[0] == '\0' || v < min || v > max) {
        bad(src, "needs a whole number from %d to %d, not '%s'", min, max, text);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_ping_interval(source_t *src, const char *text, long *out)
{
    char *end = NULL;
    errno = 0;
    long ms = strtol(text, &end, 10);
    if (errno || !end || *end || text[0] == '\0' || ms < NIMBUS_WS_PING_INTERVAL_MIN_MS ||
        ms > NIMBUS_WS_PING_INTERVAL_MAX_MS) {
        bad(src, "needs %d..%d milliseconds, not '%s'", NIMBUS_WS_PING_INTERVAL_MIN_MS,
            NIMBUS_WS_PING_INTERVAL_MAX_MS, text);
        return -1;
    }
    *out = ms;
    return 0;
}

/* Splits "host:port", "[v6]:port" into config. */
static int parse_listen(source_t *src, const char *text, nimbus_config_t *config)
{
    const char *colon;
    const char *host = text;
    size_t hostlen;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':') {
            goto bad;
        }
        host = text + 1;
        hostlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon) {
            goto bad;
        }
        hostlen = (size_t)(colon - text);
    }
    if (hostlen == 0 || hostlen >= sizeof config->listen_host) {
        goto bad;
    }
    char *end = NULL;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || !end || *end || colon[1] == '\0' || port < 0 || port > 65535) {
        goto bad;
    }
    memcpy(config->listen_host, host, hostlen);
    config->listen_host[hostlen] = '\0';
    config->listen_port = (int)port;
    return 0;
bad:
    bad(src, "needs HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), not '%s'", text);
    return -1;
}

static int copy_text(source_t *src, const char *text, char *dst, size_t size)
{
    if (strlen(text) >= size) {
        bad(src, "value is too long");
        return -1;
    }
    strcpy(dst, text);
    return 0;
}

enum {
    OPT_LISTEN = 1000,
    OPT_WORKERS,
    OPT_DB,
    OPT_MAX_BODY,
    OPT_MAX_WS,
    OPT_WS_QUEUE,
    OPT_SOAP_MAX_DEPTH,
    OPT_SOAP_MAX_ATTRIBUTES,
    OPT_SOAP_MAX_NAMESPACES,
    OPT_WS_PING,
    OPT_RENDER_CACHE,
    OPT_MAX_CONNECTIONS,
    OPT_MAX_CONNECTIONS_PER_CLIENT,
    OPT_REQUEST_TIMEOUT,
    OPT_MIN_BODY_RATE,
    OPT_IDLE_TIMEOUT,
    OPT_RATE,
    OPT_MAX_SUBS,
    OPT_RETENTION,
    OPT_SHUTDOWN_GRACE,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_BURST,
    OPT_KEY,
    OPT_KEYS,
    OPT_OPEN,
    OPT_CORS,
    OPT_STATIC,
    OPT_DEMO,
    OPT_DEMO_RESEED,
    OPT_PORT_FILE,
    OPT_SOAP_SUNSET,
    OPT_SOAP_SUNSET_LINK,
    OPT_FOLLOW_POLL,
    OPT_TRUSTED_PROXY,
    OPT_PUBLIC_URL,
    OPT_QUIET,
    OPT_LOG_FILE,
    OPT_LOG_FORMAT,
    OPT_CONFIG,
    OPT_HELP,
    OPT_VERSION
};

static const struct option options[] = {
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"db", required_argument, NULL, OPT_DB},
    {"max-body", required_argument, NULL, OPT_MAX_BODY},
    {"max-ws-message", required_argument, NULL, OPT_MAX_WS},
    {"ws-queue", required_argument, NULL, OPT_WS_QUEUE},
    {"soap-max-depth", required_argument, NULL, OPT_SOAP_MAX_DEPTH},
    {"soap-max-attributes", required_argument, NULL, OPT_SOAP_MAX_ATTRIBUTES},
    {"soap-max-namespaces", required_argument, NULL, OPT_SOAP_MAX_NAMESPACES},
    {"ws-ping-interval", required_argument, NULL, OPT_WS_PING},
    {"render-cache", required_argument, NULL, OPT_RENDER_CACHE},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
    {"max-connections-per-client", required_argument, NULL, OPT_MAX_CONNECTIONS_PER_CLIENT},
    {"request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT},
    {"min-body-rate", required_argument, NULL, OPT_MIN_BODY_RATE},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"rate", required_argument, NULL, OPT_RATE},
    {"max-subscriptions-per-key", required_argument, NULL, OPT_MAX_SUBS},
    {"retention", required_argument, NULL, OPT_RETENTION},
    {"shutdown-grace", required_argument, NULL, OPT_SHUTDOWN_GRACE},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"burst", required_argument, NULL, OPT_BURST},
    {"api-key", required_argument, NULL, OPT_KEY},
    {"keys", required_argument, NULL, OPT_KEYS},
    {"open", no_argument, NULL, OPT_OPEN},
    {"cors-origin", required_argument, NULL, OPT_CORS},
    {"static-dir", required_argument, NULL, OPT_STATIC},
    {"demo", no_argument, NULL, OPT_DEMO},
    {"demo-reseed", no_argument, NULL, OPT_DEMO_RESEED},
    {"port-file", required_argument, NULL, OPT_PORT_FILE},
    {"soap-sunset", required_argument, NULL, OPT_SOAP_SUNSET},
    {"soap-sunset-link", required_argument, NULL, OPT_SOAP_SUNSET_LINK},
    {"follow-poll", required_argument, NULL, OPT_FOLLOW_POLL},
    {"trusted-proxy", required_argument, NULL, OPT_TRUSTED_PROXY},
    {"public-url", required_argument, NULL, OPT_PUBLIC_URL},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"log-file", required_argument, NULL, OPT_LOG_FILE},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};
#define OPTION_COUNT (sizeof options / sizeof options[0] - 1)

static void defaults(nimbus_config_t *config)
{
    memset(config, 0, sizeof *config);
    source_t src = {.name = "listen"};
    (void)parse_listen(&src, NIMBUS_DEFAULT_LISTEN, config);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    config->workers =
        cores > 0 ? (int)(cores < NIMBUS_MAX_WORKERS ? cores : NIMBUS_MAX_WORKERS) : 1;
    strcpy(config->db_path, NIMBUS_DEFAULT_DB);
    config->max_body = NIMBUS_DEFAULT_MAX_BODY;
    config->max_ws_message = NIMBUS_DEFAULT_MAX_WS_MESSAGE;
    config->ws_queue_max = NIMBUS_DEFAULT_WS_QUEUE;
    config->soap_max_depth = NIMBUS_DEFAULT_SOAP_MAX_DEPTH;
    config->soap_max_attributes = NIMBUS_DEFAULT_SOAP_MAX_ATTRIBUTES;
    config->soap_max_namespaces = NIMBUS_DEFAULT_SOAP_MAX_NAMESPACES;
    config->ws_ping_interval_ms = NIMBUS_DEFAULT_WS_PING_INTERVAL_MS;
    config->render_cache = NIMBUS_DEFAULT_RENDER_CACHE;
    struct rlimit nofile;
    config->max_connections =
        getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY
            ? (nofile.rlim_cur > 128 ? (size_t)nofile.rlim_cur - 64 : (size_t)nofile.rlim_cur / 2)
            : 0;
    config->max_connections_per_client = NIMBUS_DEFAULT_MAX_CONNECTIONS_PER_CLIENT;
    config->request_timeout_ms = NIMBUS_DEFAULT_REQUEST_TIMEOUT_S * 1000L;
    config->min_body_rate = NIMBUS_DEFAULT_MIN_BODY_RATE;
    config->idle_timeout_s = NIMBUS_DEFAULT_IDLE_TIMEOUT_S;
    config->shutdown_grace_s = NIMBUS_DEFAULT_SHUTDOWN_GRACE_S;
    config->max_subscriptions_per_key = NIMBUS_DEFAULT_MAX_SUBSCRIPTIONS_PER_KEY;
    config->retention_s = -1;
    config->access_log = true;
}

/* Sets option id to arg (NULL for a flag; on false a flag is cleared: only
 * the file says so). 0, or -1 with src->msg. */
static int apply(nimbus_config_t *config, int id, const char *arg, bool on, source_t *src)
{
    switch (id) {
    case OPT_LISTEN:
        return parse_listen(src, arg, config);
    case OPT_WORKERS: {
        char *end = NULL;
        errno = 0;
        long n = strtol(arg, &end, 10);
        if (errno || !end || *end || arg[0] == '\0' || n < 1 || n > NIMBUS_MAX_WORKERS) {
            bad(src, "needs 1..%d, not '%s'", NIMBUS_MAX_WORKERS, arg);
            return -1;
        }
        config->workers = (int)n;
        return 0;
    }
    case OPT_DB:
        return copy_text(src, arg, config->db_path, sizeof config->db_path);
    case OPT_MAX_BODY:
        return parse_size(src, arg, 1024, &config->max_body);
    case OPT_MAX_WS:
        return parse_size(src, arg, 1024, &config->max_ws_message);
    case OPT_WS_QUEUE:
        return parse_size(src, arg, 4096, &config->ws_queue_max);
    case OPT_SOAP_MAX_DEPTH:
        /* 5 is the deepest request a client sends (see nimbus_http.h) */
        return parse_count(src, arg, 5, NIMBUS_SOAP_MAX_DEPTH_CAP, &config->soap_max_depth);
    case OPT_SOAP_MAX_ATTRIBUTES:
        return parse_count(src, arg, 1, 65535, &config->soap_max_attributes);
    case OPT_SOAP_MAX_NAMESPACES:
        return parse_count(src, arg, 1, 65535, &config->soap_max_namespaces);
    case OPT_SOAP_SUNSET:
    case OPT_SOAP_SUNSET_LINK: {
        char why[600];
        if (nimbus__sunset_option(id == OPT_SOAP_SUNSET, arg, config, why, sizeof why) != 0) {
            bad(src, "%s", why);
            return -1;
        }
        return 0;
    }
    case OPT_TRUSTED_PROXY:
    case OPT_PUBLIC_URL: {
        char why[200];
        int rc = id == OPT_PUBLIC_URL
                     ? nimbus_public_url_parse(arg, config->public_url, sizeof config->public_url,
                                               why, sizeof why)
                     : nimbus_cidr_list_add(config->trusted_proxies, NIMBUS_MAX_TRUSTED_PROXIES,
                                            &config->trusted_proxy_count, arg, why, sizeof why);
        if (rc != 0) {
            bad(src, ": %s", why);
            return -1;
        }
        return 0;
    }
    case OPT_FOLLOW_POLL: {
        char *end = NULL;
        errno = 0;
        long ms = strtol(arg, &end, 10);
        if (errno || !end || *end || arg[0] == '\0' || ms < 10 || ms > 600000) {
            bad(src, "needs 10..600000 milliseconds, not '%s'", arg);
            return -1;
        }
        config->follow_poll_ms = ms;
        return 0;
    }
    case OPT_MAX_CONNECTIONS:
        return parse_size(src, arg, 0, &config->max_connections);
    case OPT_MAX_SUBS:
        return parse_size(src, arg, 0, &config->max_subscriptions_per_key);
    case OPT_MAX_CONNECTIONS_PER_CLIENT:
        return parse_size(src, arg, 0, &config->max_connections_per_client);
    case OPT_REQUEST_TIMEOUT:
    case OPT_IDLE_TIMEOUT:
    case OPT_SHUTDOWN_GRACE: {
        char *end = NULL;
        errno = 0;
        long v = strtol(arg, &end, 10);
        if (errno || !end || *end || arg[0] == '\0' || v < 1 || v > 86400) {
            bad(src, "needs 1..86400 seconds, not '%s'", arg);
            return -1;
        }
        if (id == OPT_REQUEST_TIMEOUT) {
            config->request_timeout_ms = v * 1000;
        } else if (id == OPT_IDLE_TIMEOUT) {
            config->idle_timeout_s = v;
        } else {
            config->shutdown_grace_s = v;
        }
        return 0;
    }
    case OPT_RETENTION: {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(arg, &end, 10);
        long long unit = !end || !*end           ? 1
                         : strcmp(end, "s") == 0 ? 1
                         : strcmp(end, "m") == 0 ? 60
                         : strcmp(end, "h") == 0 ? 3600
                         : strcmp(end, "d") == 0 ? 86400
                                                 : 0;
        if (errno || arg[0] == '\0' || arg[0] == '-' || !unit || v < 0 ||
            v > 100LL * 365 * 86400 / unit) {
            bad(src, "needs an age such as 30d, 12h, 90m or 3600s (0: keep all), not '%s'", arg);
            return -1;
        }
        config->retention_s = v * unit;
        return 0;
    }
    case OPT_TLS_CERT:
        return copy_text(src, arg, config->tls_cert, sizeof config->tls_cert);
    case OPT_TLS_KEY:
        return copy_text(src, arg, config->tls_key, sizeof config->tls_key);
    case OPT_RATE:
    case OPT_BURST: {
        char *end = NULL;
        errno = 0;
        double v = strtod(arg, &end);
        if (errno || !end || *end || arg[0] == '\0' || !(v >= 0) || v > 1e9) {
            bad(src, "needs a number from 0 to 1e9, not '%s'", arg);
            return -1;
        }
        *(id == OPT_RATE ? &config->rate : &config->burst) = v;
        return 0;
    }
    case OPT_MIN_BODY_RATE:
        return parse_size(src, arg, 0, &config->min_body_rate);
    case OPT_RENDER_CACHE:
        return parse_size(src, arg, 0, &config->render_cache);
    case OPT_WS_PING:
        return parse_ping_interval(src, arg, &config->ws_ping_interval_ms);
    case OPT_KEY:
        if (config->api_key_count >= NIMBUS_KEYS_MAX) {
            bad(src, "is given more than %d times", NIMBUS_KEYS_MAX);
            return -1;
        }
        if (copy_text(src, arg, config->api_keys[config->api_key_count],
                      sizeof config->api_keys[0])) {
            return -1;
        }
        config->api_key_count++;
        return 0;
    case OPT_KEYS:
        return copy_text(src, arg, config->keys_file, sizeof config->keys_file);
    case OPT_OPEN:
        config->open = on;
        return 0;
    case OPT_CORS:
        return copy_text(src, arg, config->cors_origins, sizeof config->cors_origins);
    case OPT_STATIC:
        return copy_text(src, arg, config->static_dir, sizeof config->static_dir);
    case OPT_DEMO:
        config->demo = on;
        return 0;
    case OPT_DEMO_RESEED:
        config->demo_force = on;
        return 0;
    case OPT_PORT_FILE:
        return copy_text(src, arg, config->port_file, sizeof config->port_file);
    case OPT_QUIET:
        config->access_log = !on;
        return 0;
    case OPT_LOG_FILE:
        return copy_text(src, arg, config->log_file, sizeof config->log_file);
    case OPT_LOG_FORMAT:
        if (!nimbus_log_format_from_name(arg, &config->log_format)) {
            bad(src, "needs text or json, not '%s'", arg);
            return -1;
        }
        return 0;
    case OPT_CONFIG:
        return copy_text(src, arg, config->config_file, sizeof config->config_file);
    default:
        bad(src, "cannot be set here");
        return -1;
    }
}

/* ---- the configuration file --------------------------------------------- */

/* The longest line inih (Debian's build) reads whole, without its newline:
 * its buffer is INI_MAX_LINE bytes with room for "\r\n" and the NUL. */
#define FILE_LINE_MAX (INI_MAX_LINE - 3)

typedef struct file_ctx {
    FILE *f;
    nimbus_config_t *config;
    source_t src;
    int first_line[OPTION_COUNT]; /* where each setting was made; 0: not yet */
    int failed_line;              /* the line of src.msg; 0: no mistake yet */
} file_ctx_t;

static void file_fail(file_ctx_t *c)
{
    if (!c->failed_line) {
        c->failed_line = c->src.line;
    }
}

/* inih's reader: one whole line at a time, so that src.line is the line of
 * the setting inih hands over next; a line longer than inih reads is a
 * mistake here rather than a value inih would cut short. Ends the file at
 * the first mistake. */
static char *file_line(char *str, int num, void *stream)
{
    file_ctx_t *c = stream;
    if (c->failed_line) {
        return NULL;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, c->f);
    if (n < 0) {
        free(line);
        return NULL;
    }
    c->src.line++;
    size_t len = (size_t)n;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
        line[--len] = '\0';
    }
    if (len > FILE_LINE_MAX || len + 2 > (size_t)num) {
        snprintf(c->src.msg, sizeof c->src.msg, "%s:%d: line longer than %d characters",
                 c->src.file, c->src.line, FILE_LINE_MAX);
        file_fail(c);
        free(line);
        return NULL;
    }
    memcpy(str, line, len);
    str[len] = '\n';
    str[len + 1] = '\0';
    free(line);
    return str;
}

static int parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static int file_setting(void *user, const char *section, const char *name, const char *value)
{
    file_ctx_t *c = user;
    if (c->failed_line) {
        return 1;
    }
    c->src.name = name;
    if (*section && strcmp(section, "nimbus") != 0) {
        snprintf(c->src.msg, sizeof c->src.msg,
                 "%s:%d: unknown section [%s]: settings go at the top or under [nimbus]",
                 c->src.file, c->src.line, section);
        file_fail(c);
        return 0;
    }
    size_t i = 0;
    while (i < OPTION_COUNT && strcmp(options[i].name, name) != 0) {
        i++;
    }
    int id = i < OPTION_COUNT ? options[i].val : 0;
    if (id == OPT_CONFIG) {
        bad(&c->src, "cannot be set in a configuration file");
    } else if (id == 0 || id == OPT_HELP || id == OPT_VERSION) {
        snprintf(c->src.msg, sizeof c->src.msg,
                 "%s:%d: unknown setting '%s' (settings are the long options of nimbus --help, "
                 "without the dashes)",
                 c->src.file, c->src.line, name);
    } else if (c->first_line[i] && id != OPT_KEY && id != OPT_TRUSTED_PROXY) {
        bad(&c->src, "is set twice (first on line %d)", c->first_line[i]);
    } else if (*value == '\0') {
        bad(&c->src, "needs a value");
    } else {
        c->first_line[i] = c->src.line;
        bool on = true;
        if (options[i].has_arg == no_argument && parse_bool(value, &on) != 0) {
            bad(&c->src, "needs true or false, not '%s'", value);
        } else if (apply(c->config, id, options[i].has_arg == no_argument ? NULL : value, on,
                         &c->src) == 0) {
            return 1;
        }
    }
    file_fail(c);
    return 0;
}

/* The settings of the file at path over what config holds. 0, or -1 with
 * the mistake logged. */
static int read_file(const char *path, nimbus_config_t *config)
{
    file_ctx_t *c = calloc(1, sizeof *c);
    if (!c) {
        nimbus_log(NIMBUS_LOG_ERROR, "out of memory");
        return -1;
    }
    c->config = config;
    c->src.file = path;
    c->f = fopen(path, "re");
    if (!c->f) {
        nimbus_log(NIMBUS_LOG_ERROR, "cannot read configuration file %s: %s", path,
                   strerror(errno));
        free(c);
        return -1;
    }
    /* Debian's libinih lets these be chosen at run time: values are taken
     * as written (a ';' in a value is no comment) and an indented line is
     * a setting of its own, not the previous value continued. */
    ini_allow_inline_comments = false;
    ini_allow_multiline = false;
    int rc = ini_parse_stream(file_line, c, file_setting, c);
    if (rc == 0 && !c->failed_line && ferror(c->f)) {
        snprintf(c->src.msg, sizeof c->src.msg, "cannot read configuration file %s", path);
        c->failed_line = -1;
    }
    fclose(c->f);
    /* inih's own mistakes (a line that is no setting, section or comment)
     * never reach file_setting: it returns the first one's line. */
    if (rc > 0 && (!c->failed_line || rc < c->failed_line)) {
        snprintf(c->src.msg, sizeof c->src.msg,
                 "%s:%d: not a setting (name = value), a [section] or a comment", path, rc);
        c->failed_line = rc;
    } else if (rc < 0 && !c->failed_line) {
        snprintf(c->src.msg, sizeof c->src.msg, "cannot read configuration file %s", path);
        c->failed_line = -1;
    }
    int result = 0;
    if (c->failed_line) {
        nimbus_log(NIMBUS_LOG_ERROR, "%s", c->src.msg);
        result = -1;
    }
    free(c);
    return result;
}

int nimbus__config_read(const char *path, nimbus_config_t *config)
{
    defaults(config);
    source_t src = {.name = "config"};
    if (copy_text(&src, path, config->config_file, sizeof config->config_file) != 0) {
        nimbus_log(NIMBUS_LOG_ERROR, "%s", src.msg);
        return -1;
    }
    return read_file(path, config);
}

/* ---- the command line --------------------------------------------------- */

int nimbus__options_parse(int argc, char **argv, nimbus_config_t *config)
{
    defaults(config);
    /* Version 1 read the interval from the environment only (documented in
     * docs/streaming.md then); deployments that set it keep it, and the
     * option or the file, when given, wins. */
    const char *env_ping = getenv("NIMBUS_WS_PING_INTERVAL_MS");
    if (env_ping && *env_ping) {
        source_t src = {.name = "NIMBUS_WS_PING_INTERVAL_MS", .env = true};
        if (parse_ping_interval(&src, env_ping, &config->ws_ping_interval_ms) != 0) {
            nimbus_log(NIMBUS_LOG_ERROR, "%s", src.msg);
            return -1;
        }
    }

    /* First pass: only --config (and whether --help or --version makes the
     * rest moot), so that the file is read before the command line. */
    optind = 1;
    opterr = 0;
    int c;
    const char *config_file = NULL;
    bool asked = false;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c == OPT_CONFIG) {
            if (config_file) {
                nimbus_log(NIMBUS_LOG_ERROR, "--config is given twice");
                return -1;
            }
            config_file = optarg;
        } else if (c == OPT_HELP || c == OPT_VERSION) {
            asked = true;
        }
    }
    if (config_file && !asked) {
        source_t src = {.name = "config"};
        if (copy_text(&src, config_file, config->config_file, sizeof config->config_file) != 0) {
            nimbus_log(NIMBUS_LOG_ERROR, "%s", src.msg);
            return -1;
        }
        if (read_file(config_file, config) != 0) {
            return -1;
        }
    }

    optind = 1;
    opterr = 0;
    bool keys_from_command_line = false, proxies_from_command_line = false;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        const char *arg = optarg;
        source_t src = {0};
        int index = -1;
        for (size_t i = 0; i < OPTION_COUNT; i++) {
            if (options[i].val == c) {
                index = (int)i;
            }
        }
        src.name = index >= 0 ? options[index].name : "?";
        /* A repeatable option's values on the command line replace the
         * file's rather than add to them. */
        if (c == OPT_KEY && !keys_from_command_line) {
            keys_from_command_line = true;
            config->api_key_count = 0;
        } else if (c == OPT_TRUSTED_PROXY && !proxies_from_command_line) {
            proxies_from_command_line = true;
            config->trusted_proxy_count = 0;
        }
        switch (c) {
        case OPT_CONFIG:
            break; /* read above */
        case OPT_HELP:
            usage(stdout);
            return 1;
        case OPT_VERSION:
            printf("nimbus %s\n"
                   "License GPL-3.0-or-later: GNU GPL version 3 or later "
                   "<https://gnu.org/licenses/gpl.html>.\n"
                   "This is free software: you are free to change and redistribute it.\n"
                   "There is NO WARRANTY, to the extent permitted by law.\n",
                   NIMBUS_VERSION);
            return 1;
        case '?':
        case ':':
            nimbus_log(NIMBUS_LOG_ERROR, "unknown or incomplete option '%s' (see --help)",
                       argv[optind - 1]);
            return -1;
        default:
            if (apply(config, c, arg, true, &src) != 0) {
                nimbus_log(NIMBUS_LOG_ERROR, "%s", src.msg);
                return -1;
            }
            break;
        }
    }
    if (optind < argc) {
        nimbus_log(NIMBUS_LOG_ERROR, "unexpected argument '%s' (see --help)", argv[optind]);
        return -1;
    }
    if (!*config->tls_cert != !*config->tls_key) {
        nimbus_log(NIMBUS_LOG_ERROR, "--tls-cert and --tls-key go together");
        return -1;
    }
    if (config->demo_force && !config->demo) {
        nimbus_log(NIMBUS_LOG_ERROR, "--demo-reseed goes with --demo");
        return -1;
    }
    if (*config->soap_sunset_link && !config->soap_sunset) {
        nimbus_log(NIMBUS_LOG_ERROR, "--soap-sunset-link goes with --soap-sunset");
        return -1;
    }
    return 0;
}
