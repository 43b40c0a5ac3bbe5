-- 10_schema.sql (SQLite) - the tables of the lab site database and their
-- indexes, named after the ConfigMgr site database (DESIGN.md section 5).
-- The PostgreSQL file of the same name holds the same tables with the same
-- columns in the same order.  Statements are separated by GO lines, one
-- statement each, and everything is idempotent (IF NOT EXISTS).  Comments
-- avoid semicolons, quotes, question marks and braces (see README.md).
--
-- No foreign keys: the sync writes categories, updates and relations in
-- whatever order WSUS returns them.  The indexes on the key columns make
-- the joins cheap.  Times are UTC text YYYY-MM-DD HH:MM:SS (DATETIME
-- columns), flags are INTEGER 0/1, identity keys are INTEGER PRIMARY KEY
-- AUTOINCREMENT.

-- ===================================================================
-- Schema version
-- ===================================================================

CREATE TABLE IF NOT EXISTS SchemaVersion (
    Version                 INTEGER PRIMARY KEY,
    AppliedTime             DATETIME DEFAULT CURRENT_TIMESTAMP
)
GO

-- ===================================================================
-- 5.1 Site control
-- ===================================================================

-- One row per site in the hierarchy, SiteType CAS, PRIMARY or SECONDARY.
-- cmsite init inserts the row of the site it creates.
CREATE TABLE IF NOT EXISTS SiteControl (
    SiteCode                VARCHAR(3) NOT NULL PRIMARY KEY,
    SiteName                VARCHAR(256),
    SiteType                VARCHAR(16) NOT NULL DEFAULT 'PRIMARY',
    ParentSiteCode          VARCHAR(3),
    ServerName              VARCHAR(256),
    InstallDir              VARCHAR(512),
    BuildNumber             INTEGER,
    Version                 VARCHAR(32),
    LastModified            DATETIME DEFAULT CURRENT_TIMESTAMP
)
GO

CREATE INDEX IF NOT EXISTS IX_SiteControl_ParentSiteCode ON SiteControl (ParentSiteCode)
GO

-- The software update points of each site (the SUP role in the site
-- control file).  The first installed (lowest InstallOrder) is the one
-- that syncs from upstream, the others are its replicas.  WCMConfigState:
-- 0 WSUS_CONFIG_NONE, 1 PENDING, 2 SUCCESS, 3 FAILED, 4 SUBSCRIPTION_PENDING.
CREATE TABLE IF NOT EXISTS SoftwareUpdatePoints (
    SUP_ID                  INTEGER PRIMARY KEY AUTOINCREMENT,
    SiteCode                VARCHAR(3) NOT NULL,
    ServerName              VARCHAR(256) NOT NULL,
    PortNumber              INTEGER NOT NULL DEFAULT 8530,
    SSLPortNumber           INTEGER NOT NULL DEFAULT 8531,
    UseSSL                  INTEGER NOT NULL DEFAULT 0,
    IsInternetFacing        INTEGER NOT NULL DEFAULT 0,
    InstallOrder            INTEGER NOT NULL DEFAULT 0,
    ConnectionAccount       VARCHAR(256),
    ConnectionPassword      VARCHAR(256),
    UseProxy                INTEGER NOT NULL DEFAULT 0,
    ProxyName               VARCHAR(256),
    ProxyPort               INTEGER,
    ProxyAccount            VARCHAR(256),
    ProxyPassword           VARCHAR(256),
    WCMConfigState          INTEGER NOT NULL DEFAULT 0,
    WCMConfigStateTime      DATETIME,
    WCMLastError            VARCHAR(1024),
    WSUSVersion             VARCHAR(64),
    DateCreated             DATETIME DEFAULT CURRENT_TIMESTAMP
)
GO

CREATE UNIQUE INDEX IF NOT EXISTS UX_SoftwareUpdatePoints_Site_Server ON SoftwareUpdatePoints (SiteCode, ServerName)
GO

-- Component settings.  A row with the empty site code holds the default
-- for every site, a row with a real site code overrides it (the whole
-- row).  Value1 is the string value, Value3 the numeric value, Value2 a
-- second string.
CREATE TABLE IF NOT EXISTS SC_Component_Property (
    SiteCode                VARCHAR(3) NOT NULL DEFAULT '',
    ComponentName           VARCHAR(128) NOT NULL,
    PropertyName            VARCHAR(128) NOT NULL,
    Value1                  VARCHAR(1024),
    Value2                  VARCHAR(1024),
    Value3                  BIGINT,
    LastModified            DATETIME DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (SiteCode, ComponentName, PropertyName)
)
GO

-- ===================================================================
-- 5.2 Updates as configuration items
-- ===================================================================

