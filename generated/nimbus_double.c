/*
 * The custom gSOAP serializer for xsd:double (declared extern in
 * nimbus_double.h, mapped by typemap.dat). Output goes through the core's
 * nimbus_double_format, the shortest text that reads back as the same double,
 * so SOAP prints 40.0801 where gSOAP's default "%.17lg" would print
 * 40.080100000000002, and SOAP and JSON answers carry identical numbers.
 * Input uses gSOAP's own parser (it accepts INF/NaN; the core refuses them).
 * Every restricted double type of the WSDL (Latitude, Temperature, ...) is a
 * typedef of xsd__double, so this one serializer covers all of them.
 */
#include "soapH.h"

#include <math.h>

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

int soap_s2xsd__double(struct soap *soap, const char *s, double *a)
{
    return soap_s2double(soap, s, a);
}

double *soap_in_xsd__double(struct soap *soap, const char *tag, double *a, const char *type)
{
    return soap_indouble(soap, tag, a, type, SOAP_TYPE_xsd__double);
}
