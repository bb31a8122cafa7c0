/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A single pass over a SOAP request body before gSOAP parses it, refusing
 * what gSOAP would accept but alter, misread or silently drop:
 *
 * - an XML declaration naming an encoding other than UTF-8. The service
 *   speaks UTF-8 only; gSOAP would read a body declared ISO-8859-1 as
 *   Latin-1 and re-encode every byte above 0x7F;
 * - bytes that are not UTF-8 (the core's nimbus_utf8_length decides:
 *   overlong forms, surrogates, past U+10FFFF, truncated). gSOAP reads a
 *   stray byte as Latin-1 ("a\xff" becomes "a\u00ff") and decodes overlong
 *   forms ("\xc0\xad" becomes "-"), which would get text past the core's
 *   checks in a form the client never sent;
 * - characters XML 1.0 does not allow (C0 controls other than tab, LF and
 *   CR, U+FFFE, U+FFFF), raw or as character references (&#0;, &#xD800;,
 *   &#x110000;). gSOAP ends a string at a NUL, so "o1&#0;junk" would read
 *   as "o1"; it encodes any other number it is given;
 * - character references longer than gSOAP reads: it takes at most 7 bytes
 *   after the '&' and leaves the rest as text, so "&#x1F600;" would read as
 *   U+1F600 followed by ';' (and "&#x000041;" as U+0004 and "1;"). At most
 *   6 characters between '&' and ';' are read right; that covers every
 *   character up to U+FFFF in hex and up to U+1869F in decimal. Others must
 *   be sent as UTF-8, as every SOAP toolkit does;
 * - references other than XML's five predefined entities and well-formed
 *   character references: gSOAP expands HTML names (&nbsp;) and guesses at
 *   unknown ones. Without a DTD (refused, below) XML defines no others;
 * - markup declarations (a DOCTYPE with its ENTITY, ELEMENT or ATTLIST
 *   declarations; gSOAP skips a DTD silently, we refuse it so entity tricks
 *   never look accepted);
 * - element nesting deeper than limits->max_depth (gSOAP's maxlevel does
 *   not apply to the content of header elements it skips);
 * - an element or attribute name longer than NIMBUS_SOAP_NAME_MAX: gSOAP
 *   copies names into a buffer of SOAP_TAGLEN bytes and cuts what does not
 *   fit, so a long name would be read as a shorter, different one;
 * - a start tag with more than limits->max_attributes attributes, or more
 *   than limits->max_namespaces namespace declarations on the elements
 *   open at once. gSOAP searches both lists linearly for each name it
 *   reads: one tag with 90,000 attributes took it over 20 s of CPU. An
 *   attribute here is any name in the tag (with or without a value, quoted
 *   or not), counted the way gSOAP's lenient reader would take it;
 * - an element of the Body typed xsi:type="xsd:base64Binary" or
 *   "xsd:hexBinary". No Nimbus field is binary, and gSOAP reads a text field
 *   without looking at its xsi:type, so the base64 text itself would be
 *   stored as the value. SOAP::Lite's autotyping sends any text outside
 *   ASCII that way ("Zürich" becomes "WsO8cmljaA=="); refusing it makes the
 *   mistake visible. Other xsi:types are harmless: their text is the value;
 * - a Body with more than one element child. Document/literal wrapped
 *   means exactly one operation element; gSOAP serves the first and skips
 *   the rest, so a second operation would look accepted but never run;
 * - markup whose end gSOAP finds elsewhere than XML does, and which the
 *   scan would otherwise skip to a different place than gSOAP reads on
 *   from: gSOAP ends a comment at its first "--" and a processing
 *   instruction at its first '?' (then at the next '>'), skips blanks
 *   after '<', and skips "<%...>"; so a comment holding "--", a PI holding
 *   a '?' not followed by '>', a '<' followed by a blank or '%', and a
 *   comment, PI or CDATA section without its end are refused. Before, the
 *   scan skipped "<?xml ...?x>" up to a "?>" that never came, and gSOAP
 *   parsed the rest of the body unchecked: 20,000 attributes on one tag
 *   got past the limit (found by fuzz_soap).
 *
 * It also notes whether any start tag's attributes hold the text `id` or
 * `ref` (in a name or a value): only such attributes (id, href, ref,
 * SOAP-ENC:id, SOAP-ENC:ref) put entries in gSOAP's id table, so a body
 * without them lets the host skip soap_resolve's scans of that table.
 *
 * The scan is linear, allocates nothing and needs only to find markup: in
 * well-formed XML a raw '<' appears only there, except inside comments,
 * CDATA sections and processing instructions, which are skipped whole
 * (their text is not parsed for references, but is still checked for
 * UTF-8 and XML characters, which the whole body must be). Anything it
 * cannot follow (a truncated tag, a malformed attribute) is left for gSOAP
 * to refuse. Namespace prefixes are matched without scoping: a prefix
 * bound to the XML Schema instance namespace anywhere before counts (the
 * schema has no other attribute named `type` in the Body), and the Body is
 * the Envelope's child whose local name is Body, whatever its prefix.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "nimbus_types.h"
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
            if (*p == quote) {
                quote = 0;
            }
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
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ':') {
            colon = s + i;
        }
    }
    const char *local = colon ? colon + 1 : s;
    *out_len = len - (size_t)(local - s);
    return local;
}

