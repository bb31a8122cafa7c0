/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The custom gSOAP serializer for xsd:double (declared extern in
 * nimbus_double.h, mapped by typemap.dat). Output goes through the core's
 * nimbus_double_format, the shortest text that reads back as the same double,
 * so SOAP prints 40.0801 where gSOAP's default "%.17lg" would print
 * 40.080100000000002, and SOAP and JSON answers carry identical numbers.
 * Input accepts exactly xsd:double's lexical space (below): gSOAP's own
 * parser is strtod, which also takes hexadecimal ("0x10" read as 16, even
 * "0x1p4"), "infinity", "nan(...)" and any case of INF and NaN. INF, -INF
 * and NaN are read (they are doubles) and the core refuses them by range.
 * Every restricted double type of the WSDL (Latitude, Temperature, ...) is a
 * typedef of xsd__double, so this one serializer covers all of them.
 */
#include "soapH.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus_types.h"

void soap_default_xsd__double(struct soap *soap, double *a)
{
    (void)soap;
    *a = 0.0;
}

/* Returns text in soap->tmpbuf (or a literal), valid until the next call
 * that uses tmpbuf, as gSOAP's own *2s functions do. */
const char *soap_xsd__double2s(struct soap *soap, double n)
{
    if (isnan(n))
        return "NaN";
    if (isinf(n))
        return n > 0 ? "INF" : "-INF";
    char buf[32];
    nimbus_double_format(n, buf);
    snprintf(soap->tmpbuf, sizeof soap->tmpbuf, "%s", buf);
    return soap->tmpbuf;
}

int soap_out_xsd__double(struct soap *soap, const char *tag, int id, const double *a,
                         const char *type)
{
    if (soap_element_begin_out(soap, tag, soap_embedded_id(soap, id, a, SOAP_TYPE_xsd__double),
                               type) ||
        soap_string_out(soap, soap_xsd__double2s(soap, *a), 0))
        return soap->error;
    return soap_element_end_out(soap, tag);
}

static bool xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *digits(const char *p, const char *end)
{
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    return p;
}

/* xsd:double's lexical space in XML Schema 1.0 (Part 2, 3.2.5.1): a
 * decimal mantissa (optional sign, digits with at most one '.', at least
 * one digit) with an optional exponent ('e' or 'E', optional sign,
 * digits), or exactly INF, -INF or NaN. "+INF" is XSD 1.1's addition and
 * is not taken: the WSDL's schema is XSD 1.0. */
static bool xsd_double_text(const char *p, const char *end)
{
    size_t n = (size_t)(end - p);
    if ((n == 3 && (memcmp(p, "INF", 3) == 0 || memcmp(p, "NaN", 3) == 0)) ||
        (n == 4 && memcmp(p, "-INF", 4) == 0))
        return true;
    if (p < end && (*p == '+' || *p == '-'))
        p++;
    const char *int_end = digits(p, end);
    bool any = int_end > p;
    p = int_end;
    if (p < end && *p == '.') {
        const char *frac_end = digits(p + 1, end);
        any = any || frac_end > p + 1;
        p = frac_end;
    }
    if (!any)
        return false;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        const char *exp_end = digits(p, end);
        if (exp_end == p)
            return false;
        p = exp_end;
    }
    return p == end;
}

int soap_s2xsd__double(struct soap *soap, const char *s, double *a)
{
    if (!s)
        return soap->error;
    const char *end = s + strlen(s);
    while (s < end && xml_space(*s))
        s++;
    while (end > s && xml_space(end[-1]))
        end--;
    if (s == end)
        return soap->error = SOAP_EMPTY;
    if (!xsd_double_text(s, end))
        return soap->error = SOAP_TYPE;
    if (*s == 'I' || (*s == '-' && s[1] == 'I')) {
        *a = *s == '-' ? -INFINITY : INFINITY;
        return soap->error;
    }
    if (*s == 'N') {
        *a = NAN;
        return soap->error;
    }
    /* What is left is a plain decimal, which strtod reads whole (in the C
     * locale, which Nimbus never changes); out of range gives +-HUGE_VAL
     * or 0, which the core refuses or takes as it does in JSON. */
    char *stop;
    *a = strtod(s, &stop);
    if (stop != end)
        return soap->error = SOAP_TYPE;
    return soap->error;
}

/* gSOAP's soap_indouble (2.8.124), with soap_s2xsd__double in place of
 * soap_s2double: an xsi:type must be numeric, as gSOAP checks for every
 * number. */
static bool numeric_type(struct soap *soap, const char *type)
{
    static const char *const numeric[] = {":float",
                                          ":double",
                                          ":decimal",
                                          ":integer",
                                          ":positiveInteger",
                                          ":negativeInteger",
                                          ":nonPositiveInteger",
                                          ":nonNegativeInteger",
                                          ":long",
                                          ":int",
                                          ":short",
                                          ":byte",
                                          ":unsignedLong",
                                          ":unsignedInt",
                                          ":unsignedShort",
                                          ":unsignedByte"};
    if (type && !soap_match_tag(soap, soap->type, type))
        return true;
    for (size_t i = 0; i < sizeof numeric / sizeof *numeric; i++)
        if (!soap_match_tag(soap, soap->type, numeric[i]))
            return true;
    return false;
}

double *soap_in_xsd__double(struct soap *soap, const char *tag, double *a, const char *type)
{
    if (soap_element_begin_in(soap, tag, 0, NULL))
        return NULL;
    if (*soap->type && !numeric_type(soap, type)) {
        soap->error = SOAP_TYPE;
        soap_revert(soap);
        return NULL;
    }
    a = (double *)soap_id_enter(soap, soap->id, a, SOAP_TYPE_xsd__double, sizeof(double), NULL,
                                NULL, NULL, NULL);
    if (!a)
        return NULL;
    if (*soap->href != '#') {
        int err = soap_s2xsd__double(soap, soap_value(soap), a);
        if ((soap->body && soap_element_end_in(soap, tag)) || err)
            return NULL;
    } else {
        a = (double *)soap_id_forward(soap, soap->href, a, 0, SOAP_TYPE_xsd__double,
                                      SOAP_TYPE_xsd__double, sizeof(double), 0, NULL, NULL);
        if (soap->body && soap_element_end_in(soap, tag))
            return NULL;
    }
    return a;
}
