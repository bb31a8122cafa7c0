/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * soapcpp2 input: the part of OASIS WS-Security 1.0 Nimbus reads, a
 * UsernameToken with a PasswordText password in a wsse:Security header.
 * gSOAP's import/wsse.h would drag in XML-DSig, XML-Enc and SAML 1 and 2
 * (thousands of generated types) for one header we only read; this
 * declares just that subset, with the same names as wsse.h, so code written
 * against it reads soap->header->wsse__Security->UsernameToken as usual.
 * Unknown children of wsse:Security (Timestamp, signatures) are skipped, not
 * refused, because the header is declared without strict children.
 */
//gsoap wsse schema namespace: http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd
//gsoap wsse schema elementForm: qualified
//gsoap wsse schema attributeForm: unqualified
//gsoap wsu schema namespace: http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd
//gsoap wsu schema elementForm: qualified
//gsoap wsu schema attributeForm: unqualified

typedef struct _wsse__Password {
    char *__item;
    @char *Type;
} _wsse__Password;

typedef struct _wsse__UsernameToken {
    char *Username;
    struct _wsse__Password *Password;
    @char *wsu__Id;
} _wsse__UsernameToken;

typedef struct _wsse__Security {
    struct _wsse__UsernameToken *UsernameToken;
    @char *SOAP_ENV__actor;
    @char *SOAP_ENV__role;
} _wsse__Security;

struct SOAP_ENV__Header {
    mustUnderstand _wsse__Security *wsse__Security 0;
};