/* Reads the next attribute of a start tag at *p (before end, the tag's
 * '>'); false at the end of the attributes or on anything malformed. */
static bool next_attr(const char **p, const char *end, struct attr *a)
{
    const char *s = *p;
    while (s < end && is_space(*s)) {
        s++;
    }
    a->name = s;
    while (s < end && !is_space(*s) && *s != '=' && *s != '/') {
        s++;
    }
    a->name_len = (size_t)(s - a->name);
    while (s < end && is_space(*s)) {
        s++;
    }
    if (a->name_len == 0 || s >= end || *s != '=') {
        return false;
    }
    s++;
    while (s < end && is_space(*s)) {
        s++;
    }
    if (s >= end || (*s != '"' && *s != '\'')) {
        return false;
    }
    const char *close = memchr(s + 1, *s, (size_t)(end - s - 1));
    if (!close) {
        return false;
    }
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
            memcmp(a->name + n, ":type", 5) == 0) {
            return true;
        }
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

/* Counts the attributes in a start tag's text [p, end) and, of those, the
 * namespace declarations (xmlns, xmlns:p), and the longest attribute
 * name's length. Every name outside quotes
 * counts, valued or not, so a tag gSOAP would read leniently is counted
 * as gSOAP reads it. */
static void count_attrs(const char *p, const char *end, int *attrs, int *declarations,
                        size_t *longest)
{
    *attrs = 0;
    *declarations = 0;
    *longest = 0;
    bool value_next = false; /* an '=' was read: what follows is its value */
    while (p < end) {
        char c = *p;
        if (is_space(c) || c == '/') {
            p++;
        } else if (c == '=') {
            value_next = true;
            p++;
        } else if (c == '"' || c == '\'') {
            const char *close = memchr(p + 1, c, (size_t)(end - p - 1));
            p = close ? close + 1 : end;
            value_next = false;
        } else {
            const char *name = p;
            while (p < end && !is_space(*p) && *p != '=' && *p != '"' && *p != '\'') {
                p++;
            }
            size_t len = (size_t)(p - name);
            if (value_next) {
                value_next = false; /* an unquoted value */
                continue;
            }
            ++*attrs;
            if (len > *longest) {
                *longest = len;
            }
            if (len >= 5 && memcmp(name, "xmlns", 5) == 0 && (len == 5 || name[5] == ':')) {
                ++*declarations;
            }
        }
    }
}

/* ---- characters ---------------------------------------------------------- */

/* The offset of the first byte sequence nimbus_utf8_length refuses, in a
 * body it refused as a whole (the core's validator decides; this only
 * walks from one sequence to the next to say where). */
