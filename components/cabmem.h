/*
 * cabmem.h - single-file CAB archives in memory, for the MS-WSUSSS
 * XmlUpdateBlobCompressed field (an update's XML in a cab, LZX-compressed
 * by Microsoft Update, base64 on the wire).
 *
 * Reading goes through libmspack on memory buffers (no temporary files),
 * so every compression a real upstream uses (LZX, MSZIP, Quantum, none)
 * is understood.  Writing such a cab is cabwrite.h's cabw_single_mem().
 */
#ifndef CM_CABMEM_H
#define CM_CABMEM_H

#include <stddef.h>

/*
 * Extract the first file of the cab in data[0..len) into a malloc'd,
 * NUL-terminated buffer.  CM_EPARSE for anything that is not an intact cab
 * with at least one file, CM_ETOOBIG when the file is larger than max_out.
 */
int cabmem_extract(const void *data, size_t len, size_t max_out, char **out, size_t *out_len);

/* Base64 (RFC 4648, no line breaks) for the SOAP binary fields. */
char *cabmem_base64_encode(const void *data, size_t len, size_t *out_len);
/* Decode, ignoring whitespace; CM_EPARSE on a bad alphabet or length. */
int cabmem_base64_decode(const char *text, size_t len, unsigned char **out, size_t *out_len);

#endif
