/*
 * soap.h - SOAP 1.1 over HTTP(S) for the WSUS web services: a client on
 * libcurl, envelope and fault helpers on libxml2, and a small growable
 * buffer to write XML with.
 *
 * Used by both ends of the WSUS protocols: the administration API
 * (wsusapi.h) and the server-to-server protocol (wsusss.h) on the client
 * side, wsusd on the server side.  Errors are reported as .NET's web
 * services report them, because those texts are what ConfigMgr logs and
 * what users search for: a refused connection reads "Unable to connect to
 * the remote server", a 401 "The request failed with HTTP status 401:
 * Unauthorized".  The library never logs; soap_client_error() holds the
 * text of the last failure.
 *
 * XML from the network is parsed with XML_PARSE_NONET and without entity
 * substitution or DTD loading, and responses are bounded in size.
 */
#ifndef CM_SOAP_H
#define CM_SOAP_H

#include <stdarg.h>
#include <stddef.h>

#include <libxml/tree.h>

/* The SOAP 1.1 envelope namespace. */
#define SOAP_ENV_NS "http://schemas.xmlsoap.org/soap/envelope/"

/* Error codes (below cm_error.h's range; soap_strerror() names them). */
enum {
    SOAP_ECONNECT = -10201, /* refused / unreachable: "Unable to connect to the remote server" */
    SOAP_ERESOLVE = -10202, /* "The remote name could not be resolved: '<host>'" */
    SOAP_EUNAUTHORIZED = -10203, /* "The request failed with HTTP status 401: Unauthorized" */
    SOAP_EHTTP = -10204,         /* any other non-200 answer without a SOAP fault:
                                    "The request failed with HTTP status 500: Internal Server Error" */
    SOAP_EFAULT = -10205,        /* a SOAP fault; the error text is its faultstring */
    SOAP_EBADRESPONSE = -10206,  /* an answer that is not the expected SOAP message */
    SOAP_ETIMEOUT = -10207,      /* "The operation has timed out" */
    SOAP_ECLOSED = -10208,       /* the peer closed mid-answer: "The underlying connection was
                                    closed: An unexpected error occurred on a receive." */
    SOAP_ETLS = -10209           /* "The underlying connection was closed: Could not establish
                                    trust relationship for the SSL/TLS secure channel." */
};

/* The fixed text of a code (soap codes and cm_error.h codes). */
const char *soap_strerror(int code);

/* ------------------------------------------------------------------ */
/* Buffer                                                              */
/* ------------------------------------------------------------------ */

/* A growable NUL-terminated buffer; a failed allocation is sticky (err). */
typedef struct soap_buf {
    char *data;
    size_t len, cap;
    int err;
} soap_buf;

