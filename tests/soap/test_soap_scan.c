/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * soap/soap_scan.c: the pre-parse scan that refuses markup declarations and
 * excess nesting. Cases at the limit and one past it, and the places where
 * a '<' is data (comments, CDATA, processing instructions) or a '>' is
 * inside an attribute value; binary xsi:types in the Body and only there;
 * bytes that are not UTF-8, characters and references XML 1.0 forbids, a
 * declared encoding other than UTF-8, a Body with more than one child,
 * attributes per tag and namespace declarations in scope at their limits
 * and one past; and whether a body may put ids in gSOAP's id table.
 */
#include "nimbus_cunit.h"
#include <stdio.h>
#include <string.h>

#include "soap_internal.h"

/* Generous attribute and namespace limits: the tests of those set their own. */
static nimbus_soap_scan_t scan(const char *text, int max_depth)
{
    nimbus_soap_limits_t limits = {max_depth, 1000, 1000};
    return nimbus__soap_scan(text, strlen(text), &limits, NULL);
}

static nimbus_soap_scan_t scan_limits(const char *text, int max_attributes, int max_namespaces,
                                      nimbus_soap_scan_info_t *info)
{
    nimbus_soap_limits_t limits = {8, max_attributes, max_namespaces};
    return nimbus__soap_scan(text, strlen(text), &limits, info);
}

static void test_attributes(void)
{
    nimbus_soap_scan_info_t info;
    const char *three = "<a><b x=\"1\" y='2' xmlns:p=\"u\">t</b></a>";
    CU_ASSERT_EQUAL(scan_limits(three, 3, 8, NULL), NIMBUS_SOAP_SCAN_OK); /* at the limit */
    CU_ASSERT_EQUAL(scan_limits(three, 2, 8, &info), NIMBUS_SOAP_SCAN_ATTRIBUTES);
    CU_ASSERT_EQUAL(info.element_len, 1);
    CU_ASSERT_EQUAL(info.element[0], 'b');
    /* Counted as gSOAP's lenient reader takes them: unquoted values,
     * names without a value, spaces around '=', an empty element's '/'. */
    CU_ASSERT_EQUAL(scan_limits("<a x=1 y z = \"3\"/>", 3, 8, NULL), NIMBUS_SOAP_SCAN_OK);
    CU_ASSERT_EQUAL(scan_limits("<a x=1 y z = \"3\"/>", 2, 8, NULL), NIMBUS_SOAP_SCAN_ATTRIBUTES);
    /* Quoted values hold no names, whatever they contain. */
    CU_ASSERT_EQUAL(scan_limits("<a x=\"p q r s\" y='a=b c'/>", 2, 8, NULL), NIMBUS_SOAP_SCAN_OK);
    /* Per tag: many tags with few attributes each are fine. */
    CU_ASSERT_EQUAL(scan_limits("<a x='1'><b x='1'/><b x='1'/><b x='1'/></a>", 1, 8, NULL),
                    NIMBUS_SOAP_SCAN_OK);
}

static void test_name_length(void)
{
    char text[4 * NIMBUS_SOAP_NAME_MAX];
    char name[NIMBUS_SOAP_NAME_MAX + 2];
    for (int past = 0; past < 2; past++) {
        memset(name, 'n', sizeof name);
        name[NIMBUS_SOAP_NAME_MAX + past] = '\0';
        snprintf(text, sizeof text, "<a><%s>t</%s></a>", name, name);
        CU_ASSERT_EQUAL(scan(text, 8), past ? NIMBUS_SOAP_SCAN_LONG_NAME : NIMBUS_SOAP_SCAN_OK);
        snprintf(text, sizeof text, "<a><b %s='1'/></a>", name);
        CU_ASSERT_EQUAL(scan(text, 8), past ? NIMBUS_SOAP_SCAN_LONG_NAME : NIMBUS_SOAP_SCAN_OK);
    }
}

