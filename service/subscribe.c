/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The rules of a stream subscription (contract "WebSocket": subscribe).
 * Only the WebSocket endpoint subscribes today, but the rules are the
 * service's, not the transport's: who may read, which station filters are
 * acceptable, and which fromSeq a subscriber may resume from.
 */
#include <stdio.h>

#include "service_internal.h"

int nimbus_service_subscribe_check(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                                   const char *const *station_ids, size_t station_count,
                                   const int64_t *from_seq, int64_t head_seq, nimbus_error_t *err)
{
    if (nimbus_core_authorize(nimbus_service_core(svc), caller, NIMBUS_ROLE_READ, err) != 0) {
        return -1;
    }
    if (from_seq != NULL && *from_seq < 0) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "fromSeq must be an integer >= 0");
    }
    if (station_ids != NULL &&
        (station_count == 0 || station_count > NIMBUS_SUBSCRIBE_STATIONS_MAX)) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "stations must be an array of 1-%d station ids (omit it for "
                                "every station)",
                                NIMBUS_SUBSCRIBE_STATIONS_MAX);
    }
    for (size_t i = 0; station_ids != NULL && i < station_count; i++) {
        char what[32];
        snprintf(what, sizeof what, "stations[%zu]", i);
        if (nimbus_station_id_validate(station_ids[i], what, err) != 0 ||
            nimbus_service_station_exists(svc, station_ids[i], err) != 0) {
            return -1;
        }
    }
    /* A seq beyond the head was never assigned: resuming from it would
     * silently skip whatever gets those numbers next. On PostgreSQL it
     * may have been, by another process whose commits this one has not
     * fed to its hub yet (the client moved from that process to this one):
     * this process catches up first. The session's replay and live seam
     * stays exact: what the catch-up feeds has seqs above head_seq, which
     * the subscriber's hub copy receives. */
    if (from_seq != NULL && *from_seq > head_seq &&
        nimbus_service_core(svc)->engine == NIMBUS__POSTGRES) {
        if (nimbus__follow_catch_up(nimbus_service_core(svc), svc, err) != 0) {
            return -1;
        }
        int64_t fed = nimbus_core_head_seq(nimbus_service_core(svc));
        head_seq = fed > head_seq ? fed : head_seq;
    }
    if (from_seq != NULL && *from_seq > head_seq) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "fromSeq %lld is greater than the newest seq %lld",
                                (long long)*from_seq, (long long)head_seq);
    }
    return 0;
}