void soap_buf_init(soap_buf *b);
void soap_buf_free(soap_buf *b);
void soap_buf_add(soap_buf *b, const char *s, size_t n);
void soap_buf_puts(soap_buf *b, const char *s);
void soap_buf_printf(soap_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append text escaped for XML element content or attribute values. */
void soap_buf_escape(soap_buf *b, const char *s);
void soap_buf_escapen(soap_buf *b, const char *s, size_t n);
/* n bytes of text as CDATA: the same text to a reader as soap_buf_escapen, read faster. */
void soap_buf_cdata(soap_buf *b, const char *s, size_t n);
/* <name>escaped text</name> */
void soap_buf_elem(soap_buf *b, const char *name, const char *text);
void soap_buf_elem_int(soap_buf *b, const char *name, long long v);
/* Hand the data to the caller (who frees it); the buffer is reset. */
char *soap_buf_take(soap_buf *b, size_t *len);

/* ------------------------------------------------------------------ */
/* Envelopes and faults                                                */
/* ------------------------------------------------------------------ */

/* Start and finish a SOAP 1.1 envelope around one body element. */
void soap_envelope_begin(soap_buf *b);
void soap_envelope_end(soap_buf *b);

/*
 * A SOAP 1.1 fault envelope: faultcode ("soap:Client" or "soap:Server"),
 * faultstring, and when error_code is not NULL the detail MS-WSUSSS 2.2.9.1
 * defines (ErrorCode such as "InvalidCookie", Message, a fresh ID and, when
 * method is not NULL, the Method the fault came from).  Malloc'd.
 */
char *soap_fault_build(const char *faultcode, const char *faultstring, const char *error_code,
                       const char *method, size_t *len);

/* Reject a document whose prolog holds a DOCTYPE (SOAP forbids DTDs): 1 if it has one. */
int soap_has_doctype(const char *xml, size_t len);

/*
 * Parse a SOAP request or response safely (no network, no entities, depth
 * and size bounded by libxml2's defaults).  On success *doc owns the tree
 * and *op is the first element child of soap:Body (the operation, the
 * response or the Fault).  Returns CM_EPARSE for anything that is not a
 * SOAP 1.1 envelope with a body element.
 */
int soap_parse(const char *xml, size_t len, xmlDoc **doc, xmlNode **op);

/* If op is a soap:Fault, copy its faultstring (and detail ErrorCode) and return 1. */
int soap_fault_read(xmlNode *op, char *faultstring, size_t fslen, char *error_code, size_t eclen);

/* Tree helpers (namespace-agnostic local names). */
xmlNode *soap_child(xmlNode *parent, const char *local_name);
xmlNode *soap_next(xmlNode *node, const char *local_name); /* next sibling with that name */
/* The text of a child element, or def when missing; the result is owned by buf. */
const char *soap_child_text(xmlNode *parent, const char *local_name, char *buf, size_t len,
                            const char *def);
/* The text of an element (text and CDATA children, no entity expansion), malloc'd. */
char *soap_text(xmlNode *node);
/* Text of a child as malloc'd string (NULL when missing or on allocation failure). */
char *soap_child_strdup(xmlNode *parent, const char *local_name);
int soap_child_int(xmlNode *parent, const char *local_name, long long *out); /* 0 or CM_EPARSE */
int soap_child_bool(xmlNode *parent, const char *local_name, int def);

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

typedef struct soap_endpoint {
    const char *host; /* name or address */
    int port;         /* 0 = 80 / 443 */
    int use_ssl;      /* https */
    const char *user; /* HTTP Basic credentials, or NULL for anonymous */
    const char *password;
    long timeout_s;         /* whole request; 0 = 300 s */
    long connect_timeout_s; /* 0 = 30 s */
    const char *ca_file;    /* trust anchors for https; NULL = the system's */
    int insecure;           /* https without certificate checks (lab self-signed servers) */
    const char *proxy;      /* "host:port" or NULL */
    const char *proxy_user; /* "user:password" or NULL */
    size_t max_response;    /* 0 = 256 MB */
} soap_endpoint;

typedef struct soap_client soap_client;

/* A client for one server; the endpoint's strings are copied. */
int soap_client_new(soap_client **out, const soap_endpoint *ep);
void soap_client_free(soap_client *c);

/*
 * POST one SOAP 1.1 request to path (e.g. "/ApiRemoting30/WebService.asmx")
 * with the given SOAPAction URI (e.g. "<namespace>/<operation>").
 * body is the inner XML of soap:Body (one element).  On success (HTTP 200
 * with an envelope whose body is not a fault) *doc owns the parsed answer
 * and *resp is the body element (e.g. <GetCookieResponse>).  On failure
 * returns a SOAP_E* code and soap_client_error() holds the full text.
 */
int soap_call(soap_client *c, const char *path, const char *action, const char *body,
              size_t body_len, xmlDoc **doc, xmlNode **resp);
/*
 * The same exchange for a caller that reads a large answer itself, without
 * a tree: on HTTP 200 with a body, *xml and *len are the raw answer (owned
 * by c, valid until its next call) and 0 is returned.  Any other answer
 * gives the code and text soap_call gives.  A caller whose own reading
 * finds something other than what it expected (a fault sent with 200, say)
 * hands the answer back to soap_client_answer().
 */
int soap_call_raw(soap_client *c, const char *path, const char *action, const char *body,
                  size_t body_len, const char **xml, size_t *len);
/* The last answer of c read as soap_call reads it: the tree, or the fault or status code. */
int soap_client_answer(soap_client *c, xmlDoc **doc, xmlNode **resp);

/* A plain GET (liveness checks); the body is returned malloc'd. */
int soap_get(soap_client *c, const char *path, int *http_status, char **body, size_t *len);

/* The text of the last failure (the .NET-style message), "" when none. */
const char *soap_client_error(const soap_client *c);
/* The HTTP status of the last answer, 0 when there was none. */
int soap_client_http_status(const soap_client *c);
/* The fault's ErrorCode of the last SOAP_EFAULT ("" when none), e.g. "InvalidCookie". */
const char *soap_client_fault_code(const soap_client *c);

#endif