static void test_namespaces(void)
{
    nimbus_soap_scan_info_t info;
    /* Two on the root plus one on the child: three in scope at the child. */
    const char *nested = "<a xmlns='u' xmlns:p='v'><p:b xmlns:q='w'>t</p:b></a>";
    CU_ASSERT_EQUAL(scan_limits(nested, 8, 3, NULL), NIMBUS_SOAP_SCAN_OK); /* at the limit */
    CU_ASSERT_EQUAL(scan_limits(nested, 8, 2, &info), NIMBUS_SOAP_SCAN_NAMESPACES);
    CU_ASSERT_EQUAL(info.element_len, 3); /* p:b */
    /* Declarations leave scope with their element: siblings do not add up,
     * so a batch that declares a namespace on every item is fine. */
    const char *siblings = "<a xmlns:p='v'><b xmlns:q='w'>1</b><b xmlns:q='w'>2</b>"
                           "<b xmlns:q='w'/><b xmlns:q='w'>3</b></a>";
    CU_ASSERT_EQUAL(scan_limits(siblings, 8, 2, NULL), NIMBUS_SOAP_SCAN_OK);
    CU_ASSERT_EQUAL(scan_limits(siblings, 8, 1, NULL), NIMBUS_SOAP_SCAN_NAMESPACES);
    /* xmlns-like names that are not declarations do not count. */
    CU_ASSERT_EQUAL(scan_limits("<a xmlnsx='1' xmlns:p='v'/>", 8, 1, NULL), NIMBUS_SOAP_SCAN_OK);
}

static void test_declarations(void)
{
    CU_ASSERT_EQUAL(scan("<?xml version=\"1.0\"?><!DOCTYPE a><a/>", 8),
                    NIMBUS_SOAP_SCAN_DECLARATION);
    CU_ASSERT_EQUAL(scan("<a><!ENTITY x \"y\"></a>", 8), NIMBUS_SOAP_SCAN_DECLARATION);
    CU_ASSERT_EQUAL(scan("<!-- c --><!DOCTYPE a><a/>", 8), NIMBUS_SOAP_SCAN_DECLARATION);
    /* Data, not declarations. */
    CU_ASSERT_EQUAL(scan("<!-- <!DOCTYPE a> --><a/>", 8), NIMBUS_SOAP_SCAN_OK);
    CU_ASSERT_EQUAL(scan("<a><![CDATA[<!ENTITY x> <b><c>]]></a>", 1), NIMBUS_SOAP_SCAN_OK);
    CU_ASSERT_EQUAL(scan("<?pi <!DOCTYPE a> <b> ?><a/>", 1), NIMBUS_SOAP_SCAN_OK);
}

static void test_depth(void)
{
    CU_ASSERT_EQUAL(scan("<a><b><c/></b></a>", 3), NIMBUS_SOAP_SCAN_OK); /* at the limit */
    CU_ASSERT_EQUAL(scan("<a><b><c></c></b></a>", 2), NIMBUS_SOAP_SCAN_TOO_DEEP);
    CU_ASSERT_EQUAL(scan("<a><b/><b/><b/></a>", 2), NIMBUS_SOAP_SCAN_OK); /* siblings */
    CU_ASSERT_EQUAL(scan("<a><b></b><b></b></a>", 2), NIMBUS_SOAP_SCAN_OK);
    /* A '>' or "/>" inside a quoted attribute value ends nothing. */
    CU_ASSERT_EQUAL(scan("<a x=\"/>\"><b y='>'><c></c></b></a>", 2), NIMBUS_SOAP_SCAN_TOO_DEEP);
    CU_ASSERT_EQUAL(scan("<a x=\"/>\"><b y='>'/></a>", 2), NIMBUS_SOAP_SCAN_OK);
    /* An unterminated tag is gSOAP's to refuse, not ours; a comment that
     * never ends is ours (test_markup). */
    CU_ASSERT_EQUAL(scan("<a><b", 1), NIMBUS_SOAP_SCAN_OK);
    CU_ASSERT_EQUAL(scan("<a><!-- never closed <b><c><d>", 1), NIMBUS_SOAP_SCAN_MARKUP);
    CU_ASSERT_EQUAL(scan("", 1), NIMBUS_SOAP_SCAN_OK);
}