-- An update source (a WSUS catalog a site syncs from).  ContentVersion is
-- the catalog version clients scan against.  It must agree with
-- Update_SyncStatus and WSUSServerLocations (seed 003).
CREATE TABLE IF NOT EXISTS CI_UpdateSources (
    UpdateSource_ID         INTEGER PRIMARY KEY AUTOINCREMENT,
    UpdateSource_UniqueID   VARCHAR(64) NOT NULL,
    UpdateSourceName        VARCHAR(256),
    UpdateSourceDescription VARCHAR(1024),
    SourceSite              VARCHAR(3),
    ScanMethod              VARCHAR(32) NOT NULL DEFAULT 'WUA',
    ContentVersion          INTEGER NOT NULL DEFAULT 0,
    DateCreated             DATETIME DEFAULT CURRENT_TIMESTAMP,
    DateModified            DATETIME DEFAULT CURRENT_TIMESTAMP,
    IsExpired               INTEGER NOT NULL DEFAULT 0
)
GO

CREATE UNIQUE INDEX IF NOT EXISTS UX_CI_UpdateSources_UniqueID ON CI_UpdateSources (UpdateSource_UniqueID)
GO

-- The sync state of the update source of each site.  SyncNow set to SELF
-- or FULL asks for a sync (trigger SyncNotif_WSyncMgr).  A new
-- ContentVersion (the same value as SyncCatalogVersion) drops
-- <UpdateSource_UniqueID>.STN (trigger UpdSyncStatus_iu).  LastSyncState
-- is a status message ID (6701 started ... 6702 done, 6703 failed).
CREATE TABLE IF NOT EXISTS Update_SyncStatus (
    SiteCode                VARCHAR(3) NOT NULL,
    UpdateSource_ID         INTEGER NOT NULL,
    WSUSServerName          VARCHAR(256),
    WSUSSourceServer        VARCHAR(256),
    SyncNow                 VARCHAR(32) NULL,
    ContentVersion          INTEGER NOT NULL DEFAULT 0,
    SyncCatalogVersion      INTEGER NOT NULL DEFAULT 0,
    LastSyncState           INTEGER,
    LastSyncStateTime       DATETIME,
    LastSyncErrorCode       INTEGER NOT NULL DEFAULT 0,
    LastSuccessfulSyncTime  DATETIME,
    LastSyncTime            DATETIME,
    LastSyncErrorMessage    VARCHAR(1024),
    LastSyncErrorSource     VARCHAR(256),
    ReplicationLinkStatus   INTEGER,
    LastReplicationLinkCheckTime DATETIME,
    PRIMARY KEY (SiteCode, UpdateSource_ID)
)
GO

CREATE INDEX IF NOT EXISTS IX_Update_SyncStatus_UpdateSource_ID ON Update_SyncStatus (UpdateSource_ID)
GO

-- Where clients of a site find the WSUS server of an update source
-- (MP_GetWSUSServerLocations, section 2.5).
CREATE TABLE IF NOT EXISTS WSUSServerLocations (
    UpdateSource_ID         INTEGER NOT NULL,
    SiteCode                VARCHAR(3) NOT NULL,
    ServerName              VARCHAR(256) NOT NULL,
    WSUSURL                 VARCHAR(512),
    ContentVersion          INTEGER NOT NULL DEFAULT 0,
    IsInternetFacing        INTEGER NOT NULL DEFAULT 0,
    LastModified            DATETIME DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (UpdateSource_ID, SiteCode, ServerName)
)
GO

CREATE INDEX IF NOT EXISTS IX_WSUSServerLocations_SiteCode ON WSUSServerLocations (SiteCode)
GO

-- Configuration items: CIType_ID 1 software update, 8 update bundle,
-- 9 update group (authorization list).  SDMPackageDigest holds the
-- metadata XML of the update.  CItemType_ID is a computed copy of
-- CIType_ID so that the queries of the documents (seed 004, WHERE
-- CI.CItemType_ID = 9) run.
CREATE TABLE IF NOT EXISTS CI_ConfigurationItems (
    CI_ID                   INTEGER PRIMARY KEY AUTOINCREMENT,
    CI_UniqueID             VARCHAR(512) NOT NULL,
    CIType_ID               INTEGER NOT NULL,
    ModelName               VARCHAR(512),
    RevisionNumber          INTEGER NOT NULL DEFAULT 0,
    CIVersion               INTEGER NOT NULL DEFAULT 1,
    SDMPackageDigest        TEXT,
    IsExpired               INTEGER NOT NULL DEFAULT 0,
    IsSuperseded            INTEGER NOT NULL DEFAULT 0,
    IsTombstoned            INTEGER NOT NULL DEFAULT 0,
    IsHidden                INTEGER NOT NULL DEFAULT 0,
    IsUserDefined           INTEGER NOT NULL DEFAULT 0,
    IsEnabled               INTEGER NOT NULL DEFAULT 1,
    DateCreated             DATETIME DEFAULT CURRENT_TIMESTAMP,
    DateLastModified        DATETIME DEFAULT CURRENT_TIMESTAMP,
    SourceSite              VARCHAR(3),
    CreatedBy               VARCHAR(256),
    LastModifiedBy          VARCHAR(256),
    CItemType_ID            INTEGER GENERATED ALWAYS AS (CIType_ID) VIRTUAL
)
GO