static size_t utf8_error_at(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t n = u[i] < 0x80 ? 1 : u[i] < 0xE0 ? 2 : u[i] < 0xF0 ? 3 : 4;
        if (n > len - i || nimbus_utf8_length(s + i, n) < 0) {
            return i;
        }
        i += n;
    }
    return len;
}

/* XML 1.0's Char production: #x9 | #xA | #xD | [#x20-#xD7FF] |
 * [#xE000-#xFFFD] | [#x10000-#x10FFFF]. */
static bool xml_char(unsigned long c)
{
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* The whole body: UTF-8, and only characters XML 1.0 allows. In valid
 * UTF-8 the only disallowed characters left are C0 controls (one byte)
 * and U+FFFE, U+FFFF (EF BF BE, EF BF BF). */
static nimbus_soap_scan_t check_chars(const char *body, size_t len, nimbus_soap_scan_info_t *info)
{
    if (nimbus_utf8_length(body, len) < 0) {
        info->offset = utf8_error_at(body, len);
        return NIMBUS_SOAP_SCAN_BAD_UTF8;
    }
    const unsigned char *u = (const unsigned char *)body;
    for (size_t i = 0; i < len; i++) {
        unsigned long c = u[i];
        if (c < 0x20 && !xml_char(c)) {
            info->offset = i;
            info->code_point = c;
            return NIMBUS_SOAP_SCAN_BAD_CHAR;
        }
        if (c == 0xEF && i + 2 < len && u[i + 1] == 0xBF &&
            (u[i + 2] == 0xBE || u[i + 2] == 0xBF)) {
            info->offset = i;
            info->code_point = u[i + 2] == 0xBE ? 0xFFFE : 0xFFFF;
            return NIMBUS_SOAP_SCAN_BAD_CHAR;
        }
    }
    return NIMBUS_SOAP_SCAN_OK;
}

/* Sets info->text to the reference at amp as written: up to and including
 * its ';' if one comes within 32 bytes, else what there is of it. */
static void note_reference(const char *amp, const char *stop, const char *body,
                           nimbus_soap_scan_info_t *info)
{
    size_t n = 1;
    while (n < 32 && amp + n < stop && amp[n] != ';' && amp[n] != '<' && amp[n] != '&' &&
           !is_space(amp[n])) {
        n++;
    }
    if (n < 32 && amp + n < stop && amp[n] == ';') {
        n++;
    }
    info->text = amp;
    info->text_len = n;
    info->offset = (size_t)(amp - body);
}

/* gSOAP's soap_char reads a reference into char tmp[8]: what lies between
 * '&' and ';' must fit in 6 bytes for the ';' to be consumed with it. */
#define GSOAP_REFERENCE_MAX 6

/* The references in [p, stop), text or markup outside comments, CDATA
 * sections and processing instructions: each '&' must start one of XML's
 * five predefined entities or a character reference to an XML character
 * (&#[0-9]+; or &#x[0-9a-fA-F]+; lower-case x, as XML 1.0 writes it) that
 * gSOAP reads whole. */
static nimbus_soap_scan_t check_references(const char *p, const char *stop, const char *body,
                                           nimbus_soap_scan_info_t *info)
{
    static const char *const predefined[] = {"&lt;", "&gt;", "&amp;", "&quot;", "&apos;"};
    while (p < stop && (p = memchr(p, '&', (size_t)(stop - p))) != NULL) {
        size_t left = (size_t)(stop - p);
        bool known = false;
        for (size_t i = 0; i < sizeof predefined / sizeof *predefined && !known; i++) {
            size_t n = strlen(predefined[i]);
            if (left >= n && memcmp(p, predefined[i], n) == 0) {
                p += n;
                known = true;
            }
        }
        if (known) {
            continue;
        }
        if (left < 3 || p[1] != '#') {
            note_reference(p, stop, body, info);
            return NIMBUS_SOAP_SCAN_BAD_REFERENCE;
        }
        bool hex = p[2] == 'x';
        const char *d = p + (hex ? 3 : 2);
        unsigned long cp = 0;
        const char *digits = d;
        for (; d < stop; d++) {
            int v = hex ? nimbus_hex_value(*d) : (*d >= '0' && *d <= '9' ? *d - '0' : -1);
            if (v < 0) {
                break;
            }
            cp = cp * (hex ? 16 : 10) + (unsigned long)v;
            if (cp > 0x10FFFF) {
                cp = 0x110000; /* stays past the range however many digits follow */
            }
        }
        if (d == digits || d >= stop || *d != ';') {
            note_reference(p, stop, body, info);
            return NIMBUS_SOAP_SCAN_BAD_REFERENCE;
        }
        if (!xml_char(cp)) {
            note_reference(p, stop, body, info);
            info->code_point = cp;
            return NIMBUS_SOAP_SCAN_BAD_CHAR_REF;
        }
        if (d - (p + 1) > GSOAP_REFERENCE_MAX) {
            note_reference(p, stop, body, info);
            info->code_point = cp;
            return NIMBUS_SOAP_SCAN_LONG_CHAR_REF;
        }
        p = d + 1;
    }
    return NIMBUS_SOAP_SCAN_OK;
}

/* An XML declaration at the start of the body (after a UTF-8 byte order
 * mark, if any) naming an encoding other than UTF-8. */
static bool foreign_encoding(const char *body, size_t len, nimbus_soap_scan_info_t *info)
{
    const char *p = body;
    const char *stop = body + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
        p += 3;
    }
    if (stop - p < 6 || memcmp(p, "<?xml", 5) != 0 || !is_space(p[5])) {
        return false;
    }
    const char *end = memmem(p, (size_t)(stop - p), "?>", 2);
    if (!end) {
        return false;
    }
    const char *attrs = p + 5;
    struct attr a;
    while (next_attr(&attrs, end, &a)) {
        if (text_is(a.name, a.name_len, "encoding")) {
            if (a.value_len == 5 && strncasecmp(a.value, "UTF-8", 5) == 0) {
                return false;
            }
            info->text = a.value;
            info->text_len = a.value_len;
            return true;
        }
    }
    return false;
}