/* Markup gSOAP ends elsewhere than XML does (found by fuzz_soap): the scan
 * would skip to one place and gSOAP read on from another, unchecked. */
static void test_markup(void)
{
    nimbus_soap_scan_info_t info;
    static const char *const ok[] = {
        "<?xml version=\"1.0\"?><a/>", "<!-- a - b --><a/>", "<a><?pi x y?></a>",
        "<a><![CDATA[ -- ? ]]></a>",   "<a x=\"< ?\"/>",     "<a><!----></a>",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        CU_ASSERT_EQUAL(scan(ok[i], 8), NIMBUS_SOAP_SCAN_OK);
    }
    static const struct {
        const char *text;
        size_t offset;
    } bad[] = {
        /* gSOAP ends the PI at "?x>", the scan looked for "?>" */
        {"<?xml version=\"1.0\"?x><a b='1' c='2'/>", 0},
        {"<a><?pi a?b?></a>", 3},
        {"<a><!-- a -- b --></a>", 3}, /* gSOAP ends it at "-- b -->"'s '>' */
        {"<a><!-- a -- > <b/> --></a>", 3},
        {"<a><!-- never closed", 3},
        {"<a><?pi never closed", 3},
        {"<a><![CDATA[ never closed", 3},
        {"<a>< b/></a>", 3}, /* gSOAP skips the blank */
        {"<a><%x%></a>", 3},
        {"<!-->", 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nimbus_soap_limits_t limits = {8, 1, 1000};
        memset(&info, 0, sizeof info);
        CU_ASSERT_EQUAL(nimbus__soap_scan(bad[i].text, strlen(bad[i].text), &limits, &info),
                        NIMBUS_SOAP_SCAN_MARKUP);
        CU_ASSERT_EQUAL(info.offset, bad[i].offset);
    }
}

#define ENV_OPEN                                                                                   \
    "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "                           \
    "xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:n=\"urn:nimbus:weather:v1\">"

static void test_binary_type(void)
{
    nimbus_soap_scan_info_t info;
    const char *body = ENV_OPEN "<s:Body><n:CreateStation><n:station><n:id>x</n:id>"
                                "<n:name i:type=\"xsd:base64Binary\">WsO8cmljaA==</n:name>"
                                "</n:station></n:CreateStation></s:Body></s:Envelope>";
    CU_ASSERT_EQUAL(scan_limits(body, 1000, 1000, &info), NIMBUS_SOAP_SCAN_BINARY_TYPE);
    CU_ASSERT_EQUAL(info.element_len, 6);
    CU_ASSERT_EQUAL(memcmp(info.element, "n:name", 6), 0);
    CU_ASSERT_EQUAL(info.type_len, 16);
    CU_ASSERT_EQUAL(memcmp(info.type, "xsd:base64Binary", 16), 0);
    /* hexBinary, SOAP-ENC's base64, a self-closing element, a prefix
     * declared on the element itself, single quotes. */
    CU_ASSERT_EQUAL(
        scan(ENV_OPEN "<s:Body><n:A><n:b i:type='hexBinary'>00</n:b></n:A></s:Body>", 8),
        NIMBUS_SOAP_SCAN_BINARY_TYPE);
    CU_ASSERT_EQUAL(scan(ENV_OPEN "<s:Body><n:A><n:b i:type=\"e:base64\"/></n:A></s:Body>", 8),
                    NIMBUS_SOAP_SCAN_BINARY_TYPE);
    CU_ASSERT_EQUAL(scan("<s:Envelope xmlns:s=\"x\"><s:Body><n:A><n:b "
                         "xmlns:q=\"http://www.w3.org/2001/XMLSchema-instance\" "
                         "q:type=\"xsd:base64Binary\">AA==</n:b></n:A></s:Body></s:Envelope>",
                         8),
                    NIMBUS_SOAP_SCAN_BINARY_TYPE);
    /* Text types, a binary type in a header, an attribute that is not
     * xsi:type, and base64Binary as text content all pass. */
    CU_ASSERT_EQUAL(scan(ENV_OPEN "<s:Body><n:A><n:b i:type=\"xsd:string\">x</n:b>"
                                  "<n:c i:type=\"xsd:float\">1.5</n:c></n:A></s:Body></s:Envelope>",
                         8),
                    NIMBUS_SOAP_SCAN_OK);
    CU_ASSERT_EQUAL(scan(ENV_OPEN
                         "<s:Header><h:T xmlns:h=\"urn:h\" i:type=\"xsd:base64Binary\">AA=="
                         "</h:T></s:Header><s:Body><n:A/></s:Body></s:Envelope>",
                         8),
                    NIMBUS_SOAP_SCAN_OK);
    CU_ASSERT_EQUAL(scan(ENV_OPEN "<s:Body><n:A><n:b type=\"xsd:base64Binary\" "
                                  "z:type=\"base64Binary\">base64Binary</n:b></n:A></s:Body>",
                         8),
                    NIMBUS_SOAP_SCAN_OK);
    /* A malformed attribute is gSOAP's to refuse. */
    CU_ASSERT_EQUAL(
        scan(ENV_OPEN "<s:Body><n:A><n:b i:type=base64Binary>x</n:b></n:A></s:Body>", 8),
        NIMBUS_SOAP_SCAN_OK);
}

/* Scans a body that may hold NUL bytes (len given), filling info. */
static nimbus_soap_scan_t scan_n(const char *text, size_t len, nimbus_soap_scan_info_t *info)
{
    memset(info, 0, sizeof *info);
    nimbus_soap_limits_t limits = {8, 1000, 1000};
    return nimbus__soap_scan(text, len, &limits, info);
}

#define SCAN_LIT(lit, info) scan_n(lit, sizeof(lit) - 1, info)

static void test_utf8(void)
{
    nimbus_soap_scan_info_t info;
    /* gSOAP read these as Latin-1 ("a\u00ff\u00feb"). */
    CU_ASSERT_EQUAL(SCAN_LIT("<a>a\xff\xfe"
                             "b</a>",
                             &info),
                    NIMBUS_SOAP_SCAN_BAD_UTF8);
    CU_ASSERT_EQUAL(info.offset, 4);
    /* Overlong forms gSOAP decoded: "-", "/", NUL, and a 3-byte "-". */
    const char *overlong[] = {"<a>w\xc0\xad"
                              "8</a>",
                              "<a>a\xc0\xaf"
                              "b</a>",
                              "<a>a\xc0\x80"
                              "b</a>",
                              "<a>a\xe0\x80\xad</a>", "<a>\xf0\x80\x80\xaf</a>"};
    for (size_t i = 0; i < sizeof overlong / sizeof *overlong; i++) {
        CU_ASSERT_EQUAL(scan_n(overlong[i], strlen(overlong[i]), &info), NIMBUS_SOAP_SCAN_BAD_UTF8);
    }
    /* Surrogates, past U+10FFFF, a lone continuation byte, a truncated
     * sequence at the end, and bad bytes where gSOAP never looks (a
     * comment). */
    CU_ASSERT_EQUAL(SCAN_LIT("<a>\xed\xa0\x80</a>", &info), NIMBUS_SOAP_SCAN_BAD_UTF8);
    CU_ASSERT_EQUAL(SCAN_LIT("<a>\xed\xbf\xbf</a>", &info), NIMBUS_SOAP_SCAN_BAD_UTF8);
    CU_ASSERT_EQUAL(SCAN_LIT("<a>\xf4\x90\x80\x80</a>", &info), NIMBUS_SOAP_SCAN_BAD_UTF8);
    CU_ASSERT_EQUAL(SCAN_LIT("<a>\x80</a>", &info), NIMBUS_SOAP_SCAN_BAD_UTF8);
    CU_ASSERT_EQUAL(SCAN_LIT("<a/>\xe2\x82", &info), NIMBUS_SOAP_SCAN_BAD_UTF8);
    CU_ASSERT_EQUAL(info.offset, 4);
    CU_ASSERT_EQUAL(SCAN_LIT("<a><!-- \xff --></a>", &info), NIMBUS_SOAP_SCAN_BAD_UTF8);
    CU_ASSERT_EQUAL(info.offset, 8);
    /* A UTF-16 byte order mark is not UTF-8 either. */
    CU_ASSERT_EQUAL(SCAN_LIT("\xff\xfe<\0a\0/\0>\0", &info), NIMBUS_SOAP_SCAN_BAD_UTF8);
    CU_ASSERT_EQUAL(info.offset, 0);
    /* Valid: 2, 3 and 4 bytes, U+10FFFF, a UTF-8 byte order mark. */
    CU_ASSERT_EQUAL(SCAN_LIT("\xef\xbb\xbf<a>Z\xc3\xbcrich \xe2\x82\xac \xf0\x9d\x84\x9e "
                             "\xf4\x8f\xbf\xbf</a>",
                             &info),
                    NIMBUS_SOAP_SCAN_OK);
}

static void test_xml_chars(void)
{
    nimbus_soap_scan_info_t info;
    /* A raw NUL ended the string in gSOAP: "a\0b" was stored as "a". */
    CU_ASSERT_EQUAL(SCAN_LIT("<a>a\0b</a>", &info), NIMBUS_SOAP_SCAN_BAD_CHAR);
    CU_ASSERT_EQUAL(info.offset, 4);
    CU_ASSERT_EQUAL(info.code_point, 0);
    CU_ASSERT_EQUAL(SCAN_LIT("<a>\x01</a>", &info), NIMBUS_SOAP_SCAN_BAD_CHAR);
    CU_ASSERT_EQUAL(info.code_point, 1);
    CU_ASSERT_EQUAL(SCAN_LIT("<a x='\x0b'/>", &info), NIMBUS_SOAP_SCAN_BAD_CHAR);
    CU_ASSERT_EQUAL(info.code_point, 0xB);
    CU_ASSERT_EQUAL(SCAN_LIT("<a><![CDATA[\x1f]]></a>", &info), NIMBUS_SOAP_SCAN_BAD_CHAR);
    CU_ASSERT_EQUAL(SCAN_LIT("<a>\xef\xbf\xbe</a>", &info), NIMBUS_SOAP_SCAN_BAD_CHAR);
    CU_ASSERT_EQUAL(info.code_point, 0xFFFE);
    CU_ASSERT_EQUAL(SCAN_LIT("<a>\xef\xbf\xbf</a>", &info), NIMBUS_SOAP_SCAN_BAD_CHAR);
    CU_ASSERT_EQUAL(info.code_point, 0xFFFF);
    /* Tab, LF, CR, DEL and U+FFFD are XML characters (the core refuses
     * controls in names; that is its rule, not XML's). */
    CU_ASSERT_EQUAL(SCAN_LIT("<a>\t\n\r\x7f\xef\xbf\xbd</a>", &info), NIMBUS_SOAP_SCAN_OK);
}

static void test_references(void)
{
    nimbus_soap_scan_info_t info;
    /* gSOAP read "o1&#0;junk" as "o1". */
    CU_ASSERT_EQUAL(SCAN_LIT("<a>o1&#0;junk</a>", &info), NIMBUS_SOAP_SCAN_BAD_CHAR_REF);
    CU_ASSERT_EQUAL(info.offset, 5);
    CU_ASSERT_EQUAL(info.text_len, 4);
    CU_ASSERT_EQUAL(memcmp(info.text, "&#0;", 4), 0);
    CU_ASSERT_EQUAL(info.code_point, 0);
    struct {
        const char *ref;
        unsigned long cp;
    } bad[] = {{"&#x0;", 0},
               {"&#1;", 1},
               {"&#8;", 8},
               {"&#xB;", 0xB},
               {"&#xC;", 0xC},
               {"&#xE;", 0xE},
               {"&#x1F;", 0x1F},
               {"&#31;", 31},
               {"&#xD800;", 0xD800},
               {"&#xdfff;", 0xDFFF},
               {"&#55296;", 0xD800},
               {"&#xFFFE;", 0xFFFE},
               {"&#xFFFF;", 0xFFFF},
               {"&#65535;", 0xFFFF},
               {"&#x110000;", 0x110000},
               {"&#1114112;", 0x110000},
               {"&#x0000000000000000000001;", 1},
               {"&#99999999999999999999999;", 0x110000},
               {"&#xFFFFFFFFFFFFFFFF00000041;", 0x110000}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char body[128];
        snprintf(body, sizeof body, "<a>x%sy</a>", bad[i].ref);
        CU_ASSERT_EQUAL(scan_n(body, strlen(body), &info), NIMBUS_SOAP_SCAN_BAD_CHAR_REF);
        CU_ASSERT_EQUAL(info.code_point, bad[i].cp);
        CU_ASSERT_EQUAL(info.offset, 4);
    }
    /* In an attribute value too. */
    CU_ASSERT_EQUAL(SCAN_LIT("<a b=\"&#0;\"/>", &info), NIMBUS_SOAP_SCAN_BAD_CHAR_REF);
    /* The edges of XML's ranges, and the predefined entities, pass. */
    CU_ASSERT_EQUAL(SCAN_LIT("<a b='&amp;&#x9;'>&#9;&#xA;&#13;&#32;&#xD7FF;&#xE000;&#xFFFD;"
                             "&#65536;&#99999;&#x0041;&lt;&gt;&amp;&quot;&apos;</a>",
                             &info),
                    NIMBUS_SOAP_SCAN_OK);
    /* References gSOAP reads only in part (7 bytes after the '&'): it
     * read "&#x1F600;" as U+1F600 and ";". */
    const char *long_refs[] = {"&#x1F600;",  "&#128512;", "&#x10000;", "&#x10FFFF;",
                               "&#1114111;", "&#x00041;", "&#0000065;"};
    for (size_t i = 0; i < sizeof long_refs / sizeof *long_refs; i++) {
        char body[64];
        snprintf(body, sizeof body, "<a>%s</a>", long_refs[i]);
        CU_ASSERT_EQUAL(scan_n(body, strlen(body), &info), NIMBUS_SOAP_SCAN_LONG_CHAR_REF);
        CU_ASSERT_EQUAL(info.text_len, strlen(long_refs[i]));
    }
    CU_ASSERT_EQUAL(SCAN_LIT("<a>&#x1F600;</a>", &info), NIMBUS_SOAP_SCAN_LONG_CHAR_REF);
    CU_ASSERT_EQUAL(info.code_point, 0x1F600);
    /* Undefined entities (gSOAP expanded HTML's &nbsp;) and malformed
     * references. */
    const char *malformed[] = {"&nbsp;", "&bogus;", "&#;", "&#x;", "&#X41;", "&#65",
                               "&#x4G;", "& ",      "&",   "&lt",  "&#-1;"};
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        char body[64];
        snprintf(body, sizeof body, "<a>%s</a>", malformed[i]);
        CU_ASSERT_EQUAL(scan_n(body, strlen(body), &info), NIMBUS_SOAP_SCAN_BAD_REFERENCE);
        CU_ASSERT_EQUAL(info.offset, 3);
    }
    CU_ASSERT_EQUAL(SCAN_LIT("<a>&nbsp;</a>", &info), NIMBUS_SOAP_SCAN_BAD_REFERENCE);
    CU_ASSERT_EQUAL(info.text_len, 6);
    CU_ASSERT_EQUAL(memcmp(info.text, "&nbsp;", 6), 0);
    /* Comments, CDATA sections and PIs hold no references: data. */
    CU_ASSERT_EQUAL(
        SCAN_LIT("<a><!-- &#0; &nbsp; & --><![CDATA[&#0; &]]><?pi &#0;?>&#65;</a>", &info),
        NIMBUS_SOAP_SCAN_OK);
    /* ...but references around them are read. */
    CU_ASSERT_EQUAL(SCAN_LIT("<a><!-- x -->&#0;</a>", &info), NIMBUS_SOAP_SCAN_BAD_CHAR_REF);
    CU_ASSERT_EQUAL(info.offset, 13);
    CU_ASSERT_EQUAL(SCAN_LIT("<a>&#0;<!-- x --></a>", &info), NIMBUS_SOAP_SCAN_BAD_CHAR_REF);
    CU_ASSERT_EQUAL(SCAN_LIT("<a>&#0;<!-- never closed", &info), NIMBUS_SOAP_SCAN_BAD_CHAR_REF);
}

