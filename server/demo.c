/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Demo data for `nimbus --demo`: twenty-odd stations in real cities at their
 * real coordinates, a day of hourly history so weather summaries mean
 * something at once, and a feeder on worker 0's loop that records a
 * plausible observation for one station every quarter second (so each
 * station reports every few seconds, and the writes are spread out instead
 * of arriving as one burst).
 *
 * The demo goes through the same core operations as any client, with
 * NIMBUS_CRED_TRUSTED credentials, so it obeys every rule and its
 * observations are streamed like everyone else's. It never touches a
 * database that already holds stations unless --demo-reseed asks it to:
 * not to seed, and not to feed. A database it seeded carries the "demo"
 * mark (nimbus_core_set_mark), so a later --demo run resumes feeding it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server_internal.h"

#define DEMO_TICK_MS 250
#define DEMO_HISTORY_HOURS 24
#define DEMO_PI 3.14159265358979323846

typedef struct demo_site {
    const char *id;
    const char *name;
    const char *city;
    const char *country;
    double latitude;
    double longitude;
    double elevation;
} demo_site_t;

static const demo_site_t demo_sites[] = {
    {"london-heathrow", "London Heathrow", "London", "GB", 51.4700, -0.4543, 25},
    {"london-city", "London City Airport", "London", "GB", 51.5048, 0.0495, 6},
    {"paris-montsouris", "Paris Montsouris", "Paris", "FR", 48.8222, 2.3364, 75},
    {"berlin-tempelhof", "Berlin Tempelhof", "Berlin", "DE", 52.4675, 13.4021, 48},
    {"madrid-retiro", "Madrid Retiro", "Madrid", "ES", 40.4117, -3.6781, 667},
    {"rome-ciampino", "Roma Ciampino", "Rome", "IT", 41.7994, 12.5949, 129},
    {"reykjavik", "Reykjav\xc3\xadk", "Reykjav\xc3\xadk", "IS", 64.1275, -21.9028, 52},
    {"nyc-central-park", "New York Central Park", "New York", "US", 40.7789, -73.9692, 42},
    {"chicago-ohare", "Chicago O'Hare", "Chicago", "US", 41.9786, -87.9048, 201},
    {"la-downtown", "Los Angeles Downtown", "Los Angeles", "US", 34.0511, -118.2353, 87},
    {"toronto-pearson", "Toronto Pearson", "Toronto", "CA", 43.6772, -79.6306, 173},
    {"mexico-city", "Mexico City Tacubaya", "Mexico City", "MX", 19.4036, -99.1956, 2309},
    {"sao-paulo-mirante", "S\xc3\xa3o Paulo Mirante", "S\xc3\xa3o Paulo", "BR", -23.4962, -46.6200,
     792},
    {"buenos-aires", "Buenos Aires Observatorio", "Buenos Aires", "AR", -34.5872, -58.4838, 25},
    {"tokyo", "Tokyo Kitanomaru", "Tokyo", "JP", 35.6917, 139.7500, 25},
    {"beijing", "Beijing Nanjiao", "Beijing", "CN", 39.8061, 116.4694, 31},
    {"singapore-changi", "Singapore Changi", "Singapore", "SG", 1.3502, 103.9940, 7},
    {"sydney-observatory-hill", "Sydney Observatory Hill", "Sydney", "AU", -33.8607, 151.2050, 39},
    {"mumbai-colaba", "Mumbai Colaba", "Mumbai", "IN", 18.8967, 72.8111, 11},
    {"cairo", "Cairo International", "Cairo", "EG", 30.1219, 31.4056, 74},
    {"nairobi", "Nairobi Dagoretti", "Nairobi", "KE", -1.3019, 36.7600, 1798},
    {"cape-town", "Cape Town International", "Cape Town", "ZA", -33.9648, 18.6017, 42},
};
#define DEMO_SITE_COUNT (sizeof demo_sites / sizeof demo_sites[0])

struct nimbus_demo {
    nimbus_worker_t *worker;
    struct event *timer;
    size_t next_site;
    uint64_t rng;
    int64_t last_time[DEMO_SITE_COUNT];
};

