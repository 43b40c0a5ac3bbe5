/*
 * smx.h - the state message batch (.SMX) a management point drops into
 * auth/statesys.box: a <Report> whose header names the client and whose
 * body holds <StateMessage> records (seed 004, "State Message Processing
 * Flow").
 *
 * The parser is a libxml2 SAX2 stream over a file descriptor or a buffer:
 * it never builds a tree and never holds more than one record, so a file's
 * size does not decide the memory used.  It accepts UTF-16LE and UTF-16BE
 * with or without a byte order mark and UTF-8 (with or without a mark)
 * whatever the declaration says, as management points label UTF-8 content
 * "UTF-16".  It refuses any document type declaration (SMX files have none,
 * and a DTD is how external entities and entity bombs arrive), loads
 * nothing from the network and expands no entity.  Nothing here logs and
 * nothing touches the database: records are handed to a callback, checked
 * against the topic-type rules of DESIGN.md section 2.6.
 */
#ifndef STATESYS_SMX_H
#define STATESYS_SMX_H

#include <stddef.h>

/* Bounds of the stored fields (the columns they land in). */
#define SMX_CLIENT_ID_MAX 64 /* System_DISC.SMS_Unique_Identifier0 */
#define SMX_NAME_MAX 64      /* Netbios_Name0, Client_Version0 */
#define SMX_TOPIC_ID_MAX 512 /* SR_CurrentState.TopicID */
#define SMX_USER_MAX 256     /* UserName, UserSID */
#define SMX_PARAMS_MAX 4000  /* the Param values joined by tabs */
#define SMX_PARAM_COUNT_MAX 64
#define SMX_TIME_LEN 23 /* "YYYY-MM-DD HH:MM:SS.mmm" */

/* Why a record is invalid (0: it is valid). */
typedef enum {
    SMX_OK = 0,
    SMX_BAD_TIME,       /* MessageTime missing, malformed or absurd */
    SMX_BAD_SERIAL,     /* SerialNumber missing, not a number or out of range */
    SMX_BAD_TOPIC,      /* no Topic, or its ID missing, too long or with control characters */
    SMX_BAD_TOPIC_TYPE, /* Type missing or not a number */
    SMX_BAD_STATE,      /* no State, or its ID not a number */
    SMX_UNKNOWN_STATE,  /* a state ID the topic type does not have */
    SMX_BAD_TOPIC_ID,   /* a topic ID that is not what its type needs (an update GUID, ...) */
    SMX_BAD_PARAMS,     /* too many or too long parameters, or a tab or newline in one */
    SMX_BAD_FIELD       /* User, UserSID, IDType or Criticality malformed or too long */
} smx_invalid;

/* The identification of the client, from ReportHeader/Identification/Machine. */
typedef struct smx_header {
    char client_id[SMX_CLIENT_ID_MAX + 1]; /* canonical "GUID:XXXXXXXX-...", upper case */
    char netbios[SMX_NAME_MAX + 1];
    char client_version[SMX_NAME_MAX + 1];
    int has_client_id;        /* a valid ClientID was found */
    int bad_netbios;          /* NetBIOSName present but too long or with control characters */
    long long report_records; /* StateMessage elements seen */
} smx_header;

/*
 * One state message.  Strings point into the parser's buffers and are valid
 * during the callback only.  When invalid != SMX_OK the other fields may be
 * partly filled and must not be applied.
 */
typedef struct smx_record {
    smx_invalid invalid;
    long long time_ms;           /* MessageTime as UTC milliseconds since 1970 */
    char time[SMX_TIME_LEN + 1]; /* the same as "YYYY-MM-DD HH:MM:SS.mmm" UTC */
    long long serial;            /* SerialNumber */
    long long topic_type;        /* Topic Type */
    long long id_type;           /* Topic IDType (0 when absent) */
    long long state_id;          /* State ID */
    long long criticality;       /* State Criticality (0 when absent) */
    const char *topic_id;        /* as sent */
    const char *key;             /* the canonical topic key (see smx_record_check) */
    const char *user, *user_sid; /* "" when absent */
    const char *params;          /* Param values joined by tabs, "" when none */
    int nparams;
    long long revision; /* type 500: the first Param as a number, else -1 */
} smx_record;

typedef void (*smx_record_fn)(void *ud, const smx_record *r);

typedef struct smx_options {
    size_t max_bytes; /* refuse input longer than this (CM_ETOOBIG); 0 = no cap */
    long long now_ms; /* "now" for the sanity check of MessageTime; 0 = the clock */
} smx_options;

/*
 * Parse a whole report from fd (read to its end) or from memory.  Each
 * StateMessage is checked and handed to fn (valid or not) as soon as it
 * ends.  Returns 0 when the document is well formed (whatever its records
 * held), CM_EPARSE with a reason in err for a document that is not (or that
 * has a DTD, or no <Report> root), CM_ETOOBIG when over opt->max_bytes, or
 * a negated errno for a read error.  A file that fails may already have
 * handed records to fn: the caller discards them.
 */
int smx_parse_fd(int fd, const smx_options *opt, smx_header *hdr, smx_record_fn fn, void *ud,
                 char *err, size_t errlen);
int smx_parse_mem(const void *buf, size_t len, const smx_options *opt, smx_header *hdr,
                  smx_record_fn fn, void *ud, char *err, size_t errlen);

/* Text for an invalid reason, for log lines. */
const char *smx_invalid_text(smx_invalid why);

/*
 * Parse a WMI (CIM_DATETIME) time, "20140120171855.573000+000": local time
 * and its offset from UTC in minutes.  Returns 0 and the UTC milliseconds
 * since 1970, or CM_EPARSE.  Years before 1970 or after 9999 are refused.
 */
int smx_parse_wmi_time(const char *s, long long *utc_ms);
/* Format UTC milliseconds as "YYYY-MM-DD HH:MM:SS.mmm" (buf of SMX_TIME_LEN + 1). */
void smx_format_time(long long utc_ms, char *buf);
/* The reverse, for times read back from the database ("YYYY-MM-DD HH:MM:SS[.fff]", UTC). */
int smx_parse_sql_time(const char *s, long long *utc_ms);

/*
 * Canonical GUID forms: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in the case
 * asked (upper != 0 for upper case), from a GUID with or without braces.
 * Returns 0, or CM_EPARSE when s is not a GUID.  out holds 37 bytes.
 */
int smx_guid_canonical(const char *s, size_t len, int upper, char *out);

#endif