static void test_encoding(void)
{
    nimbus_soap_scan_info_t info;
    const char *utf8[] = {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>",
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><a/>",
        "<?xml version='1.0' encoding='Utf-8' standalone='yes'?><a/>",
        "<?xml version=\"1.0\"?><a/>",
        "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>",
        "<a/>",
        "<?xml-stylesheet href=\"x\" encoding=\"latin1\"?><a/>", /* not the declaration */
    };
    for (size_t i = 0; i < sizeof utf8 / sizeof *utf8; i++) {
        CU_ASSERT_EQUAL(scan_n(utf8[i], strlen(utf8[i]), &info), NIMBUS_SOAP_SCAN_OK);
    }
    const char *other[] = {"ISO-8859-1", "UTF-16", "utf8", "US-ASCII", "windows-1252", ""};
    for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
        char body[128];
        snprintf(body, sizeof body, "<?xml version=\"1.0\" encoding=\"%s\"?><a/>", other[i]);
        CU_ASSERT_EQUAL(scan_n(body, strlen(body), &info), NIMBUS_SOAP_SCAN_ENCODING);
        CU_ASSERT_EQUAL(info.text_len, strlen(other[i]));
        CU_ASSERT_EQUAL(memcmp(info.text, other[i], info.text_len), 0);
    }
    CU_ASSERT_EQUAL(
        SCAN_LIT("\xef\xbb\xbf<?xml version='1.0' encoding = 'ISO-8859-1' ?><a/>", &info),
        NIMBUS_SOAP_SCAN_ENCODING);
}

