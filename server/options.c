/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Command-line options of `nimbus`. Every setting has a default that is safe
 * on a developer's machine (loopback, one database under ./var/), and every
 * value is checked here so that the server never starts half-configured.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "server_internal.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "Usage: nimbus [OPTIONS]\n"
        "Weather-station observation service: SOAP (POST /soap, WSDL at GET /soap?wsdl),\n"
        "REST + JSON (/v1/...), WebSocket streaming (GET /v1/stream) on one HTTP port.\n"
        "\n"
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
        "  --shutdown-grace S     at SIGTERM, the longest wait for answers in flight\n"
        "                         (default 10)\n"
        "  --retention AGE        delete observations whose observedAt is older than AGE\n"
        "                         (30d, 12h, 90m, 3600s; default: keep all; with\n"
        "                         --demo: 3d)\n"
        "  --render-cache BYTES   rendered answers each worker keeps for reads that\n"
        "                         repeat (default 16777216; 0 keeps none)\n"
        "  --ws-ping-interval MS  ping a silent WebSocket after MS milliseconds; drop it\n"
        "                         after two silent intervals (default 30000)\n"
        "  --api-key NAME:SECRET:ROLE\n"
        "                         add an API key (role: read, write or admin); repeatable.\n"
        "                         With no keys the server is open to everyone.\n"
        "  --open                 allow a server without keys to listen beyond loopback\n"
        "  --cors-origin LIST     origins allowed to GET cross-site, comma-separated, or *\n"
        "  --static-dir DIR       dashboard files served at / (default: the built-in ones)\n"
        "  --demo                 seed demo stations if the database has none, then\n"
        "                         record plausible observations every few seconds\n"
        "                         (a database that holds stations is left alone)\n"
        "  --demo-reseed          with --demo: seed even if the database holds stations\n");
    /* A second string: C99 promises string literals of 4095 bytes only. */
    fputs("  --trusted-proxy CIDR   believe Forwarded and X-Forwarded-For/-Proto/-Host from\n"
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
          "  --help                 this text\n"
          "  --version              the version\n",
          out);
}

