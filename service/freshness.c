/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Freshness: what a read's answer depends on and what a write changes, in
 * one place, so that a cache of rendered answers (the adapters keep one per
 * worker) can tell at once whether a kept answer is still the truth.
 *
 * The core keeps generations: one per group of stations (the station id
 * hashed onto NIMBUS__GEN_SLOTS slots), one for the set of stations, and
 * the write generation, which every commit moves. After a group commits,
 * the writer stores the new write generation into the slot of every
 * station the group changed (and into the set's when a station was made,
 * changed or deleted) before anyone is answered. A reader takes the stamp
 * (slot, generation) before it reads, so what it read is at least as new
 * as the stamp says; the answer stays fresh while the slot still holds
 * that generation. Two stations sharing a slot only cost an extra miss.
 *
 * Both switches name every operation (-Wswitch-enum), so a new row must
 * say what its answers depend on and what its writes change.
 *
 * On PostgreSQL other processes write too: the follower (follow.c) stamps
 * the stations of every row it brings in, the stations other processes
 * notify as changed, and every slot after it may have missed anything (a
 * lost connection), with the same generations, so a kept answer goes stale
 * here once this process has seen the write that changed it.
 */
#include <string.h>

#include "service_internal.h"

static uint32_t station_slot(const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)id; *p != '\0'; p++) {
        h = (h ^ *p) * 16777619u;
    }
    return NIMBUS__GEN_STATIONS + 1 + h % NIMBUS__GEN_SLOTS;
}

static _Atomic uint64_t *gen_of(nimbus_core_t *core, uint32_t slot)
{
    return slot == NIMBUS__GEN_ALL ? &core->write_gen : &core->gens[slot - 1];
}

bool nimbus_core_stamp(nimbus_core_t *core, nimbus_op_t op, const nimbus_request_t *req,
                       nimbus_stamp_t *out)
{
    const char *station = NULL;
    uint32_t slot = NIMBUS__GEN_ALL;
    switch (op) {
    case NIMBUS_OP_ListStations:
        slot = NIMBUS__GEN_STATIONS;
        break;
    case NIMBUS_OP_GetStation:
        station = req->get_station.id;
        break;
    case NIMBUS_OP_GetObservations:
        station = req->get_observations.station_id;
        break;
    case NIMBUS_OP_GetWeather:
        station = req->get_weather.station_id;
        break;
    case NIMBUS_OP_GetCityWeather:
        /* Any station may be in the city: every write counts. */
        slot = NIMBUS__GEN_ALL;
        break;
    case NIMBUS_OP_GetObservationFeed:
        /* The newest seq is in every answer: every write counts. */
        slot = NIMBUS__GEN_ALL;
        break;
    case NIMBUS_OP_CreateStation:
    case NIMBUS_OP_UpdateStation:
    case NIMBUS_OP_DeleteStation:
    case NIMBUS_OP_RecordObservations:
        return false; /* a write's answer is never kept */
    }
    if (station != NULL) {
        slot = station_slot(station);
    }
    out->slot = slot;
    out->gen = atomic_load(gen_of(core, slot));
    return true;
}

bool nimbus_core_stamp_fresh(nimbus_core_t *core, const nimbus_stamp_t *stamp)
{
    return stamp->gen != 0 && atomic_load(gen_of(core, stamp->slot)) == stamp->gen;
}

void nimbus__writer_touch(nimbus__writer_t *wr, const nimbus__job_t *job)
{
    const char *station = NULL;
    bool set = false;
    switch (job->op) {
    case NIMBUS_OP_CreateStation:
    case NIMBUS_OP_UpdateStation:
        station = job->in.station.id;
        set = true;
        break;
    case NIMBUS_OP_DeleteStation:
        station = job->in.id;
        set = true;
        break;
    case NIMBUS_OP_RecordObservations:
        if (job->res.record_observations.accepted > 0) {
            station = job->in.record.station_id;
        }
        break;
    case NIMBUS_OP_ListStations:
    case NIMBUS_OP_GetStation:
    case NIMBUS_OP_GetObservations:
    case NIMBUS_OP_GetWeather:
    case NIMBUS_OP_GetCityWeather:
    case NIMBUS_OP_GetObservationFeed:
        break; /* reads change nothing */
    }
    if (set) {
        wr->touched_set = true;
    }
    if (station != NULL) {
        nimbus__writer_touch_station(wr, station);
    }
}

void nimbus__writer_touch_station(nimbus__writer_t *wr, const char *id)
{
    uint32_t i = station_slot(id) - NIMBUS__GEN_STATIONS - 1;
    wr->touched[i / 64] |= UINT64_C(1) << (i % 64);
}

void nimbus__writer_publish_gens(nimbus_core_t *core)
{
    nimbus__writer_t *wr = &core->writer;
    /* The group's generation is the write generation after it. */
    uint64_t gen = atomic_fetch_add(&core->write_gen, 1) + 1;
    if (wr->touched_set) {
        atomic_store(&core->gens[NIMBUS__GEN_STATIONS - 1], gen);
        wr->touched_set = false;
    }
    for (size_t w = 0; w < sizeof wr->touched / sizeof wr->touched[0]; w++) {
        for (uint64_t bits = wr->touched[w]; bits != 0; bits &= bits - 1) {
            size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
            atomic_store(&core->gens[NIMBUS__GEN_STATIONS + i], gen);
        }
        wr->touched[w] = 0;
    }
}

/* ---- changes other processes committed (follow.c) ------------------------ */

void nimbus__gens_stamp_rows(nimbus_core_t *core, const nimbus_observation_t *obs, size_t count)
{
    if (count == 0) {
        return;
    }
    uint64_t gen = atomic_fetch_add(&core->write_gen, 1) + 1;
    for (size_t i = 0; i < count; i++) {
        atomic_store(&core->gens[station_slot(obs[i].station_id) - 1], gen);
    }
}

void nimbus__gens_stamp_station(nimbus_core_t *core, const char *id)
{
    uint64_t gen = atomic_fetch_add(&core->write_gen, 1) + 1;
    atomic_store(&core->gens[NIMBUS__GEN_STATIONS - 1], gen);
    atomic_store(&core->gens[station_slot(id) - 1], gen);
}

void nimbus__gens_stamp_all(nimbus_core_t *core)
{
    uint64_t gen = atomic_fetch_add(&core->write_gen, 1) + 1;
    for (size_t i = 0; i < sizeof core->gens / sizeof core->gens[0]; i++) {
        atomic_store(&core->gens[i], gen);
    }
}