#define ENV12_OPEN                                                                                 \
    "<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\" "                         \
    "xmlns:n=\"urn:nimbus:weather:v1\">"

static void test_body_children(void)
{
    nimbus_soap_scan_info_t info;
    /* gSOAP answered the first and skipped the second. */
    const char *two = ENV_OPEN "<s:Body><n:GetStation><n:id>o1</n:id></n:GetStation>"
                               "<n:DeleteStation><n:id>o1</n:id></n:DeleteStation></s:Body>"
                               "</s:Envelope>";
    CU_ASSERT_EQUAL(scan_n(two, strlen(two), &info), NIMBUS_SOAP_SCAN_BODY_CHILDREN);
    CU_ASSERT_EQUAL(info.element_len, 15);
    CU_ASSERT_EQUAL(memcmp(info.element, "n:DeleteStation", 15), 0);
    CU_ASSERT_EQUAL(info.first_len, 12);
    CU_ASSERT_EQUAL(memcmp(info.first, "n:GetStation", 12), 0);
    /* SOAP 1.2, other prefixes, default namespaces, empty elements,
     * whitespace, comments and PIs between them. */
    CU_ASSERT_EQUAL(scan(ENV12_OPEN "<env:Body>\n  <n:ListStations/>\n  <!-- x -->\n  "
                                    "<n:ListStations/>\n</env:Body></env:Envelope>",
                         8),
                    NIMBUS_SOAP_SCAN_BODY_CHILDREN);
    CU_ASSERT_EQUAL(scan("<Envelope xmlns=\"http://schemas.xmlsoap.org/soap/envelope/\"><Body>"
                         "<GetStation xmlns=\"urn:nimbus:weather:v1\"><id>a</id></GetStation>"
                         "<?pi?><x/></Body></Envelope>",
                         8),
                    NIMBUS_SOAP_SCAN_BODY_CHILDREN);
    /* One child, however many grandchildren; Header children do not count;
     * whitespace and comments around the one child. */
    CU_ASSERT_EQUAL(scan(ENV12_OPEN
                         "<env:Header><a:x xmlns:a=\"urn:a\"/><a:y xmlns:a=\"urn:a\">1</a:y>"
                         "</env:Header>\n<env:Body>\n <!-- one --> <n:RecordObservations>"
                         "<n:stationId>a</n:stationId><n:observation><n:temperature>1"
                         "</n:temperature></n:observation><n:observation/><n:observation/>"
                         "</n:RecordObservations>\n <!-- end --> \n</env:Body></env:Envelope>",
                         8),
                    NIMBUS_SOAP_SCAN_OK);
    CU_ASSERT_EQUAL(scan("<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/"
                         "envelope/\"><soapenv:Body><n:ListStations xmlns:n=\"urn:nimbus:weather:"
                         "v1\"/></soapenv:Body></soapenv:Envelope>",
                         8),
                    NIMBUS_SOAP_SCAN_OK);
    /* An empty Body is gSOAP's to refuse; a Body that is not the
     * Envelope's child is no Body. */
    CU_ASSERT_EQUAL(scan(ENV_OPEN "<s:Body></s:Body></s:Envelope>", 8), NIMBUS_SOAP_SCAN_OK);
    CU_ASSERT_EQUAL(scan(ENV_OPEN "<s:Body/><n:a/></s:Envelope>", 8), NIMBUS_SOAP_SCAN_OK);
    CU_ASSERT_EQUAL(scan(ENV_OPEN "<s:Header><h:Body xmlns:h=\"urn:h\"><h:a/><h:b/></h:Body>"
                                  "</s:Header><s:Body><n:A/></s:Body></s:Envelope>",
                         8),
                    NIMBUS_SOAP_SCAN_OK);
}

