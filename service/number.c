/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Number formatting shared by every encoder, so SOAP and JSON print the same
 * digits for the same stored double: the shortest %.Ng (15, 16 or 17 digits
 * for normal doubles, from 1 for subnormals) that strtod reads back as
 * exactly the same value. Negative zero prints as
 * "0": it compares equal to 0 (a duplicate, not a correction), so printing
 * a sign would only make equal values look different.
 * Inputs are validated finite; a non-finite value prints as "0" rather than
 * as text no client could parse.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus_types.h"

char *nimbus_double_format(double d, char buf[32])
{
    if (!isfinite(d) || d == 0.0) {
        buf[0] = '0';
        buf[1] = '\0';
        return buf;
    }
    /* A normal double carries at least 15 significant digits, so when 15
     * read back, fewer would too only if they are its 15 with zeros cut,
     * which %g already does. A subnormal carries fewer digits: start from
     * one, or 5e-324 would print as 4.94065645841247e-324. */
    char text[48]; /* the longest, "-2.2250738585072014e-308", is 24 */
    for (int precision = fabs(d) < DBL_MIN ? 1 : 15; precision <= 17; precision++) {
        snprintf(text, sizeof text, "%.*g", precision, d);
        if (strtod(text, NULL) == d) {
            break;
        }
    }
    memcpy(buf, text, strlen(text) + 1);
    return buf;
}