nimbus_soap_scan_t nimbus__soap_scan(const char *body, size_t len,
                                     const nimbus_soap_limits_t *limits,
                                     nimbus_soap_scan_info_t *info)
{
    int max_depth = limits->max_depth;
    if (max_depth > NIMBUS_SOAP_MAX_DEPTH_CAP) {
        max_depth = NIMBUS_SOAP_MAX_DEPTH_CAP;
    }
    /* Namespace declarations made by each open element, to take them out
     * of scope at its end tag. Index: depth (1 for the Envelope). */
    unsigned short declared[NIMBUS_SOAP_MAX_DEPTH_CAP + 1];
    int in_scope = 0;
    nimbus_soap_scan_info_t unused;
    if (!info) {
        info = &unused;
    }
    info->ids = false;
    if (foreign_encoding(body, len, info)) {
        return NIMBUS_SOAP_SCAN_ENCODING;
    }
    nimbus_soap_scan_t rc = check_chars(body, len, info);
    if (rc != NIMBUS_SOAP_SCAN_OK) {
        return rc;
    }
    const char *stop = body + len;
    const char *p = body;
    const char *unchecked = body; /* references before this are checked */
    int depth = 0;
    bool in_body = false;
    int body_children = 0;
    struct xsi_prefixes xsi;
    xsi.count = 0;
    while ((p = memchr(p, '<', (size_t)(stop - p))) != NULL) {
        size_t left = (size_t)(stop - p);
        const char *skip_to = NULL; /* past a comment, CDATA section or PI */
        if (left >= 4 && memcmp(p, "<!--", 4) == 0) {
            /* Ends where gSOAP ends it, at the first "--", which must be
             * the "-->" XML ends it with. */
            const char *dashes = past(p + 4, stop, "--");
            skip_to = dashes && dashes < stop && *dashes == '>' ? dashes + 1 : NULL;
        } else if (left >= 9 && memcmp(p, "<![CDATA[", 9) == 0) {
            skip_to = past(p + 9, stop, "]]>");
        } else if (left >= 2 && p[1] == '!') {
            return NIMBUS_SOAP_SCAN_DECLARATION;
        } else if (left >= 2 && p[1] == '?') {
            /* gSOAP ends it at the first '?': that must be the "?>". */
            const char *q = memchr(p + 2, '?', left - 2);
            skip_to = q && q + 1 < stop && q[1] == '>' ? q + 2 : NULL;
        } else if (left >= 2 && (is_space(p[1]) || p[1] == '%')) {
            skip_to = NULL; /* gSOAP reads on past it; XML has no such markup */
        } else if (left >= 2 && p[1] == '/') {
            if (depth > 0) {
                in_scope -= declared[depth];
            }
            if (--depth == 1) {
                in_body = false; /* the Body (or the Header) ended */
            }
            p += 2;
            continue;
        } else {
            const char *end = tag_end(p + 1, stop);
            if (!end) {
                info->ids = true; /* what follows is not followed: assume the worst */
                break;
            }
            bool empty = end[-1] == '/';
            int level = depth + 1; /* this element's; the Envelope's is 1 */
            if (!empty && ++depth > max_depth) {
                return NIMBUS_SOAP_SCAN_TOO_DEEP;
            }
            const char *name = p + 1;
            const char *attrs = name;
            while (attrs < end && !is_space(*attrs) && *attrs != '/') {
                attrs++;
            }
            size_t name_len = (size_t)(attrs - name);
            int n_attrs, n_ns;
            size_t longest;
            count_attrs(attrs, empty ? end - 1 : end, &n_attrs, &n_ns, &longest);
            if (name_len > NIMBUS_SOAP_NAME_MAX || longest > NIMBUS_SOAP_NAME_MAX) {
                info->element = name;
                info->element_len = name_len;
                return NIMBUS_SOAP_SCAN_LONG_NAME;
            }
            if (n_attrs > limits->max_attributes || in_scope + n_ns > limits->max_namespaces) {
                info->element = name;
                info->element_len = name_len;
                return n_attrs > limits->max_attributes ? NIMBUS_SOAP_SCAN_ATTRIBUTES
                                                        : NIMBUS_SOAP_SCAN_NAMESPACES;
            }
            if (!empty && depth > 0) {
                declared[depth] = (unsigned short)n_ns;
                in_scope += n_ns;
            }
            if (!info->ids && (memmem(attrs, (size_t)(end - attrs), "id", 2) ||
                               memmem(attrs, (size_t)(end - attrs), "ref", 3))) {
                info->ids = true;
            }
            note_xsi_prefixes(attrs, end, &xsi);
            struct attr type;
            if (in_body && level > 2 && binary_type(attrs, end, &xsi, &type)) {
                info->element = name;
                info->element_len = name_len;
                info->type = type.value;
                info->type_len = type.value_len;
                return NIMBUS_SOAP_SCAN_BINARY_TYPE;
            }
            if (in_body && level == 3) {
                if (body_children++ > 0) {
                    info->element = name;
                    info->element_len = name_len;
                    return NIMBUS_SOAP_SCAN_BODY_CHILDREN;
                }
                info->first = name;
                info->first_len = name_len;
            }
            size_t local_len;
            const char *local = local_part(name, name_len, &local_len);
            if (level == 2 && !empty && text_is(local, local_len, "Body")) {
                in_body = true;
            }
            p = end + 1;
            continue;
        }
        /* A comment, CDATA section or PI: its text holds no references. */
        rc = check_references(unchecked, p, body, info);
        if (rc != NIMBUS_SOAP_SCAN_OK) {
            return rc;
        }
        if (!skip_to) {
            /* Its end is not where XML and gSOAP agree (or not at all):
             * what gSOAP would read next is not what the scan checked. */
            info->offset = (size_t)(p - body);
            return NIMBUS_SOAP_SCAN_MARKUP;
        }
        p = skip_to;
        unchecked = skip_to;
    }
    return check_references(unchecked, stop, body, info);
}