/* Whether gSOAP's id table may fill (info.ids): any "id" or "ref" in a start
 * tag's attributes, or a scan that stopped early; element names and text do
 * not count. */
static bool ids(const char *text)
{
    nimbus_soap_scan_info_t info;
    info.ids = true;
    CU_ASSERT_EQUAL(scan_limits(text, 1000, 1000, &info), NIMBUS_SOAP_SCAN_OK);
    return info.ids;
}

static void test_ids(void)
{
    CU_ASSERT_FALSE(ids(ENV_OPEN "<s:Body><n:GetWeather><n:stationId>id ref</n:stationId>"
                                 "</n:GetWeather></s:Body></s:Envelope>"));
    CU_ASSERT_FALSE(ids("<a x=\"1\"><b/></a>"));
    CU_ASSERT_TRUE(ids("<a><b id=\"x\"/></a>"));
    CU_ASSERT_TRUE(ids("<a><b href=\"#x\"/></a>"));
    CU_ASSERT_TRUE(ids("<a xmlns:e=\"http://www.w3.org/2003/05/soap-encoding\"><b e:ref=\"x\"/>"
                       "<c e:id=\"x\"/></a>"));
    CU_ASSERT_TRUE(ids("<a><b x=\"ridge\"/></a>")); /* in a value: counted all the same */
    CU_ASSERT_TRUE(ids("<a><b x=\"1\""));           /* never closed: the rest is unknown */
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"declarations", test_declarations},
        {"depth", test_depth},
        {"attributes", test_attributes},
        {"namespaces", test_namespaces},
        {"name length", test_name_length},
        {"binary_type", test_binary_type},
        {"utf8", test_utf8},
        {"xml_chars", test_xml_chars},
        {"references", test_references},
        {"encoding", test_encoding},
        {"body_children", test_body_children},
        {"ids", test_ids},
        {"markup", test_markup},
        {NULL, NULL},
    };
    return nimbus_test_run("soap_scan", cases);
}