static int parse_size(const char *opt, const char *text, size_t min, size_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || !end || *end || text[0] == '-' || text[0] == '\0' || v < min ||
        v > (unsigned long long)SIZE_MAX / 8) {
        fprintf(stderr, "nimbus: %s needs a whole number of bytes >= %zu, not '%s'\n", opt, min,
                text);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

/* A whole number in [min, max] for a count option. */
static int parse_count(const char *opt, const char *text, int min, int max, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || !end || *end || text[0] == '\0' || v < min || v > max) {
        fprintf(stderr, "nimbus: %s needs a whole number from %d to %d, not '%s'\n", opt, min, max,
                text);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_ping_interval(const char *name, const char *text, long *out)
{
    char *end = NULL;
    errno = 0;
    long ms = strtol(text, &end, 10);
    if (errno || !end || *end || text[0] == '\0' || ms < NIMBUS_WS_PING_INTERVAL_MIN_MS ||
        ms > NIMBUS_WS_PING_INTERVAL_MAX_MS) {
        fprintf(stderr, "nimbus: %s needs %d..%d milliseconds, not '%s'\n", name,
                NIMBUS_WS_PING_INTERVAL_MIN_MS, NIMBUS_WS_PING_INTERVAL_MAX_MS, text);
        return -1;
    }
    *out = ms;
    return 0;
}

/* Splits "host:port", "[v6]:port" into config. */
static int parse_listen(const char *text, nimbus_config_t *config)
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
    fprintf(stderr,
            "nimbus: --listen needs HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), not '%s'\n",
            text);
    return -1;
}

static int copy_text(const char *opt, const char *text, char *dst, size_t size)
{
    if (strlen(text) >= size) {
        fprintf(stderr, "nimbus: %s value is too long\n", opt);
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
    OPT_FOLLOW_POLL,
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
    OPT_TRUSTED_PROXY,
    OPT_PUBLIC_URL,
    OPT_BURST,
    OPT_KEY,
    OPT_OPEN,
    OPT_CORS,
    OPT_STATIC,
    OPT_DEMO,
    OPT_DEMO_RESEED,
    OPT_PORT_FILE,
    OPT_SOAP_SUNSET,
    OPT_SOAP_SUNSET_LINK,
    OPT_QUIET,
    OPT_HELP,
    OPT_VERSION
};

int nimbus__options_parse(int argc, char **argv, nimbus_config_t *config, const char **keys,
                          int *key_count)
{
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
        {"follow-poll", required_argument, NULL, OPT_FOLLOW_POLL},
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
        {"trusted-proxy", required_argument, NULL, OPT_TRUSTED_PROXY},
        {"public-url", required_argument, NULL, OPT_PUBLIC_URL},
        {"burst", required_argument, NULL, OPT_BURST},
        {"api-key", required_argument, NULL, OPT_KEY},
        {"open", no_argument, NULL, OPT_OPEN},
        {"cors-origin", required_argument, NULL, OPT_CORS},
        {"static-dir", required_argument, NULL, OPT_STATIC},
        {"demo", no_argument, NULL, OPT_DEMO},
        {"demo-reseed", no_argument, NULL, OPT_DEMO_RESEED},
        {"port-file", required_argument, NULL, OPT_PORT_FILE},
        {"soap-sunset", required_argument, NULL, OPT_SOAP_SUNSET},
        {"soap-sunset-link", required_argument, NULL, OPT_SOAP_SUNSET_LINK},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    memset(config, 0, sizeof *config);
    *key_count = 0;
    (void)parse_listen(NIMBUS_DEFAULT_LISTEN, config);
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
    /* Version 1 read the interval from the environment only (documented in
     * docs/streaming.md then); deployments that set it keep it, and the
     * option, when given, wins. */
    const char *env_ping = getenv("NIMBUS_WS_PING_INTERVAL_MS");
    if (env_ping && *env_ping &&
        parse_ping_interval("NIMBUS_WS_PING_INTERVAL_MS", env_ping, &config->ws_ping_interval_ms)) {
        return -1;
    }
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

    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        const char *arg = optarg;
        switch (c) {
        case OPT_LISTEN:
            if (parse_listen(arg, config)) {
                return -1;
            }
            break;
        case OPT_WORKERS: {
            char *end = NULL;
            long n = strtol(arg, &end, 10);
            if (!end || *end || n < 1 || n > NIMBUS_MAX_WORKERS) {
                fprintf(stderr, "nimbus: --workers needs 1..%d, not '%s'\n", NIMBUS_MAX_WORKERS,
                        arg);
                return -1;
            }
            config->workers = (int)n;
            break;
        }
        case OPT_DB:
            if (copy_text("--db", arg, config->db_path, sizeof config->db_path)) {
                return -1;
            }
            break;
        case OPT_MAX_BODY:
            if (parse_size("--max-body", arg, 1024, &config->max_body)) {
                return -1;
            }
            break;
        case OPT_MAX_WS:
            if (parse_size("--max-ws-message", arg, 1024, &config->max_ws_message)) {
                return -1;
            }
            break;
        case OPT_WS_QUEUE:
            if (parse_size("--ws-queue", arg, 4096, &config->ws_queue_max)) {
                return -1;
            }
            break;
        case OPT_SOAP_MAX_DEPTH:
            /* 5 is the deepest request a client sends (see nimbus_http.h) */
            if (parse_count("--soap-max-depth", arg, 5, NIMBUS_SOAP_MAX_DEPTH_CAP,
                            &config->soap_max_depth)) {
                return -1;
            }
            break;
        case OPT_SOAP_MAX_ATTRIBUTES:
            if (parse_count("--soap-max-attributes", arg, 1, 65535, &config->soap_max_attributes)) {
                return -1;
            }
            break;
        case OPT_SOAP_MAX_NAMESPACES:
            if (parse_count("--soap-max-namespaces", arg, 1, 65535, &config->soap_max_namespaces)) {
                return -1;
            }
            break;
        case OPT_MAX_CONNECTIONS:
            if (parse_size("--max-connections", arg, 0, &config->max_connections)) {
                return -1;
            }
            break;
        case OPT_MAX_SUBS:
            if (parse_size("--max-subscriptions-per-key", arg, 0,
                           &config->max_subscriptions_per_key)) {
                return -1;
            }
            break;
        case OPT_MAX_CONNECTIONS_PER_CLIENT:
            if (parse_size("--max-connections-per-client", arg, 0,
                           &config->max_connections_per_client)) {
                return -1;
            }
            break;
        case OPT_REQUEST_TIMEOUT:
        case OPT_IDLE_TIMEOUT:
        case OPT_SHUTDOWN_GRACE: {
            const char *name = c == OPT_REQUEST_TIMEOUT ? "--request-timeout"
                               : c == OPT_IDLE_TIMEOUT  ? "--idle-timeout"
                                                        : "--shutdown-grace";
            char *end = NULL;
            errno = 0;
            long v = strtol(arg, &end, 10);
            if (errno || !end || *end || arg[0] == '\0' || v < 1 || v > 86400) {
                fprintf(stderr, "nimbus: %s needs 1..86400 seconds, not '%s'\n", name, arg);
                return -1;
            }
            if (c == OPT_REQUEST_TIMEOUT) {
                config->request_timeout_ms = v * 1000;
            } else if (c == OPT_IDLE_TIMEOUT) {
                config->idle_timeout_s = v;
            } else {
                config->shutdown_grace_s = v;
            }
            break;
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
                fprintf(stderr,
                        "nimbus: --retention needs an age such as 30d, 12h, 90m or 3600s "
                        "(0: keep all), not '%s'\n",
                        arg);
                return -1;
            }
            config->retention_s = v * unit;
            break;
        }
        case OPT_TLS_CERT:
            if (copy_text("--tls-cert", arg, config->tls_cert, sizeof config->tls_cert)) {
                return -1;
            }
            break;
        case OPT_TLS_KEY:
            if (copy_text("--tls-key", arg, config->tls_key, sizeof config->tls_key)) {
                return -1;
            }
            break;
        case OPT_TRUSTED_PROXY:
        case OPT_PUBLIC_URL: {
            char why[200];
            int rc = c == OPT_PUBLIC_URL
                         ? nimbus_public_url_parse(arg, config->public_url,
                                                   sizeof config->public_url, why, sizeof why)
                         : nimbus_cidr_list_add(config->trusted_proxies, NIMBUS_MAX_TRUSTED_PROXIES,
                                                &config->trusted_proxy_count, arg, why, sizeof why);
            if (rc != 0) {
                fprintf(stderr, "nimbus: %s: %s\n",
                        c == OPT_PUBLIC_URL ? "--public-url" : "--trusted-proxy", why);
                return -1;
            }
            break;
        }
        case OPT_RATE:
        case OPT_BURST: {
            const char *name = c == OPT_RATE ? "--rate" : "--burst";
            char *end = NULL;
            errno = 0;
            double v = strtod(arg, &end);
            if (errno || !end || *end || arg[0] == '\0' || !(v >= 0) || v > 1e9) {
                fprintf(stderr, "nimbus: %s needs a number from 0 to 1e9, not '%s'\n", name, arg);
                return -1;
            }
            *(c == OPT_RATE ? &config->rate : &config->burst) = v;
            break;
        }
        case OPT_MIN_BODY_RATE:
            if (parse_size("--min-body-rate", arg, 0, &config->min_body_rate)) {
                return -1;
            }
            break;
        case OPT_RENDER_CACHE:
            if (parse_size("--render-cache", arg, 0, &config->render_cache)) {
                return -1;
            }
            break;
        case OPT_WS_PING:
            if (parse_ping_interval("--ws-ping-interval", arg, &config->ws_ping_interval_ms)) {
                return -1;
            }
            break;
        case OPT_FOLLOW_POLL: {
            char *end = NULL;
            errno = 0;
            long ms = strtol(arg, &end, 10);
            if (errno || !end || *end || arg[0] == '\0' || ms < 10 || ms > 600000) {
                fprintf(stderr, "nimbus: --follow-poll needs 10..600000 milliseconds, not '%s'\n",
                        arg);
                return -1;
            }
            config->follow_poll_ms = ms;
            break;
        }
        case OPT_KEY:
            if (*key_count >= NIMBUS_MAX_KEYS) {
                fprintf(stderr, "nimbus: at most %d --api-key options\n", NIMBUS_MAX_KEYS);
                return -1;
            }
            keys[(*key_count)++] = arg;
            break;
        case OPT_OPEN:
            config->open = true;
            break;
        case OPT_CORS:
            if (copy_text("--cors-origin", arg, config->cors_origins,
                          sizeof config->cors_origins)) {
                return -1;
            }
            break;
        case OPT_STATIC:
            if (copy_text("--static-dir", arg, config->static_dir, sizeof config->static_dir)) {
                return -1;
            }
            break;
        case OPT_DEMO:
            config->demo = true;
            break;
        case OPT_DEMO_RESEED:
            config->demo_force = true;
            break;
        case OPT_PORT_FILE:
            if (copy_text("--port-file", arg, config->port_file, sizeof config->port_file)) {
                return -1;
            }
            break;
        case OPT_SOAP_SUNSET:
        case OPT_SOAP_SUNSET_LINK:
            if (nimbus__sunset_option(c == OPT_SOAP_SUNSET, arg, config) != 0) {
                return -1;
            }
            break;
        case OPT_QUIET:
            config->access_log = false;
            break;
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
        default:
            fprintf(stderr, "nimbus: unknown or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "nimbus: unexpected argument '%s' (see --help)\n", argv[optind]);
        return -1;
    }
    if (!*config->tls_cert != !*config->tls_key) {
        fprintf(stderr, "nimbus: --tls-cert and --tls-key go together\n");
        return -1;
    }
    if (*config->soap_sunset_link && !config->soap_sunset) {
        fprintf(stderr, "nimbus: --soap-sunset-link goes with --soap-sunset\n");
        return -1;
    }
    if (config->demo_force && !config->demo) {
        fprintf(stderr, "nimbus: --demo-reseed goes with --demo\n");
        return -1;
    }
    return 0;
}