CREATE UNIQUE INDEX IF NOT EXISTS UX_CI_ConfigurationItems_UniqueID ON CI_ConfigurationItems (CI_UniqueID)
GO

CREATE INDEX IF NOT EXISTS IX_CI_ConfigurationItems_CIType_ID ON CI_ConfigurationItems (CIType_ID)
GO

-- Update-specific properties of an update or bundle CI.  Severity is MSRC
-- severity as ConfigMgr stores it (0 none, 2 low, 6 moderate, 8 important,
-- 10 critical).  Size is the total size of the files of the update, in
-- bytes.
CREATE TABLE IF NOT EXISTS CI_UpdateInfo (
    CI_ID                   INTEGER NOT NULL PRIMARY KEY,
    ArticleID               VARCHAR(64),
    BulletinID              VARCHAR(64),
    UpdateType              VARCHAR(32),
    Severity                INTEGER,
    CustomSeverity          INTEGER,
    DatePosted              DATETIME,
    DateRevised             DATETIME,
    MaxExecutionTime        INTEGER NOT NULL DEFAULT 600,
    RequiresExclusiveHandling INTEGER NOT NULL DEFAULT 0,
    RevisionNumber          INTEGER NOT NULL DEFAULT 0,
    EULAExists              INTEGER NOT NULL DEFAULT 0,
    EULAAccepted            INTEGER NOT NULL DEFAULT 0,
    Size                    BIGINT NOT NULL DEFAULT 0
)
GO

CREATE INDEX IF NOT EXISTS IX_CI_UpdateInfo_ArticleID ON CI_UpdateInfo (ArticleID)
GO

-- Localized title and description of a CI (LocaleID is an LCID, 1033 en-US).
CREATE TABLE IF NOT EXISTS CI_LocalizedProperties (
    CI_ID                   INTEGER NOT NULL,
    LocaleID                INTEGER NOT NULL,
    DisplayName             VARCHAR(1024),
    Description             TEXT,
    InformativeURL          VARCHAR(1024),
    PRIMARY KEY (CI_ID, LocaleID)
)
GO

-- Categories: CategoryInstance_UniqueID Company:<guid>,
-- ProductFamily:<guid>, Product:<guid>, UpdateClassification:<guid>,
-- Locale:9, with CategoryTypeName Company, ProductFamily, Product,
-- UpdateClassification, Locale.
CREATE TABLE IF NOT EXISTS CI_CategoryInstances (
    CategoryInstanceID      INTEGER PRIMARY KEY AUTOINCREMENT,
    CategoryInstance_UniqueID VARCHAR(512) NOT NULL,
    CategoryTypeName        VARCHAR(64) NOT NULL,
    ParentCategoryInstanceID INTEGER,
    SourceSite              VARCHAR(3),
    IsTombstoned            INTEGER NOT NULL DEFAULT 0,
    DateCreated             DATETIME DEFAULT CURRENT_TIMESTAMP,
    DateLastModified        DATETIME DEFAULT CURRENT_TIMESTAMP
)
GO

CREATE UNIQUE INDEX IF NOT EXISTS UX_CI_CategoryInstances_UniqueID ON CI_CategoryInstances (CategoryInstance_UniqueID)
GO

CREATE INDEX IF NOT EXISTS IX_CI_CategoryInstances_Parent ON CI_CategoryInstances (ParentCategoryInstanceID)
GO

CREATE TABLE IF NOT EXISTS CI_LocalizedCategoryInstances (
    CategoryInstanceID      INTEGER NOT NULL,
    LocaleID                INTEGER NOT NULL,
    CategoryInstanceName    VARCHAR(512),
    PRIMARY KEY (CategoryInstanceID, LocaleID)
)
GO

CREATE TABLE IF NOT EXISTS CI_CategoryMemberships (
    CI_ID                   INTEGER NOT NULL,
    CategoryInstanceID      INTEGER NOT NULL,
    PRIMARY KEY (CI_ID, CategoryInstanceID)
)
GO

CREATE INDEX IF NOT EXISTS IX_CI_CategoryMemberships_Category ON CI_CategoryMemberships (CategoryInstanceID)
GO

-- The products and classifications the site syncs (trigger SubNotify_iu_WCM).
CREATE TABLE IF NOT EXISTS CI_UpdateCategorySubscription (
    CategoryInstanceID      INTEGER NOT NULL PRIMARY KEY,
    IsSubscribed            INTEGER NOT NULL DEFAULT 0,
    DateLastModified        DATETIME DEFAULT CURRENT_TIMESTAMP
)
GO

-- Relations between CIs, with the RelationType values of SMS_CIRelation:
-- 1 Bundled (bundle -> its update, update group -> member update),
-- 2 Required (update -> prerequisite), 6 Superseded (superseding update ->
-- the update it supersedes).
CREATE TABLE IF NOT EXISTS CI_ConfigurationItemRelations (
    FromCI_ID               INTEGER NOT NULL,
    ToCI_ID                 INTEGER NOT NULL,
    RelationType            INTEGER NOT NULL,
    PRIMARY KEY (FromCI_ID, ToCI_ID, RelationType)
)
GO

