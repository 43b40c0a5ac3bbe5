-- 10_susdb.sql (PostgreSQL) - the tables of wsusd's own database, named after
-- the WSUS database SUSDB (DESIGN.md section 8).  This is not the site
-- database: wsusd applies it at start and cmsite init applies it to
-- data/susdb.db.  The SQLite file of the same name holds the same
-- tables with the same columns in the same order.  One statement per GO
-- batch, everything idempotent, comments without semicolons, quotes,
-- question marks or braces (the rules of sql/README.md).
--
-- wsusd assigns LocalUpdateID, RevisionID and ChangeAnchor itself (its sync
-- is the only writer), so the keys are plain integers.  Times are UTC text
-- YYYY-MM-DD HH:MM:SS.mmm, flags INTEGER 0/1, GUIDs lower-case text.

CREATE TABLE IF NOT EXISTS tbSchemaVersion (
    Version                 INTEGER PRIMARY KEY,
    AppliedTime             VARCHAR(32)
)
GO

-- Server settings as name and value: what the administration API
-- configures (sync source, upstream, proxy, languages) and wsusd state
-- (ServerID, cookie key, anchors of the upstream it syncs from).
CREATE TABLE IF NOT EXISTS tbConfiguration (
    Name                    VARCHAR(128) PRIMARY KEY,
    Value                   TEXT
)
GO

-- Update languages: LanguageID is the LCID, Enabled the languages synced.
CREATE TABLE IF NOT EXISTS tbLanguage (
    LanguageID              INTEGER PRIMARY KEY,
    ShortLanguage           VARCHAR(16) NOT NULL,
    LongLanguage            VARCHAR(64) NOT NULL,
    Enabled                 INTEGER NOT NULL DEFAULT 0
)
GO

-- The one subscription: the schedule and the outcome of the last sync.
CREATE TABLE IF NOT EXISTS tbSubscription (
    SubscriptionID          INTEGER PRIMARY KEY,
    SynchronizeAutomatically INTEGER NOT NULL DEFAULT 0,
    SynchronizeAutomaticallyTimeOfDay INTEGER NOT NULL DEFAULT 0,
    NumberOfSynchronizationsPerDay INTEGER NOT NULL DEFAULT 1,
    LastModifiedBy          VARCHAR(128),
    LastModifiedTime        VARCHAR(32),
    LastSynchronizationTime VARCHAR(32),
    LastSyncResult          VARCHAR(16),
    LastSyncStartTime       VARCHAR(32),
    LastSyncEndTime         VARCHAR(32),
    LastSyncError           TEXT,
    LastSyncNewUpdates      INTEGER NOT NULL DEFAULT 0,
    LastSyncRevisedUpdates  INTEGER NOT NULL DEFAULT 0,
    LastSyncExpiredUpdates  INTEGER NOT NULL DEFAULT 0
)
GO

-- Subscribed products (CategoryType Product, or a family or company) and
-- classifications (UpdateClassification).
CREATE TABLE IF NOT EXISTS tbSubscriptionCategory (
    CategoryID              VARCHAR(36) NOT NULL,
    CategoryType            VARCHAR(32) NOT NULL,
    PRIMARY KEY (CategoryID, CategoryType)
)
GO

-- One row per update GUID ever seen, categories included.  A GUID that is
-- only referenced so far (a category, a bundled or superseded update) has
-- a row without revisions.
CREATE TABLE IF NOT EXISTS tbUpdate (
    LocalUpdateID           INTEGER PRIMARY KEY,
    UpdateID                VARCHAR(36) NOT NULL,
    UpdateTypeName          VARCHAR(16),
    IsHidden                INTEGER NOT NULL DEFAULT 0,
    ImportedTime            VARCHAR(32)
)
GO

CREATE UNIQUE INDEX IF NOT EXISTS UX_tbUpdate_UpdateID ON tbUpdate (UpdateID)
GO