static double rng_unit(uint64_t *state)
{
    /* xorshift64*: plenty for weather that only has to look plausible. */
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (double)((x * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* v rounded to `decimals` places, as the double nearest that decimal
 * (round(v * 10) / 10, not round(v / 0.1) * 0.1, which gives 2.4000000000000004). */
static double round_to(double v, int decimals)
{
    double scale = decimals == 0 ? 1.0 : pow(10.0, decimals);
    return round(v * scale) / scale;
}

/* A plausible observation of site at time t: temperature from latitude,
 * season and local hour, the rest around typical values, plus noise. */
static void demo_observation(const demo_site_t *site, int64_t t, uint64_t *rng,
                             nimbus_observation_t *obs)
{
    memset(obs, 0, sizeof *obs);
    strcpy(obs->station_id, site->id);
    obs->observed_at = t;
    double day_of_year = fmod((double)t / 86400.0, 365.25);
    double season = cos(2 * DEMO_PI * (day_of_year - 196) / 365.25); /* +1 mid-July */
    if (site->latitude < 0) {
        season = -season;
    }
    double local_hour = fmod((double)t / 3600.0 + site->longitude / 15.0 + 48.0, 24.0);
    double diurnal = cos(2 * DEMO_PI * (local_hour - 15.0) / 24.0); /* warmest 15:00 */
    double base = 28.0 - 0.45 * fabs(site->latitude) - site->elevation * 0.0065;
    double temp = base + 9.0 * season * fabs(site->latitude) / 60.0 + 4.0 * diurnal +
                  (rng_unit(rng) - 0.5) * 1.5;
    obs->temperature = (nimbus_opt_double_t){true, round_to(temp, 1)};
    double humidity = 65.0 - 15.0 * diurnal + (rng_unit(rng) - 0.5) * 10.0;
    humidity = humidity < 5 ? 5 : humidity > 100 ? 100 : humidity;
    obs->humidity = (nimbus_opt_double_t){true, round_to(humidity, 0)};
    double pressure = 1013.25 * exp(-site->elevation / 8434.0) + (rng_unit(rng) - 0.5) * 12.0;
    obs->pressure = (nimbus_opt_double_t){true, round_to(pressure, 1)};
    obs->wind_speed = (nimbus_opt_double_t){true, round_to(rng_unit(rng) * 9.0, 1)};
    obs->wind_direction = (nimbus_opt_double_t){true, round_to(rng_unit(rng) * 360.0, 0)};
    double rain = rng_unit(rng) < 0.12 ? rng_unit(rng) * 2.5 : 0.0;
    obs->precipitation = (nimbus_opt_double_t){true, round_to(rain, 1)};
}

static int seed_site(nimbus_service_t *svc, const demo_site_t *site, bool force, int64_t now,
                     uint64_t *rng, nimbus_error_t *err)
{
    static const nimbus_credentials_t trusted = {NIMBUS_CRED_TRUSTED, NULL, NULL};
    nimbus_station_t st;
    memset(&st, 0, sizeof st);
    strcpy(st.id, site->id);
    strcpy(st.name, site->name);
    strcpy(st.city, site->city);
    strcpy(st.country, site->country);
    st.latitude = site->latitude;
    st.longitude = site->longitude;
    st.elevation = (nimbus_opt_double_t){true, site->elevation};

    nimbus_create_station_request_t creq = {st};
    nimbus_create_station_response_t cres;
    memset(&cres, 0, sizeof cres);
    int rc = nimbus_service_create_station(svc, &trusted, &creq, &cres, err);
    nimbus_create_station_response_cleanup(&cres);
    if (rc != 0 && err->code == NIMBUS_ALREADY_EXISTS && force) {
        nimbus_update_station_request_t ureq = {NULL, st};
        nimbus_update_station_response_t ures;
        memset(&ures, 0, sizeof ures);
        rc = nimbus_service_update_station(svc, &trusted, &ureq, &ures, err);
        nimbus_update_station_response_cleanup(&ures);
    }
    if (rc != 0) {
        return -1;
    }

    nimbus_observation_t history[DEMO_HISTORY_HOURS];
    int64_t hour_start = now - now % 3600;
    for (int h = 0; h < DEMO_HISTORY_HOURS; h++) {
        demo_observation(site, hour_start - (int64_t)(DEMO_HISTORY_HOURS - 1 - h) * 3600, rng,
                         &history[h]);
    }
    nimbus_record_observations_request_t rreq = {site->id, history, DEMO_HISTORY_HOURS};
    nimbus_record_observations_response_t rres;
    memset(&rres, 0, sizeof rres);
    rc = nimbus_service_record_observations(svc, &trusted, &rreq, &rres, err);
    nimbus_record_observations_response_cleanup(&rres);
    return rc;
}

int nimbus__demo_seed(nimbus_core_t *core, bool force, bool *feed, nimbus_error_t *err)
{
    *feed = false;
    int64_t existing = 0;
    bool demo_database = false;
    if (nimbus_core_station_count(core, &existing, err) != 0 ||
        nimbus_core_get_mark(core, "demo", &demo_database, err) != 0) {
        return -1;
    }
    if (existing > 0 && !force) {
        if (demo_database) {
            /* Seeded by an earlier --demo run: carry on feeding it, so that
             * running scripts/run again shows live data again. */
            nimbus_log(NIMBUS_LOG_INFO,
                       "demo: resuming the feed of the demo database (%lld stations)",
                       (long long)existing);
            *feed = true;
            return 0;
        }
        /* Feeding would write into whichever of those stations share a demo
         * id (someone's real "cairo"), so the feeder stays off too. */
        nimbus_log(NIMBUS_LOG_WARN,
                   "demo: the database already holds %lld stations and was not seeded by "
                   "--demo; leaving it alone, with no demo stations and no demo feed "
                   "(--demo-reseed to add them anyway)",
                   (long long)existing);
        return 0;
    }
    nimbus_service_t *svc = nimbus_service_new(core, err);
    if (!svc) {
        return -1;
    }
    uint64_t rng = (uint64_t)time(NULL) | 1;
    int64_t now = (int64_t)time(NULL);
    int rc = 0;
    for (size_t i = 0; i < DEMO_SITE_COUNT && rc == 0; i++) {
        rc = seed_site(svc, &demo_sites[i], force, now, &rng, err);
    }
    nimbus_service_free(svc);
    if (rc == 0) {
        rc = nimbus_core_set_mark(core, "demo", true, err);
    }
    *feed = rc == 0;
    if (rc == 0) {
        nimbus_log(NIMBUS_LOG_INFO, "demo: seeded %zu stations with %d hours of history",
                   DEMO_SITE_COUNT, DEMO_HISTORY_HOURS);
    }
    return rc;
}

static void demo_recorded(void *arg, int rc, const nimbus_error_t *err)
{
    /* NOT_FOUND is normal: somebody may have deleted a demo station. */
    if (rc != 0 && err->code != NIMBUS_NOT_FOUND) {
        nimbus_log(NIMBUS_LOG_WARN, "demo: %s: %s", nimbus_code_name(err->code), err->message);
    }
    nimbus_response_t *res = arg;
    nimbus_response_cleanup(NIMBUS_OP_RecordObservations, res);
    free(res);
}

static void demo_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    static const nimbus_credentials_t trusted = {NIMBUS_CRED_TRUSTED, NULL, NULL};
    nimbus_demo_t *demo = arg;
    size_t i = demo->next_site;
    demo->next_site = (i + 1) % DEMO_SITE_COUNT;
    const demo_site_t *site = &demo_sites[i];
    int64_t now = (int64_t)time(NULL);
    if (now <= demo->last_time[i]) {
        return; /* same second: would only be a duplicate or a correction */
    }
    demo->last_time[i] = now;

    nimbus_observation_t obs;
    demo_observation(site, now, &demo->rng, &obs);
    nimbus_request_t req;
    req.record_observations = (nimbus_record_observations_request_t){site->id, &obs, 1};
    /* Like any client's, the write goes to the writer and worker 0 goes on
     * serving; the answer only matters when it is an unexpected error. */
    nimbus_response_t *res = calloc(1, sizeof *res);
    if (!res) {
        return;
    }
    nimbus_service_call_async(demo->worker->svc, &trusted, NIMBUS_OP_RecordObservations, &req, res,
                              demo_recorded, res);
}

nimbus_demo_t *nimbus__demo_start(nimbus_worker_t *w, nimbus_error_t *err)
{
    nimbus_demo_t *demo = calloc(1, sizeof *demo);
    if (!demo) {
        nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        return NULL;
    }
    demo->worker = w;
    demo->rng = ((uint64_t)time(NULL) << 1) | 1;
    demo->timer = event_new(w->base, -1, EV_PERSIST, demo_tick, demo);
    struct timeval tick = {0, DEMO_TICK_MS * 1000};
    if (!demo->timer || event_add(demo->timer, &tick) != 0) {
        nimbus__demo_stop(demo);
        nimbus_error_set(err, NIMBUS_INTERNAL, "cannot start the demo timer");
        return NULL;
    }
    return demo;
}

void nimbus__demo_stop(nimbus_demo_t *demo)
{
    if (!demo) {
        return;
    }
    if (demo->timer) {
        event_free(demo->timer);
    }
    free(demo);
}
