/*
 * A single pass over a SOAP request body before gSOAP parses it, refusing
 * two things gSOAP would not: markup declarations (a DOCTYPE with its
 * ENTITY, ELEMENT or ATTLIST declarations; gSOAP skips a DTD silently, we
 * refuse it so entity tricks never look accepted) and element nesting deeper
 * than NIMBUS_SOAP_MAX_DEPTH (gSOAP's maxlevel does not apply to the
 * content of header elements it skips). The scan is linear, allocates
 * nothing and needs only to find markup: in well-formed XML a raw '<'
 * appears only there, except inside comments, CDATA sections and processing
 * instructions, which are skipped whole. Anything it cannot follow (a
 * truncated tag) is left for gSOAP to refuse.
 */
#include <string.h>

#include "soap_internal.h"

/* The position just past `end` in [p, stop), or NULL. */
static const char *past(const char *p, const char *stop, const char *end)
{
    size_t len = strlen(end);
    const char *hit = memmem(p, (size_t)(stop - p), end, len);
    return hit ? hit + len : NULL;
}

/* The '>' that closes the tag opened at p, skipping quoted attribute values
 * (which may hold '>'), or NULL. */
static const char *tag_end(const char *p, const char *stop)
{
    char quote = 0;
    for (; p < stop; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '"' || *p == '\'') {
            quote = *p;
        } else if (*p == '>') {
            return p;
        }
    }
    return NULL;
}

nimbus_soap_scan_t nimbus__soap_scan(const char *body, size_t len, int max_depth)
{
    const char *stop = body + len;
    const char *p = body;
    int depth = 0;
    while (p && (p = memchr(p, '<', (size_t)(stop - p))) != NULL) {
        size_t left = (size_t)(stop - p);
        if (left >= 4 && memcmp(p, "<!--", 4) == 0) {
            p = past(p + 4, stop, "-->");
        } else if (left >= 9 && memcmp(p, "<![CDATA[", 9) == 0) {
            p = past(p + 9, stop, "]]>");
        } else if (left >= 2 && p[1] == '!') {
            return NIMBUS_SOAP_SCAN_DECLARATION;
        } else if (left >= 2 && p[1] == '?') {
            p = past(p + 2, stop, "?>");
        } else if (left >= 2 && p[1] == '/') {
            depth--;
            p += 2;
        } else {
            const char *end = tag_end(p + 1, stop);
            if (!end)
                break;
            if (end[-1] != '/' && ++depth > max_depth)
                return NIMBUS_SOAP_SCAN_TOO_DEEP;
            p = end + 1;
        }
    }
    return NIMBUS_SOAP_SCAN_OK;
}