-- One row per revision.  ChangeAnchor orders the revisions by arrival, and
-- is what the anchors handed to downstream servers count.
CREATE TABLE IF NOT EXISTS tbRevision (
    RevisionID              INTEGER PRIMARY KEY,
    LocalUpdateID           INTEGER NOT NULL,
    RevisionNumber          INTEGER NOT NULL,
    IsLatestRevision        INTEGER NOT NULL DEFAULT 1,
    IsCategory              INTEGER NOT NULL DEFAULT 0,
    UpdateType              VARCHAR(16) NOT NULL,
    CategoryType            VARCHAR(32),
    PublicationState        VARCHAR(16),
    IsExpired               INTEGER NOT NULL DEFAULT 0,
    KBArticleID             VARCHAR(32),
    SecurityBulletinID      VARCHAR(32),
    MsrcSeverity            VARCHAR(32),
    CreationDate            VARCHAR(32),
    ImportedTime            VARCHAR(32),
    ChangeAnchor            BIGINT NOT NULL
)
GO

CREATE UNIQUE INDEX IF NOT EXISTS UX_tbRevision_Update ON tbRevision (LocalUpdateID, RevisionNumber)
GO

CREATE INDEX IF NOT EXISTS IX_tbRevision_Anchor ON tbRevision (ChangeAnchor)
GO

-- The full update XML of each revision, as it came from the source.
CREATE TABLE IF NOT EXISTS tbXml (
    RevisionID              INTEGER PRIMARY KEY,
    RootElementXml          TEXT NOT NULL
)
GO

-- Categories (companies, product families, products, classifications);
-- CategoryID is the category LocalUpdateID.
CREATE TABLE IF NOT EXISTS tbCategory (
    CategoryID              INTEGER PRIMARY KEY,
    CategoryType            VARCHAR(32) NOT NULL,
    ParentCategoryID        INTEGER,
    DisplayOrder            INTEGER
)
GO

CREATE TABLE IF NOT EXISTS tbRevisionInCategory (
    RevisionID              INTEGER NOT NULL,
    CategoryID              INTEGER NOT NULL,
    PRIMARY KEY (RevisionID, CategoryID)
)
GO

CREATE INDEX IF NOT EXISTS IX_tbRevisionInCategory_Category ON tbRevisionInCategory (CategoryID)
GO

CREATE TABLE IF NOT EXISTS tbRevisionSupersedesUpdate (
    RevisionID              INTEGER NOT NULL,
    SupersededUpdateID      VARCHAR(36) NOT NULL,
    PRIMARY KEY (RevisionID, SupersededUpdateID)
)
GO

CREATE INDEX IF NOT EXISTS IX_tbRevisionSupersedesUpdate_Update ON tbRevisionSupersedesUpdate (SupersededUpdateID)
GO

CREATE TABLE IF NOT EXISTS tbBundleDependency (
    RevisionID              INTEGER NOT NULL,
    BundledUpdateID         VARCHAR(36) NOT NULL,
    BundledRevisionNumber   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (RevisionID, BundledUpdateID)
)
GO

CREATE TABLE IF NOT EXISTS tbPreComputedLocalizedProperty (
    RevisionID              INTEGER NOT NULL,
    ShortLanguage           VARCHAR(16) NOT NULL,
    Title                   TEXT,
    Description             TEXT,
    PRIMARY KEY (RevisionID, ShortLanguage)
)
GO

-- Content files, by SHA-1 digest (base64), with the Microsoft Update URL.
CREATE TABLE IF NOT EXISTS tbFile (
    FileDigest              VARCHAR(48) PRIMARY KEY,
    FileName                TEXT,
    Size                    BIGINT,
    DigestAlgorithm         VARCHAR(16),
    MUURL                   TEXT
)
GO

CREATE TABLE IF NOT EXISTS tbFileForRevision (
    RevisionID              INTEGER NOT NULL,
    FileDigest              VARCHAR(48) NOT NULL,
    PRIMARY KEY (RevisionID, FileDigest)
)
GO

-- Downstream servers that asked for an authorization cookie (MS-WSUSSS
-- DSS table).
CREATE TABLE IF NOT EXISTS tbDownstreamServerTarget (
    AccountGuid             VARCHAR(36) PRIMARY KEY,
    FullDomainName          VARCHAR(255),
    FirstSeenTime           VARCHAR(32),
    LastSyncTime            VARCHAR(32)
)
GO