CREATE INDEX IF NOT EXISTS IX_CI_ConfigurationItemRelations_To ON CI_ConfigurationItemRelations (ToCI_ID)
GO

-- Which update source an update CI came from, and the minimal catalog
-- version a client must have scanned to know it.
CREATE TABLE IF NOT EXISTS CI_CIUpdateSources (
    CI_ID                   INTEGER NOT NULL,
    UpdateSource_ID         INTEGER NOT NULL,
    MinSourceVersion        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (CI_ID, UpdateSource_ID)
)
GO

CREATE INDEX IF NOT EXISTS IX_CI_CIUpdateSources_UpdateSource ON CI_CIUpdateSources (UpdateSource_ID)
GO

-- Content: a content item (the files of an update) ...
CREATE TABLE IF NOT EXISTS CI_Contents (
    Content_ID              INTEGER PRIMARY KEY AUTOINCREMENT,
    Content_UniqueID        VARCHAR(512) NOT NULL,
    ContentType             INTEGER NOT NULL DEFAULT 0,
    ContentVersion          INTEGER NOT NULL DEFAULT 1,
    SourceSite              VARCHAR(3),
    IsTombstoned            INTEGER NOT NULL DEFAULT 0,
    DateCreated             DATETIME DEFAULT CURRENT_TIMESTAMP,
    DateLastModified        DATETIME DEFAULT CURRENT_TIMESTAMP
)
GO

CREATE UNIQUE INDEX IF NOT EXISTS UX_CI_Contents_UniqueID ON CI_Contents (Content_UniqueID)
GO

-- ... its files (FileHash SHA1:<base64>) ...
CREATE TABLE IF NOT EXISTS CI_ContentFiles (
    File_ID                 INTEGER PRIMARY KEY AUTOINCREMENT,
    Content_ID              INTEGER NOT NULL,
    FileName                VARCHAR(512) NOT NULL,
    SourceURL               VARCHAR(2048),
    FileHash                VARCHAR(256),
    FileSize                BIGINT NOT NULL DEFAULT 0
)
GO

CREATE INDEX IF NOT EXISTS IX_CI_ContentFiles_Content_ID ON CI_ContentFiles (Content_ID)
GO

-- ... which CIs use it ...
CREATE TABLE IF NOT EXISTS CI_ConfigurationItemContents (
    CI_ID                   INTEGER NOT NULL,
    Content_ID              INTEGER NOT NULL,
    PRIMARY KEY (CI_ID, Content_ID)
)
GO

CREATE INDEX IF NOT EXISTS IX_CI_ConfigurationItemContents_Content ON CI_ConfigurationItemContents (Content_ID)
GO

-- ... and which deployment packages hold it (orphaned content cleanup).
CREATE TABLE IF NOT EXISTS CI_ContentPackages (
    PkgID                   VARCHAR(8) NOT NULL,
    Content_ID              INTEGER NOT NULL,
    Content_UniqueID        VARCHAR(512),
    ContentSubFolder        VARCHAR(512),
    ContentVersion          INTEGER NOT NULL DEFAULT 1,
    MinPackageVersion       INTEGER NOT NULL DEFAULT 0,
    DateAdded               DATETIME DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (PkgID, Content_ID)
)
GO

CREATE INDEX IF NOT EXISTS IX_CI_ContentPackages_Content ON CI_ContentPackages (Content_ID)
GO

-- Deployments (CI assignments), with the columns of the insert into
-- CI_CIAssignments the documents show (seed 004, Deployment).
CREATE TABLE IF NOT EXISTS CI_CIAssignments (
    AssignmentID            INTEGER PRIMARY KEY AUTOINCREMENT,
    Assignment_UniqueID     VARCHAR(64) NOT NULL,
    AssignmentName          VARCHAR(512),
    Description             VARCHAR(1024),
    AssignmentType          INTEGER NOT NULL DEFAULT 5,
    AssignmentAction        INTEGER NOT NULL DEFAULT 2,
    DesiredConfigType       INTEGER NOT NULL DEFAULT 1,
    AssignmentEnabled       INTEGER NOT NULL DEFAULT 1,
    TargetCollectionID      VARCHAR(64),
    LocaleID                INTEGER,
    StartTime               DATETIME,
    EnforcementDeadline     DATETIME,
    ExpirationTime          DATETIME,
    EvaluationSchedule      VARCHAR(256),
    DisableMomAlerts        INTEGER NOT NULL DEFAULT 0,
    RaiseMomAlertsOnFailure INTEGER NOT NULL DEFAULT 0,
    DPLocality              INTEGER,
    LimitStateMessageVerbosity INTEGER NOT NULL DEFAULT 0,
    LogComplianceToWinEvent INTEGER NOT NULL DEFAULT 0,
    NonComplianceCriticality INTEGER,
    NotifyUser              INTEGER NOT NULL DEFAULT 1,
    OverrideServiceWindows  INTEGER NOT NULL DEFAULT 0,
    PersistOnWriteFilterDevices INTEGER NOT NULL DEFAULT 1,
    RandomizationEnabled    INTEGER,
    RebootOutsideOfServiceWindows INTEGER NOT NULL DEFAULT 0,
    SendDetailedNonComplianceStatus INTEGER NOT NULL DEFAULT 0,
    StateMessagePriority    INTEGER NOT NULL DEFAULT 5,
    StateMessageVerbosity   INTEGER NOT NULL DEFAULT 5,
    SuppressReboot          INTEGER NOT NULL DEFAULT 0,
    UseBranchCache          INTEGER NOT NULL DEFAULT 1,
    UseGMTTimes             INTEGER NOT NULL DEFAULT 0,
    UserUIExperience        INTEGER NOT NULL DEFAULT 1,
    WoLEnabled              INTEGER NOT NULL DEFAULT 0,
    SourceSite              VARCHAR(3),
    LastModifiedBy          VARCHAR(256),
    CreationTime            DATETIME DEFAULT CURRENT_TIMESTAMP,
    LastModificationTime    DATETIME DEFAULT CURRENT_TIMESTAMP,
    IsTombstoned            INTEGER NOT NULL DEFAULT 0
)
GO

