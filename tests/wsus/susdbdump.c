/*
 * susdbdump.c - print a wsusd database's update metadata in a canonical,
 * sorted text form (one line per row, GUIDs instead of local IDs), so the
 * end-to-end tests can check that two servers hold identical metadata
 * whatever their dialect or the order things arrived in.
 *
 * usage: susdbdump CONNECTION       (e.g. Driver=SQLite3;Database=.../susdb.db)
 * Only the latest revision of each update is printed (what MS-WSUSSS hands
 * to a downstream server).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "db.h"

static const char *const queries[] = {
    /* revisions: identity, type, state, the XML's SHA-256 */
    "SELECT 'rev', u.UpdateID, r.RevisionNumber, r.UpdateType, COALESCE(r.CategoryType, ''), "
    "r.IsExpired, COALESCE(r.KBArticleID, ''), COALESCE(r.MsrcSeverity, ''), x.RootElementXml "
    "FROM tbRevision r JOIN tbUpdate u ON u.LocalUpdateID = r.LocalUpdateID JOIN tbXml x ON "
    "x.RevisionID = r.RevisionID WHERE r.IsLatestRevision = 1",
    "SELECT 'cat', u.UpdateID, c.CategoryType, COALESCE(p.UpdateID, ''), "
    "COALESCE(c.DisplayOrder, -1) FROM tbCategory c JOIN tbUpdate u ON u.LocalUpdateID = "
    "c.CategoryID LEFT JOIN tbUpdate p ON p.LocalUpdateID = c.ParentCategoryID",
    "SELECT 'in', u.UpdateID, cu.UpdateID FROM tbRevisionInCategory ric JOIN tbRevision r ON "
    "r.RevisionID = ric.RevisionID AND r.IsLatestRevision = 1 JOIN tbUpdate u ON u.LocalUpdateID "
    "= r.LocalUpdateID JOIN tbUpdate cu ON cu.LocalUpdateID = ric.CategoryID",
    "SELECT 'sup', u.UpdateID, s.SupersededUpdateID FROM tbRevisionSupersedesUpdate s JOIN "
    "tbRevision r ON r.RevisionID = s.RevisionID AND r.IsLatestRevision = 1 JOIN tbUpdate u ON "
    "u.LocalUpdateID = r.LocalUpdateID",
    "SELECT 'bun', u.UpdateID, b.BundledUpdateID, b.BundledRevisionNumber FROM "
    "tbBundleDependency b JOIN tbRevision r ON r.RevisionID = b.RevisionID AND "
    "r.IsLatestRevision = 1 JOIN tbUpdate u ON u.LocalUpdateID = r.LocalUpdateID",
    "SELECT 'loc', u.UpdateID, p.ShortLanguage, COALESCE(p.Title, ''), COALESCE(p.Description, "
    "'') FROM tbPreComputedLocalizedProperty p JOIN tbRevision r ON r.RevisionID = p.RevisionID "
    "AND r.IsLatestRevision = 1 JOIN tbUpdate u ON u.LocalUpdateID = r.LocalUpdateID",
    "SELECT 'file', u.UpdateID, f.FileDigest, COALESCE(f.FileName, ''), COALESCE(f.Size, -1), "
    "COALESCE(f.MUURL, '') FROM tbFileForRevision ff JOIN tbFile f ON f.FileDigest = "
    "ff.FileDigest JOIN tbRevision r ON r.RevisionID = ff.RevisionID AND r.IsLatestRevision = 1 "
    "JOIN tbUpdate u ON u.LocalUpdateID = r.LocalUpdateID",
};

static void print_field(const char *s, int hash)
{
    if (hash) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
        for (unsigned i = 0; i < n; i++)
            printf("%02x", md[i]);
        return;
    }
    for (; *s; s++)
        putchar(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

int main(int argc, char **argv)
{
    db *d = NULL;
    if (argc != 2) {
        fprintf(stderr, "usage: susdbdump CONNECTION\n");
        return 2;
    }
    if (db_open(&d, argv[1]) < 0) {
        fprintf(stderr, "susdbdump: %s\n", d ? db_errmsg(d) : "cannot connect");
        db_close(d);
        return 1;
    }
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        db_stmt *st;
        int ret = db_prepare(d, &st, queries[q]);
        if (ret < 0) {
            fprintf(stderr, "susdbdump: %s\n", db_errmsg(d));
            db_close(d);
            return 1;
        }
        int ncols = q == 0 ? 9 : q == 1 ? 5 : q == 5 ? 5 : q == 6 ? 6 : q == 4 ? 4 : 3;
        while ((ret = db_step(st)) == 1) {
            for (int c = 0; c < ncols; c++) {
                if (c)
                    putchar('\t');
                print_field(db_col_text(st, c), q == 0 && c == 8);
            }
            putchar('\n');
        }
        db_finalize(st);
        if (ret < 0) {
            fprintf(stderr, "susdbdump: %s\n", db_errmsg(d));
            db_close(d);
            return 1;
        }
    }
    db_close(d);
    return 0;
}
