/*
 * A single pass over a SOAP request body before gSOAP parses it, refusing
 * three things gSOAP would not:
 *
 * - markup declarations (a DOCTYPE with its ENTITY, ELEMENT or ATTLIST
 *   declarations; gSOAP skips a DTD silently, we refuse it so entity tricks
 *   never look accepted);
 * - element nesting deeper than NIMBUS_SOAP_MAX_DEPTH (gSOAP's maxlevel does
 *   not apply to the content of header elements it skips);
 * - an element of the Body typed xsi:type="xsd:base64Binary" or
 *   "xsd:hexBinary". No Nimbus field is binary, and gSOAP reads a text field
 *   without looking at its xsi:type, so the base64 text itself would be
 *   stored as the value. SOAP::Lite's autotyping sends any text outside
 *   ASCII that way ("Zürich" becomes "WsO8cmljaA=="); refusing it makes the
 *   mistake visible. Other xsi:types are harmless: their text is the value.
 *
 * The scan is linear, allocates nothing and needs only to find markup: in
 * well-formed XML a raw '<' appears only there, except inside comments,
 * CDATA sections and processing instructions, which are skipped whole.
 * Anything it cannot follow (a truncated tag, a malformed attribute) is
 * left for gSOAP to refuse. Namespace prefixes are matched without scoping:
 * a prefix bound to the XML Schema instance namespace anywhere before counts
 * (the schema has no other attribute named `type` in the Body).
 */
#include <stdbool.h>
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

#define XSI_NAMESPACE "http://www.w3.org/2001/XMLSchema-instance"
#define XSI_PREFIXES_MAX 8
#define XSI_PREFIX_LEN_MAX 32

/* Prefixes bound to XSI_NAMESPACE so far ("xsi" in practice). */
struct xsi_prefixes {
    int count;
    size_t len[XSI_PREFIXES_MAX];
    char name[XSI_PREFIXES_MAX][XSI_PREFIX_LEN_MAX];
};

struct attr {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool text_is(const char *s, size_t len, const char *lit)
{
    return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

/* The part after the last ':' of a qualified name. */
static const char *local_part(const char *s, size_t len, size_t *out_len)
{
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++)
        if (s[i] == ':')
            colon = s + i;
    const char *local = colon ? colon + 1 : s;
    *out_len = len - (size_t)(local - s);
    return local;
}

/* Reads the next attribute of a start tag at *p (before end, the tag's
 * '>'); false at the end of the attributes or on anything malformed. */
static bool next_attr(const char **p, const char *end, struct attr *a)
{
    const char *s = *p;
    while (s < end && is_space(*s))
        s++;
    a->name = s;
    while (s < end && !is_space(*s) && *s != '=' && *s != '/')
        s++;
    a->name_len = (size_t)(s - a->name);
    while (s < end && is_space(*s))
        s++;
    if (a->name_len == 0 || s >= end || *s != '=')
        return false;
    s++;
    while (s < end && is_space(*s))
        s++;
    if (s >= end || (*s != '"' && *s != '\''))
        return false;
    const char *close = memchr(s + 1, *s, (size_t)(end - s - 1));
    if (!close)
        return false;
    a->value = s + 1;
    a->value_len = (size_t)(close - a->value);
    *p = close + 1;
    return true;
}

static void note_xsi_prefixes(const char *attrs, const char *end, struct xsi_prefixes *xsi)
{
    struct attr a;
    while (next_attr(&attrs, end, &a)) {
        if (a.name_len > 6 && memcmp(a.name, "xmlns:", 6) == 0 &&
            text_is(a.value, a.value_len, XSI_NAMESPACE) && xsi->count < XSI_PREFIXES_MAX &&
            a.name_len - 6 < XSI_PREFIX_LEN_MAX) {
            xsi->len[xsi->count] = a.name_len - 6;
            memcpy(xsi->name[xsi->count], a.name + 6, a.name_len - 6);
            xsi->count++;
        }
    }
}

static bool is_xsi_type(const struct attr *a, const struct xsi_prefixes *xsi)
{
    for (int i = 0; i < xsi->count; i++) {
        size_t n = xsi->len[i];
        if (a->name_len == n + 5 && memcmp(a->name, xsi->name[i], n) == 0 &&
            memcmp(a->name + n, ":type", 5) == 0)
            return true;
    }
    return false;
}

/* The xsi:type attribute naming a binary type, if the tag has one. */
static bool binary_type(const char *attrs, const char *end, const struct xsi_prefixes *xsi,
                        struct attr *found)
{
    struct attr a;
    while (next_attr(&attrs, end, &a)) {
        size_t len;
        const char *local = local_part(a.value, a.value_len, &len);
        if (is_xsi_type(&a, xsi) &&
            (text_is(local, len, "base64Binary") || text_is(local, len, "hexBinary") ||
             text_is(local, len, "base64"))) {
            *found = a;
            return true;
        }
    }
    return false;
}

nimbus_soap_scan_t nimbus__soap_scan(const char *body, size_t len, int max_depth,
                                     nimbus_soap_scan_info_t *info)
{
    const char *stop = body + len;
    const char *p = body;
    int depth = 0;
    bool in_body = false;
    struct xsi_prefixes xsi;
    xsi.count = 0;
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
            bool empty = end[-1] == '/';
            int level = depth + 1; /* this element's; the Envelope's is 1 */
            if (!empty && ++depth > max_depth)
                return NIMBUS_SOAP_SCAN_TOO_DEEP;
            const char *name = p + 1;
            const char *attrs = name;
            while (attrs < end && !is_space(*attrs) && *attrs != '/')
                attrs++;
            size_t name_len = (size_t)(attrs - name);
            note_xsi_prefixes(attrs, end, &xsi);
            struct attr type;
            if (in_body && level > 2 && binary_type(attrs, end, &xsi, &type)) {
                if (info) {
                    info->element = name;
                    info->element_len = name_len;
                    info->type = type.value;
                    info->type_len = type.value_len;
                }
                return NIMBUS_SOAP_SCAN_BINARY_TYPE;
            }
            size_t local_len;
            const char *local = local_part(name, name_len, &local_len);
            if (level == 2 && text_is(local, local_len, "Body"))
                in_body = true;
            p = end + 1;
        }
    }
    return NIMBUS_SOAP_SCAN_OK;
}