CREATE UNIQUE INDEX IF NOT EXISTS UX_CI_CIAssignments_UniqueID ON CI_CIAssignments (Assignment_UniqueID)
GO

-- The updates a deployment deploys ...
CREATE TABLE IF NOT EXISTS CI_AssignmentTargetedCIs (
    AssignmentID            INTEGER NOT NULL,
    CI_ID                   INTEGER NOT NULL,
    PRIMARY KEY (AssignmentID, CI_ID)
)
GO

CREATE INDEX IF NOT EXISTS IX_CI_AssignmentTargetedCIs_CI_ID ON CI_AssignmentTargetedCIs (CI_ID)
GO

-- ... and the update groups it deploys.
CREATE TABLE IF NOT EXISTS CI_AssignmentTargetedGroups (
    AssignmentID            INTEGER NOT NULL,
    CI_ID                   INTEGER NOT NULL,
    PRIMARY KEY (AssignmentID, CI_ID)
)
GO

CREATE INDEX IF NOT EXISTS IX_CI_AssignmentTargetedGroups_CI_ID ON CI_AssignmentTargetedGroups (CI_ID)
GO

-- ===================================================================
-- 5.3 Policy
-- ===================================================================

-- A policy body (PolicyID a braced GUID, Version 40.00).
CREATE TABLE IF NOT EXISTS Policy (
    PolicyID                VARCHAR(256) NOT NULL PRIMARY KEY,
    Version                 VARCHAR(32),
    Body                    TEXT,
    PolicyHash              VARCHAR(256),
    PolicyFlags             INTEGER NOT NULL DEFAULT 0,
    PolicyPriority          INTEGER NOT NULL DEFAULT 0,
    DeviceVersion           VARCHAR(32),
    LastUpdateTime          DATETIME DEFAULT CURRENT_TIMESTAMP
)
GO

-- A policy assignment (trigger PolicyAssignmentChg_Notify_iu).  InProcess
-- is 1 while policypv writes the row.
CREATE TABLE IF NOT EXISTS PolicyAssignment (
    PADBID                  INTEGER PRIMARY KEY AUTOINCREMENT,
    PolicyAssignmentID      VARCHAR(256) NOT NULL,
    PolicyID                VARCHAR(256) NOT NULL,
    Version                 VARCHAR(32),
    Body                    TEXT,
    BodyHash                VARCHAR(256),
    BodySignature           TEXT,
    TombstoneBodyHash       VARCHAR(256),
    TombstoneBodySignature  TEXT,
    HashAlgOID              VARCHAR(64),
    HashAlgId               INTEGER,
    InProcess               INTEGER NOT NULL DEFAULT 0,
    IsTombstoned            INTEGER NOT NULL DEFAULT 0,
    LastUpdateTime          DATETIME DEFAULT CURRENT_TIMESTAMP
)
GO

CREATE UNIQUE INDEX IF NOT EXISTS UX_PolicyAssignment_PolicyAssignmentID ON PolicyAssignment (PolicyAssignmentID)
GO

CREATE INDEX IF NOT EXISTS IX_PolicyAssignment_PolicyID ON PolicyAssignment (PolicyID)
GO

-- Site settings turned into policy: SourceType UpdateSource, SourceID
-- the site code.
CREATE TABLE IF NOT EXISTS SettingsPolicy (
    PolicyID                VARCHAR(256) NOT NULL,
    PolicyAssignmentID      VARCHAR(256),
    SourceID                VARCHAR(256) NOT NULL,
    SourceType              VARCHAR(64) NOT NULL,
    SourceCRC               VARCHAR(64),
    PADBID                  INTEGER,
    LastUpdateTime          DATETIME DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (SourceType, SourceID)
)
GO

CREATE INDEX IF NOT EXISTS IX_SettingsPolicy_PolicyID ON SettingsPolicy (PolicyID)
GO

