/*
 * cabwrite.h - writing Microsoft CAB files (MS-CAB), for the catalog
 * generator's wsusscn2-style cabs and for compressed update blobs.
 *
 * libmspack reads cabs but cannot write them, so this writes them itself:
 * one cabinet, one folder, data blocks stored uncompressed (compression
 * type 0, "none", which the format defines and every reader accepts), no
 * checksums (the format allows 0).  File names are stored with '\\' as the
 * separator, as Windows tools write them.  Files are added as a stream;
 * their data goes to an unlinked temporary file beside the output until
 * the directory, which the format puts first, is known.
 */
#ifndef CM_CABWRITE_H
#define CM_CABWRITE_H

#include <stddef.h>

#define CABW_MAX_FILES 65535u                /* the format's 16-bit file count */
#define CABW_MAX_BYTES (2040u * 1024 * 1024) /* one folder: 65535 blocks of 32 KB */

typedef struct cabw cabw;

/* Start a cab at path (created or truncated when cabw_finish runs). */
int cabw_create(cabw **out, const char *path);
/*
 * Add a file.  name: relative, '/' or '\\' separated, no empty, "." or ".."
 * component, printable ASCII, under 256 bytes (CM_ENAME otherwise).
 * CM_ETOOBIG past CABW_MAX_FILES or CABW_MAX_BYTES.
 */
int cabw_add(cabw *w, const char *name, const void *data, size_t len);
/* Add a file whose content is read from src_path. */
int cabw_add_path(cabw *w, const char *name, const char *src_path);
/* Write the cab and free w (whatever the result). */
int cabw_finish(cabw *w);
/* Free w without writing anything. */
void cabw_abort(cabw *w);

/* A cab holding one file, in memory (*out malloc'd). */
int cabw_single_mem(const char *name, const void *data, size_t len, unsigned char **out,
                    size_t *outlen);

#endif