-- WSUS events (what the Windows event log and SoftwareDistribution.log show).
CREATE TABLE IF NOT EXISTS tbEventInstance (
    EventInstanceID         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    EventID                 INTEGER NOT NULL,
    EventType               VARCHAR(16) NOT NULL,
    Category                VARCHAR(32) NOT NULL,
    TimeAtServer            VARCHAR(32) NOT NULL,
    Message                 TEXT
)
GO

INSERT INTO tbSchemaVersion (Version, AppliedTime) VALUES (1, to_char(now() AT TIME ZONE 'utc', 'YYYY-MM-DD HH24:MI:SS.MS')) ON CONFLICT DO NOTHING
GO

INSERT INTO tbSubscription (SubscriptionID, SynchronizeAutomatically, SynchronizeAutomaticallyTimeOfDay, NumberOfSynchronizationsPerDay) VALUES (1, 0, 0, 1) ON CONFLICT DO NOTHING
GO

INSERT INTO tbLanguage (LanguageID, ShortLanguage, LongLanguage, Enabled) VALUES (1033, 'en', 'English', 1) ON CONFLICT DO NOTHING
GO

INSERT INTO tbLanguage (LanguageID, ShortLanguage, LongLanguage, Enabled) VALUES (1031, 'de', 'German', 0) ON CONFLICT DO NOTHING
GO

INSERT INTO tbLanguage (LanguageID, ShortLanguage, LongLanguage, Enabled) VALUES (1036, 'fr', 'French', 0) ON CONFLICT DO NOTHING
GO

INSERT INTO tbLanguage (LanguageID, ShortLanguage, LongLanguage, Enabled) VALUES (1034, 'es', 'Spanish', 0) ON CONFLICT DO NOTHING
GO

INSERT INTO tbLanguage (LanguageID, ShortLanguage, LongLanguage, Enabled) VALUES (1040, 'it', 'Italian', 0) ON CONFLICT DO NOTHING
GO

INSERT INTO tbLanguage (LanguageID, ShortLanguage, LongLanguage, Enabled) VALUES (1041, 'ja', 'Japanese', 0) ON CONFLICT DO NOTHING
GO

INSERT INTO tbLanguage (LanguageID, ShortLanguage, LongLanguage, Enabled) VALUES (1042, 'ko', 'Korean', 0) ON CONFLICT DO NOTHING
GO

INSERT INTO tbLanguage (LanguageID, ShortLanguage, LongLanguage, Enabled) VALUES (1043, 'nl', 'Dutch', 0) ON CONFLICT DO NOTHING
GO

INSERT INTO tbLanguage (LanguageID, ShortLanguage, LongLanguage, Enabled) VALUES (1046, 'pt-br', 'Portuguese (Brazil)', 0) ON CONFLICT DO NOTHING
GO

INSERT INTO tbLanguage (LanguageID, ShortLanguage, LongLanguage, Enabled) VALUES (1049, 'ru', 'Russian', 0) ON CONFLICT DO NOTHING
GO

INSERT INTO tbLanguage (LanguageID, ShortLanguage, LongLanguage, Enabled) VALUES (2052, 'zh-cn', 'Chinese (Simplified)', 0) ON CONFLICT DO NOTHING
GO

INSERT INTO tbLanguage (LanguageID, ShortLanguage, LongLanguage, Enabled) VALUES (1028, 'zh-tw', 'Chinese (Traditional)', 0) ON CONFLICT DO NOTHING
GO

INSERT INTO tbLanguage (LanguageID, ShortLanguage, LongLanguage, Enabled) VALUES (1053, 'sv', 'Swedish', 0) ON CONFLICT DO NOTHING
GO

INSERT INTO tbLanguage (LanguageID, ShortLanguage, LongLanguage, Enabled) VALUES (1045, 'pl', 'Polish', 0) ON CONFLICT DO NOTHING
GO