-- ===================================================================
-- 5.4 State and status
-- ===================================================================

-- Discovered systems (clients), keyed by ItemKey = ResourceID = MachineID
-- everywhere else.  SMS_Unique_Identifier0 is the client ID, GUID:<guid>.
CREATE TABLE IF NOT EXISTS System_DISC (
    ItemKey                 INTEGER PRIMARY KEY AUTOINCREMENT,
    DiscArchKey             INTEGER NOT NULL DEFAULT 5,
    SMS_Unique_Identifier0  VARCHAR(64) NOT NULL,
    Netbios_Name0           VARCHAR(64),
    Name0                   VARCHAR(256),
    Resource_Domain_OR_Workgr0 VARCHAR(256),
    Full_Domain_Name0       VARCHAR(256),
    Client0                 INTEGER NOT NULL DEFAULT 1,
    Client_Type0            INTEGER NOT NULL DEFAULT 1,
    Client_Version0         VARCHAR(64),
    Operating_System_Name_and0 VARCHAR(256),
    SMS_Assigned_Sites0     VARCHAR(3),
    Active0                 INTEGER NOT NULL DEFAULT 1,
    Obsolete0               INTEGER NOT NULL DEFAULT 0,
    Decommissioned0         INTEGER NOT NULL DEFAULT 0,
    Creation_Date0          DATETIME DEFAULT CURRENT_TIMESTAMP
)
GO

CREATE UNIQUE INDEX IF NOT EXISTS UX_System_DISC_SMS_Unique_Identifier0 ON System_DISC (SMS_Unique_Identifier0)
GO

CREATE INDEX IF NOT EXISTS IX_System_DISC_Netbios_Name0 ON System_DISC (Netbios_Name0)
GO

-- Names of state message topic types and states (seeded in 40_seed.sql).
CREATE TABLE IF NOT EXISTS SR_StateNames (
    TopicType               INTEGER NOT NULL,
    StateID                 INTEGER NOT NULL,
    StateName               VARCHAR(256) NOT NULL,
    StateDescription        VARCHAR(1024),
    PRIMARY KEY (TopicType, StateID)
)
GO

-- Per machine and update: topic type 500 (Status 0 unknown, 1 not required,
-- 2 required, 3 installed) and 402 (LastEnforcement*).
CREATE TABLE IF NOT EXISTS Update_ComplianceStatus (
    CI_ID                   INTEGER NOT NULL,
    MachineID               INTEGER NOT NULL,
    Status                  INTEGER NOT NULL DEFAULT 0,
    LastStatusCheckTime     DATETIME,
    LastStatusChangeTime    DATETIME,
    LastStatusSerial        BIGINT,
    LastEnforcementMessageID INTEGER,
    LastEnforcementMessageTime DATETIME,
    LastEnforcementStatusMsgID INTEGER,
    LastErrorCode           INTEGER,
    EnforcementSource       INTEGER,
    PRIMARY KEY (CI_ID, MachineID)
)
GO

CREATE INDEX IF NOT EXISTS IX_Update_ComplianceStatus_MachineID ON Update_ComplianceStatus (MachineID)
GO

-- Per machine and update source: topic type 501 (scan state).
CREATE TABLE IF NOT EXISTS Update_ScanStatus (
    MachineID               INTEGER NOT NULL,
    UpdateSource_ID         INTEGER NOT NULL,
    LastScanState           INTEGER NOT NULL DEFAULT 0,
    LastScanStateTime       DATETIME,
    LastScanTime            DATETIME,
    LastScanPackageLocation VARCHAR(512),
    LastScanPackageVersion  INTEGER,
    LastStatusMessageID     INTEGER,
    LastErrorCode           INTEGER,
    LastWUAVersion          VARCHAR(64),
    LastStatusSerial        BIGINT,
    PRIMARY KEY (MachineID, UpdateSource_ID)
)
GO

CREATE INDEX IF NOT EXISTS IX_Update_ScanStatus_UpdateSource ON Update_ScanStatus (UpdateSource_ID)
GO

-- Per deployment, machine and topic type 300 (compliance), 301
-- (enforcement), 302 (evaluation): the latest state.
CREATE TABLE IF NOT EXISTS Update_AssignmentStatus (
    AssignmentID            INTEGER NOT NULL,
    MachineID               INTEGER NOT NULL,
    TopicType               INTEGER NOT NULL,
    StateID                 INTEGER NOT NULL DEFAULT 0,
    LastStateTime           DATETIME,
    IsCompliant             INTEGER,
    LastErrorCode           INTEGER,
    LastStatusSerial        BIGINT,
    PRIMARY KEY (AssignmentID, MachineID, TopicType)
)
GO

CREATE INDEX IF NOT EXISTS IX_Update_AssignmentStatus_MachineID ON Update_AssignmentStatus (MachineID)
GO

