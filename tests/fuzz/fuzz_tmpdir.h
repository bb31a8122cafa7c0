/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A temporary folder for a fuzz target's database, shared by the targets
 * that open a real core (fuzz_soap, fuzz_ws_frame). A target that finds a
 * failure dies by abort() or a sanitizer's report, so no exit handler runs
 * and its folder stays behind: each folder is named after its process, and
 * the next target to start removes those whose process is gone.
 */
#ifndef NIMBUS_FUZZ_TMPDIR_H
#define NIMBUS_FUZZ_TMPDIR_H

#include <stddef.h>

/* Makes <dir>/nimbus-fuzz-<what>-<pid>-XXXXXX, in /dev/shm when it can be
 * written (a database in memory: no disk waits) and /tmp otherwise, into
 * out (size bytes), after removing the folders of dead processes; removed
 * again at a normal exit. Aborts when it cannot. */
void fuzz_tmpdir(const char *what, char *out, size_t size);

#endif