-- The current state of any other topic, per machine (latest MessageTime
-- wins).  UserParams holds the Param values joined by tabs.
CREATE TABLE IF NOT EXISTS SR_CurrentState (
    MachineID               INTEGER NOT NULL,
    TopicType               INTEGER NOT NULL,
    TopicID                 VARCHAR(512) NOT NULL,
    StateID                 INTEGER NOT NULL DEFAULT 0,
    MessageTime             DATETIME,
    SerialNumber            BIGINT,
    UserParams              TEXT,
    TopicIDType             INTEGER,
    Criticality             INTEGER,
    UserName                VARCHAR(256),
    UserSID                 VARCHAR(256),
    RecordTime              DATETIME DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (MachineID, TopicType, TopicID)
)
GO

CREATE INDEX IF NOT EXISTS IX_SR_CurrentState_Topic ON SR_CurrentState (TopicType, TopicID)
GO

-- Gaps in the state message serial numbers of a client.
CREATE TABLE IF NOT EXISTS SR_MissingMessageRanges (
    MachineID               INTEGER NOT NULL,
    StartSerial             BIGINT NOT NULL,
    EndSerial               BIGINT NOT NULL,
    DetectedTime            DATETIME DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (MachineID, StartSerial)
)
GO

-- The highest serial number seen per client.
CREATE TABLE IF NOT EXISTS SR_ClientSerials (
    MachineID               INTEGER NOT NULL PRIMARY KEY,
    LastSerialNumber        BIGINT NOT NULL DEFAULT 0,
    LastMessageTime         DATETIME
)
GO

-- Summarization tasks (RunInterval in seconds, RunNow 1 asks for a run).
CREATE TABLE IF NOT EXISTS SR_SummaryTasks (
    TaskName                VARCHAR(128) NOT NULL PRIMARY KEY,
    Enabled                 INTEGER NOT NULL DEFAULT 1,
    RunInterval             INTEGER NOT NULL DEFAULT 3600,
    LastRunTime             DATETIME,
    NextRunTime             DATETIME,
    RunNow                  INTEGER NOT NULL DEFAULT 0,
    LastRunDuration         INTEGER,
    LastRunStatus           INTEGER
)
GO

-- Filled by SUM Update Status Summarizer: per update, machine counts.
CREATE TABLE IF NOT EXISTS Update_StatusSummary (
    CI_ID                   INTEGER NOT NULL PRIMARY KEY,
    NumRequired             INTEGER NOT NULL DEFAULT 0,
    NumInstalled            INTEGER NOT NULL DEFAULT 0,
    NumNotRequired          INTEGER NOT NULL DEFAULT 0,
    NumUnknown              INTEGER NOT NULL DEFAULT 0,
    NumTotal                INTEGER NOT NULL DEFAULT 0,
    LastSummaryTime         DATETIME
)
GO

-- Filled by SUM Assignment Compliance Evaluator: per deployment.
CREATE TABLE IF NOT EXISTS Update_AssignmentSummary (
    AssignmentID            INTEGER NOT NULL PRIMARY KEY,
    NumTotal                INTEGER NOT NULL DEFAULT 0,
    NumCompliant            INTEGER NOT NULL DEFAULT 0,
    NumNonCompliant         INTEGER NOT NULL DEFAULT 0,
    NumUnknown              INTEGER NOT NULL DEFAULT 0,
    NumInProgress           INTEGER NOT NULL DEFAULT 0,
    NumFailed               INTEGER NOT NULL DEFAULT 0,
    LastSummaryTime         DATETIME
)
GO

-- Filled by SUM Update Group Status Summarizer: per update group (CI_ID of
-- the CIType_ID 9 item).
CREATE TABLE IF NOT EXISTS Update_GroupStatusSummary (
    CI_ID                   INTEGER NOT NULL PRIMARY KEY,
    NumRequired             INTEGER NOT NULL DEFAULT 0,
    NumInstalled            INTEGER NOT NULL DEFAULT 0,
    NumNotRequired          INTEGER NOT NULL DEFAULT 0,
    NumUnknown              INTEGER NOT NULL DEFAULT 0,
    NumTotal                INTEGER NOT NULL DEFAULT 0,
    LastSummaryTime         DATETIME
)
GO

-- Status messages: MessageType 256 milestone, 512 detail, 768 audit.
-- Severity 0x40000000 (1073741824) information, 0x80000000 (2147483648)
-- warning, 0xC0000000 (3221225472) error.  Time is UTC.
CREATE TABLE IF NOT EXISTS StatusMessages (
    RecordID                INTEGER PRIMARY KEY AUTOINCREMENT,
    ModuleName              VARCHAR(128) NOT NULL DEFAULT 'SMS Server',
    Component               VARCHAR(128),
    MachineName             VARCHAR(256),
    SiteCode                VARCHAR(3),
    MessageID               INTEGER NOT NULL,
    MessageType             INTEGER NOT NULL DEFAULT 256,
    Severity                BIGINT NOT NULL DEFAULT 1073741824,
    ProcessID               INTEGER,
    ThreadID                INTEGER,
    Time                    DATETIME DEFAULT CURRENT_TIMESTAMP,
    Win32Error              INTEGER NOT NULL DEFAULT 0,
    ReportFunction          INTEGER NOT NULL DEFAULT 0,
    SuccessfulCount         INTEGER NOT NULL DEFAULT 0,
    PerClient               INTEGER NOT NULL DEFAULT 0,
    TopLevelSiteCode        VARCHAR(3)
)
GO

CREATE INDEX IF NOT EXISTS IX_StatusMessages_MessageID ON StatusMessages (MessageID)
GO

CREATE INDEX IF NOT EXISTS IX_StatusMessages_Component_Time ON StatusMessages (Component, Time)
GO

CREATE INDEX IF NOT EXISTS IX_StatusMessages_Time ON StatusMessages (Time)
GO

-- Insertion strings ISTR0..ISTR9 (InsStrIndex 0..9).
CREATE TABLE IF NOT EXISTS StatusMessageInsStrs (
    RecordID                BIGINT NOT NULL,
    InsStrIndex             INTEGER NOT NULL,
    InsStrValue             TEXT,
    PRIMARY KEY (RecordID, InsStrIndex)
)
GO

CREATE TABLE IF NOT EXISTS StatusMessageAttributes (
    RecordID                BIGINT NOT NULL,
    AttributeID             INTEGER NOT NULL,
    AttributeValue          VARCHAR(1024),
    AttributeTime           DATETIME DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (RecordID, AttributeID)
)
GO

-- Message texts.  The empty Component applies to every component, %1..%10
-- stand for ISTR0..ISTR9, a tilde is a line break, as in the logs.
CREATE TABLE IF NOT EXISTS StatusMessageCatalog (
    MessageID               INTEGER NOT NULL,
    Component               VARCHAR(64) NOT NULL DEFAULT '',
    Severity                CHAR(1) NOT NULL DEFAULT 'I',
    MessageText             TEXT NOT NULL,
    PRIMARY KEY (MessageID, Component)
)
GO

-- ===================================================================
-- 5.5 Change notifications
-- ===================================================================

-- Rows written by the triggers of 30_triggers.sql and consumed, in ID
-- order, by smsdbmon.  KeyValue is unbounded text: an odd key must not fail
-- the change that fired the trigger, smsdbmon validates and reports it
-- (status message 8100).
CREATE TABLE IF NOT EXISTS TableChangeNotifications (
    ID                      INTEGER PRIMARY KEY AUTOINCREMENT,
    NotificationName        VARCHAR(128) NOT NULL,
    TableName               VARCHAR(128) NOT NULL,
    Action                  VARCHAR(10) NOT NULL,
    KeyValue                TEXT,
    CreatedTime             DATETIME DEFAULT CURRENT_TIMESTAMP
)
GO

-- The notification registry: what smsdbmon drops for each notification.
-- Actions: letters of I/U/D.  Box: under <root>/inboxes, with / between
-- folders.  The file is <KeyValue>.<Extension>, empty when ZeroByte = 1.
CREATE TABLE IF NOT EXISTS DBMonNotifications (
    NotificationName        VARCHAR(128) NOT NULL PRIMARY KEY,
    TableName               VARCHAR(128) NOT NULL,
    Actions                 VARCHAR(3) NOT NULL,
    KeyColumn               VARCHAR(256),
    Box                     VARCHAR(256) NOT NULL,
    Extension               VARCHAR(8) NOT NULL,
    ZeroByte                INTEGER NOT NULL DEFAULT 1,
    Enabled                 INTEGER NOT NULL DEFAULT 1
)
GO

-- statesys: per client, the lowest serial number received (with
-- SR_ClientSerials.LastSerialNumber the window in which gaps are missing
-- messages), the state messages received (each serial number counted
-- once), the replays of serial numbers already seen, and the invalid
-- records.  Lets anyone check that every message was applied exactly once.
CREATE TABLE IF NOT EXISTS SR_ClientMessageCounts (
    MachineID               INTEGER NOT NULL PRIMARY KEY,
    FirstSerialNumber       BIGINT,
    MessagesReceived        BIGINT NOT NULL DEFAULT 0,
    DuplicateMessages       BIGINT NOT NULL DEFAULT 0,
    InvalidMessages         BIGINT NOT NULL DEFAULT 0,
    LastReceivedTime        DATETIME
)
GO

-- wsyncmgr: the anchors of the last site-database sync of each site and
-- update source (what GetRevisionIdList of the software update point
-- returned), with the SUP they came from and a fingerprint of the filter
-- (products, classifications, languages).  Written in the same transaction
-- as the configuration items, so the next sync reads only what changed.
CREATE TABLE IF NOT EXISTS Update_SyncAnchors (
    SiteCode                VARCHAR(3) NOT NULL,
    UpdateSource_ID         INTEGER NOT NULL,
    ServerName              VARCHAR(256),
    FilterHash              VARCHAR(32),
    ConfigAnchor            VARCHAR(256),
    UpdateAnchor            VARCHAR(256),
    LastModified            DATETIME DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (SiteCode, UpdateSource_ID)
)
GO
