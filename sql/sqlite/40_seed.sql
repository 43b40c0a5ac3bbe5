-- 40_seed.sql (SQLite) - the seed data every site database starts with:
-- the schema version, the change-notification registry, state names,
-- status message texts, summarization tasks and the defaults of the
-- component settings.  INSERT OR IGNORE: a second run adds nothing and
-- never overwrites a value a user has changed.  The PostgreSQL file holds
-- the same rows (INSERT ... ON CONFLICT DO NOTHING).  Not seeded on
-- purpose: SiteControl, SoftwareUpdatePoints, CI_UpdateSources and
-- Update_SyncStatus, whose rows cmsite init writes for the site it creates.

-- The schema these files create.
INSERT OR IGNORE INTO SchemaVersion (Version) VALUES
    (1)
GO

-- The change-notification registry (section 5.5).  smsdbmon drops
-- <Box>/<KeyValue>.<Extension> for each row the triggers record.  A
-- notification whose consumer is not built yet is registered disabled.
INSERT OR IGNORE INTO DBMonNotifications (NotificationName, TableName, Actions, KeyColumn, Box, Extension, ZeroByte, Enabled) VALUES
    ('SyncNotif_WSyncMgr', 'Update_SyncStatus', 'U', 'SyncNow', 'wsyncmgr.box', 'SYN', 1, 1),
    ('UpdSyncStatus_iu', 'Update_SyncStatus', 'IU', 'CI_UpdateSources.UpdateSource_UniqueID of UpdateSource_ID', 'policypv.box', 'STN', 0, 1),
    ('SubNotify_iu_WCM', 'CI_UpdateCategorySubscription', 'IU', 'CategoryInstanceID', 'WSUSMgr.box', 'CSB', 1, 1),
    ('CategoryNotify_iud', 'CI_CategoryInstances', 'IUD', 'CategoryInstanceID', 'objmgr.box', 'CTN', 1, 0),
    ('CINotify_iud', 'CI_ConfigurationItems', 'IUD', 'CI_ID', 'objmgr.box', 'CIN', 1, 0),
    ('CIAssignmentNotify_iu', 'CI_CIAssignments', 'IU', 'AssignmentID', 'objmgr.box', 'CIA', 1, 0),
    ('PolicyAssignmentChg_Notify_iu', 'PolicyAssignment', 'IU', 'PADBID', 'policypv.box/policytargeteval', 'PAC', 1, 0)
GO

-- State message topic types and states (section 2.6).  StateName is the
-- name DESIGN.md gives, StateDescription names the topic type and spells
-- the state out.
INSERT OR IGNORE INTO SR_StateNames (TopicType, StateID, StateName, StateDescription) VALUES
    (300, 0, 'unknown', 'Deployment compliance (topic type 300): Compliance state unknown'),
    (300, 1, 'Compliant', 'Deployment compliance (topic type 300): Compliant'),
    (300, 2, 'Non-compliant', 'Deployment compliance (topic type 300): Non-compliant'),
    (300, 3, 'Conflict detected', 'Deployment compliance (topic type 300): Conflict detected'),
    (301, 0, 'unknown', 'Deployment enforcement (topic type 301): Enforcement state unknown'),
    (301, 1, 'Installing update(s)', 'Deployment enforcement (topic type 301): Installing update(s)'),
    (301, 2, 'Waiting for restart', 'Deployment enforcement (topic type 301): Waiting for restart'),
    (301, 3, 'Waiting for another installation to complete', 'Deployment enforcement (topic type 301): Waiting for another installation to complete'),
    (301, 4, 'Successfully installed update(s)', 'Deployment enforcement (topic type 301): Successfully installed update(s)'),
    (301, 5, 'Pending system restart', 'Deployment enforcement (topic type 301): Pending system restart'),
    (301, 6, 'Failed to install update(s)', 'Deployment enforcement (topic type 301): Failed to install update(s)'),
    (301, 7, 'Downloading update(s)', 'Deployment enforcement (topic type 301): Downloading update(s)'),
    (301, 8, 'Downloaded update(s)', 'Deployment enforcement (topic type 301): Downloaded update(s)'),
    (301, 9, 'Failed to download update(s)', 'Deployment enforcement (topic type 301): Failed to download update(s)'),
    (301, 10, 'Waiting for maintenance window before installing', 'Deployment enforcement (topic type 301): Waiting for maintenance window before installing'),
    (301, 11, 'Waiting for third-party orchestrator to initiate installation', 'Deployment enforcement (topic type 301): Waiting for third-party orchestrator to initiate installation'),
    (302, 0, 'unknown', 'Deployment evaluation (topic type 302): Evaluation state unknown'),
    (302, 1, 'Evaluation activated', 'Deployment evaluation (topic type 302): Evaluation activated'),
    (302, 2, 'Evaluation succeeded', 'Deployment evaluation (topic type 302): Evaluation succeeded'),
    (302, 3, 'Evaluation failed', 'Deployment evaluation (topic type 302): Evaluation failed'),
    (400, 0, 'unknown', 'Configuration item detection (topic type 400): Detection state unknown'),
    (400, 1, 'Not Required', 'Configuration item detection (topic type 400): Not Required'),
    (400, 2, 'Not Detected', 'Configuration item detection (topic type 400): Not Detected'),
    (400, 3, 'Detected', 'Configuration item detection (topic type 400): Detected'),
    (401, 0, 'unknown', 'Configuration item compliance (topic type 401): Compliance state unknown'),
    (401, 1, 'Compliant', 'Configuration item compliance (topic type 401): Compliant'),
    (401, 2, 'Non-Compliant', 'Configuration item compliance (topic type 401): Non-Compliant'),
    (401, 3, 'Conflict Detected', 'Configuration item compliance (topic type 401): Conflict Detected'),
    (401, 4, 'Error', 'Configuration item compliance (topic type 401): Error'),
    (401, 5, 'Not Applicable', 'Configuration item compliance (topic type 401): Not Applicable'),
    (401, 6, 'Not Detected', 'Configuration item compliance (topic type 401): Not Detected'),
    (401, 7, 'Enforced', 'Configuration item compliance (topic type 401): Enforced'),
    (402, 0, 'unknown', 'Configuration item enforcement (topic type 402): Enforcement state unknown'),
    (402, 1, 'Enforcement started', 'Configuration item enforcement (topic type 402): Enforcement started'),
    (402, 2, 'waiting for content', 'Configuration item enforcement (topic type 402): Waiting for content'),
    (402, 3, 'Waiting for another installation to complete', 'Configuration item enforcement (topic type 402): Waiting for another installation to complete'),
    (402, 4, 'Waiting for maintenance window before installing', 'Configuration item enforcement (topic type 402): Waiting for maintenance window before installing'),
    (402, 5, 'Restart required before installing', 'Configuration item enforcement (topic type 402): Restart required before installing'),
    (402, 6, 'General failure', 'Configuration item enforcement (topic type 402): General failure'),
    (402, 7, 'Pending installation', 'Configuration item enforcement (topic type 402): Pending installation'),
    (402, 8, 'Installing update', 'Configuration item enforcement (topic type 402): Installing update'),
    (402, 9, 'Pending system restart', 'Configuration item enforcement (topic type 402): Pending system restart'),
    (402, 10, 'Successfully installed update', 'Configuration item enforcement (topic type 402): Successfully installed update'),
    (402, 11, 'Failed to install update', 'Configuration item enforcement (topic type 402): Failed to install update'),
    (402, 12, 'Downloading update', 'Configuration item enforcement (topic type 402): Downloading update'),
    (402, 13, 'Downloaded update', 'Configuration item enforcement (topic type 402): Downloaded update'),
    (402, 14, 'Failed to download update', 'Configuration item enforcement (topic type 402): Failed to download update'),
    (500, 0, 'Detection state unknown', 'Software update detection (topic type 500): Detection state unknown'),
    (500, 1, 'Update is not required', 'Software update detection (topic type 500): Update is not required'),
    (500, 2, 'Update is required', 'Software update detection (topic type 500): Update is required'),
    (500, 3, 'Update is installed', 'Software update detection (topic type 500): Update is installed'),
    (501, 0, 'unknown', 'Software update scan (topic type 501): Scan state unknown'),
    (501, 1, 'waiting for catalog location', 'Software update scan (topic type 501): Scan is waiting for catalog location'),
    (501, 2, 'running', 'Software update scan (topic type 501): Scan is running'),
    (501, 3, 'completed', 'Software update scan (topic type 501): Scan completed'),
    (501, 4, 'pending retry', 'Software update scan (topic type 501): Scan is pending retry')
GO

-- Status message texts (cmsite statmsg).  The empty Component applies to
-- every component, %1..%10 are ISTR0..ISTR9, a tilde is a line break.
-- Severity I, W or E.  WCM, policypv and statesys add theirs in their own
-- ranges.
INSERT OR IGNORE INTO StatusMessageCatalog (MessageID, Component, Severity, MessageText) VALUES
    (500, '', 'I', 'This component started.'),
    (502, '', 'I', 'This component stopped.'),
    (6701, 'SMS_WSUS_SYNC_MANAGER', 'I', 'WSUS Synchronization started.'),
    (6702, 'SMS_WSUS_SYNC_MANAGER', 'I', 'WSUS Synchronization done.'),
    (6703, 'SMS_WSUS_SYNC_MANAGER', 'E', 'WSUS Synchronization failed.~ Message: %2.~ Source: %1.'),
    (6704, 'SMS_WSUS_SYNC_MANAGER', 'I', 'WSUS Synchronization in progress. Current phase: Synchronizing WSUS Server.'),
    (6705, 'SMS_WSUS_SYNC_MANAGER', 'I', 'WSUS Synchronization in progress. Current phase: Synchronizing site database.'),
    (6706, 'SMS_WSUS_SYNC_MANAGER', 'I', 'WSUS Synchronization in progress. Current phase: Synchronizing Internet facing WSUS Server.'),
    (6707, 'SMS_WSUS_SYNC_MANAGER', 'W', 'Content of WSUS server %1 is out of sync with upstream server %2.'),
    (6708, 'SMS_WSUS_SYNC_MANAGER', 'W', 'WSUS synchronization complete, with pending license terms downloads.'),
    (8100, 'SMS_DATABASE_NOTIFICATION_MONITOR', 'E', 'SMS Database Notification Monitor rejected change notification %1 from table %2: the key "%3" does not make a valid file name for inbox %4. No file was dropped; the notification was removed.'),
    (8101, 'SMS_DATABASE_NOTIFICATION_MONITOR', 'W', 'SMS Database Notification Monitor lost its connection to the site database: %1. It will reconnect and retry.'),
    (8102, 'SMS_DATABASE_NOTIFICATION_MONITOR', 'I', 'SMS Database Notification Monitor reconnected to the site database.'),
    (8103, 'SMS_DATABASE_NOTIFICATION_MONITOR', 'E', 'SMS Database Notification Monitor could not drop %1 into inbox %2: %3. The notification is kept and will be retried.')
GO

-- The software updates summarization tasks (RunInterval in seconds).
INSERT OR IGNORE INTO SR_SummaryTasks (TaskName, Enabled, RunInterval, RunNow) VALUES
    ('SUM Update Status Summarizer', 1, 3600, 0),
    ('SUM Assignment Compliance Evaluator', 1, 3600, 0),
    ('SUM Update Group Status Summarizer', 1, 3600, 0),
    ('SUM Migrate Update Status', 1, 86400, 0),
    ('SUM Delete Aged Status', 1, 86400, 0)
GO

-- Component settings, defaults for every site (empty SiteCode).  Value1
-- holds strings, Value3 numbers.  Units: Log Max Size bytes.
-- SMS_WSUS_SYNC_MANAGER: Sync Schedule, Retry Interval and Maintenance
-- Interval minutes, Post Sync Wait seconds (the real product waits 120),
-- Expired Update Cleanup Age days, Sync Source MicrosoftUpdate by default
-- (Upstream Server names an upstream WSUS when another source is chosen).
-- SMS_WSUS_CONFIGURATION_MANAGER: Check Interval minutes, Subscription Wait
-- seconds.  SMS_DATABASE_NOTIFICATION_MONITOR: Polling Interval
-- milliseconds, Batch Size rows.  SMS_POLICY_PROVIDER: Polling Interval
-- seconds.  SMS_STATE_SYSTEM: Inbox Polling Interval, Inbox Pause (the real
-- product pauses 10) and Settle Time seconds, Min Missing Message Age and
-- Heartbeat Msg Interval minutes, Chunk Size files.
INSERT OR IGNORE INTO SC_Component_Property (SiteCode, ComponentName, PropertyName, Value1, Value2, Value3) VALUES
    ('', 'SMS_WSUS_SYNC_MANAGER', 'Verbose Logging', NULL, NULL, 0),
    ('', 'SMS_WSUS_SYNC_MANAGER', 'SQL Tracing', NULL, NULL, 0),
    ('', 'SMS_WSUS_SYNC_MANAGER', 'Log Max Size', NULL, NULL, 2560000),
    ('', 'SMS_WSUS_SYNC_MANAGER', 'Sync Schedule', NULL, NULL, 10080),
    ('', 'SMS_WSUS_SYNC_MANAGER', 'Sync Source', 'MicrosoftUpdate', NULL, NULL),
    ('', 'SMS_WSUS_SYNC_MANAGER', 'Upstream Server', '', NULL, NULL),
    ('', 'SMS_WSUS_SYNC_MANAGER', 'Retry Interval', NULL, NULL, 60),
    ('', 'SMS_WSUS_SYNC_MANAGER', 'Post Sync Wait', NULL, NULL, 5),
    ('', 'SMS_WSUS_SYNC_MANAGER', 'Expired Update Cleanup Age', NULL, NULL, 7),
    ('', 'SMS_WSUS_SYNC_MANAGER', 'Languages', 'en', NULL, NULL),
    ('', 'SMS_WSUS_SYNC_MANAGER', 'Maintenance Interval', NULL, NULL, 60),
    ('', 'SMS_WSUS_CONFIGURATION_MANAGER', 'Verbose Logging', NULL, NULL, 0),
    ('', 'SMS_WSUS_CONFIGURATION_MANAGER', 'SQL Tracing', NULL, NULL, 0),
    ('', 'SMS_WSUS_CONFIGURATION_MANAGER', 'Log Max Size', NULL, NULL, 2560000),
    ('', 'SMS_WSUS_CONFIGURATION_MANAGER', 'Check Interval', NULL, NULL, 60),
    ('', 'SMS_WSUS_CONFIGURATION_MANAGER', 'Subscription Wait', NULL, NULL, 60),
    ('', 'SMS_DATABASE_NOTIFICATION_MONITOR', 'Verbose Logging', NULL, NULL, 0),
    ('', 'SMS_DATABASE_NOTIFICATION_MONITOR', 'SQL Tracing', NULL, NULL, 0),
    ('', 'SMS_DATABASE_NOTIFICATION_MONITOR', 'Log Max Size', NULL, NULL, 2560000),
    ('', 'SMS_DATABASE_NOTIFICATION_MONITOR', 'Polling Interval', NULL, NULL, 100),
    ('', 'SMS_DATABASE_NOTIFICATION_MONITOR', 'Batch Size', NULL, NULL, 500),
    ('', 'SMS_POLICY_PROVIDER', 'Verbose Logging', NULL, NULL, 0),
    ('', 'SMS_POLICY_PROVIDER', 'SQL Tracing', NULL, NULL, 0),
    ('', 'SMS_POLICY_PROVIDER', 'Log Max Size', NULL, NULL, 2560000),
    ('', 'SMS_POLICY_PROVIDER', 'Polling Interval', NULL, NULL, 3600),
    ('', 'SMS_STATE_SYSTEM', 'Verbose Logging', NULL, NULL, 0),
    ('', 'SMS_STATE_SYSTEM', 'SQL Tracing', NULL, NULL, 0),
    ('', 'SMS_STATE_SYSTEM', 'Log Max Size', NULL, NULL, 2560000),
    ('', 'SMS_STATE_SYSTEM', 'Loader Threads', NULL, NULL, 4),
    ('', 'SMS_STATE_SYSTEM', 'Inbox Polling Interval', NULL, NULL, 900),
    ('', 'SMS_STATE_SYSTEM', 'Inbox Pause', NULL, NULL, 1),
    ('', 'SMS_STATE_SYSTEM', 'Min Missing Message Age', NULL, NULL, 2880),
    ('', 'SMS_STATE_SYSTEM', 'Heartbeat Msg Interval', NULL, NULL, 1440),
    ('', 'SMS_STATE_SYSTEM', 'Chunk Size', NULL, NULL, 256),
    ('', 'SMS_STATE_SYSTEM', 'Settle Time', NULL, NULL, 5)
GO

-- Policy Provider (8300 to 8339) and the management point stand-in smsmp
-- (8340 to 8349, component MP_LocationManager): status message texts.
INSERT OR IGNORE INTO StatusMessageCatalog (MessageID, Component, Severity, MessageText) VALUES
    (8300, 'SMS_POLICY_PROVIDER', 'I', 'Policy Provider updated the UpdateSource policy %1 of site %3 to version %2. Update sources and content versions: %4.'),
    (8301, 'SMS_POLICY_PROVIDER', 'E', 'Policy Provider failed to update the UpdateSource policy of site %1: %2. Nothing was written. The notification files are kept and processed again.'),
    (8302, 'SMS_POLICY_PROVIDER', 'E', 'Policy Provider rejected the notification file %1 in inbox %3: %2. The file was moved to %4.'),
    (8303, 'SMS_POLICY_PROVIDER', 'W', 'Policy Provider rejected the notification file %1 in inbox %3: %2. The file was moved to %4.'),
    (8304, 'SMS_POLICY_PROVIDER', 'W', 'Policy Provider found the UpdateSource policy %1 out of date during its periodic check (%3) and wrote version %2. Update sources and content versions: %4.'),
    (8340, 'MP_LocationManager', 'E', 'The management point rejected a WSUS location request from %1: %2.'),
    (8341, 'MP_LocationManager', 'E', 'The management point cannot listen for WSUS location requests on port %1: %2. It retries every few seconds.'),
    (8342, 'MP_LocationManager', 'E', 'The management point could not read WSUS locations from the site database: %1. Location requests are refused until the database answers again.')
GO

-- The management point stand-in smsmp: Location Port is the loopback port of
-- its WSUS location service (SMS_MP_CONTROL_MANAGER), and MP_LocationManager
-- holds its log switches.
INSERT OR IGNORE INTO SC_Component_Property (SiteCode, ComponentName, PropertyName, Value1, Value2, Value3) VALUES
    ('', 'SMS_MP_CONTROL_MANAGER', 'Location Port', NULL, NULL, 8003),
    ('', 'MP_LocationManager', 'Verbose Logging', NULL, NULL, 0),
    ('', 'MP_LocationManager', 'SQL Tracing', NULL, NULL, 0),
    ('', 'MP_LocationManager', 'Log Max Size', NULL, NULL, 2560000)
GO

-- SMS_STATE_SYSTEM status messages (range 8200-8299, docs/status-messages.md).
INSERT OR IGNORE INTO StatusMessageCatalog (MessageID, Component, Severity, MessageText) VALUES
    (8200, 'SMS_STATE_SYSTEM', 'E', 'State System could not process state message file %1: %2. The file was moved to %3.'),
    (8201, 'SMS_STATE_SYSTEM', 'W', 'State System rejected file %1 in inbox %2 (%3). The file was moved to %4.'),
    (8202, 'SMS_STATE_SYSTEM', 'I', 'State System task %1 completed successfully after running for %2 seconds, with status %3.'),
    (8203, 'SMS_STATE_SYSTEM', 'E', 'State System task %1 failed after running for %2 seconds: %3.'),
    (8204, 'SMS_STATE_SYSTEM', 'W', 'State System lost its connection to the site database: %1. State messages wait in the inbox until it is back.'),
    (8205, 'SMS_STATE_SYSTEM', 'I', 'State System reconnected to the site database.'),
    (8206, 'SMS_STATE_SYSTEM', 'W', 'State System found %1 clients with state messages missing for more than %2 minutes (%3 missing ranges in SR_MissingMessageRanges).'),
    (8207, 'SMS_STATE_SYSTEM', 'I', 'State System heartbeat: %1 state message files and %2 state messages processed since it started, %3 bad files, %4 files waiting in the inboxes.'),
    (8208, 'SMS_STATE_SYSTEM', 'E', 'State System could not commit a batch of %1 state message files: %2. The files are applied one at a time.')
GO

-- SMS_STATE_SYSTEM: Aged Status Days is the age in days past which SUM
-- Delete Aged Status removes a client state.
INSERT OR IGNORE INTO SC_Component_Property (SiteCode, ComponentName, PropertyName, Value1, Value2, Value3) VALUES
    ('', 'SMS_STATE_SYSTEM', 'Aged Status Days', NULL, NULL, 90)
GO

-- WSUS Configuration Manager status messages (range 8400-8449,
-- docs/status-messages.md).
INSERT OR IGNORE INTO StatusMessageCatalog (MessageID, Component, Severity, MessageText) VALUES
    (8400, 'SMS_WSUS_CONFIGURATION_MANAGER', 'I', 'WSUS Configuration Manager successfully configured WSUS server %1 (%2). Upstream server: %3. Changed: %4.'),
    (8401, 'SMS_WSUS_CONFIGURATION_MANAGER', 'E', 'WSUS Configuration Manager failed to configure WSUS server %1 (%2).~ Message: %3.~ %4~ Synchronizations with this server fail with "WSUS server not configured" until it is configured. WSUS Configuration Manager tries again at its next check and when the settings of the software update point change.'),
    (8402, 'SMS_WSUS_CONFIGURATION_MANAGER', 'E', 'WSUS Configuration Manager cannot read the software update points of site %1 from the site database: %2. It tries again in a minute.'),
    (8403, 'SMS_WSUS_CONFIGURATION_MANAGER', 'E', 'WSUS Configuration Manager rejected the notification file %1 in inbox %2: %3. The file was moved to %4.')
GO

-- SMS_WSUS_CONFIGURATION_MANAGER: Connection Timeout seconds per call to a
-- WSUS server, SSL CA File the trust anchors for SUPs that use SSL (empty
-- means the system store), SSL Skip Certificate Check 1 for lab self-signed
-- servers.  SMS_WSUS_SYNC_MANAGER: Offline Catalog Path is the catalog WCM
-- gives the top-level SUP when Sync Source is OfflineCatalog.
INSERT OR IGNORE INTO SC_Component_Property (SiteCode, ComponentName, PropertyName, Value1, Value2, Value3) VALUES
    ('', 'SMS_WSUS_CONFIGURATION_MANAGER', 'Connection Timeout', NULL, NULL, 60),
    ('', 'SMS_WSUS_CONFIGURATION_MANAGER', 'SSL CA File', '', NULL, NULL),
    ('', 'SMS_WSUS_CONFIGURATION_MANAGER', 'SSL Skip Certificate Check', NULL, NULL, 0),
    ('', 'SMS_WSUS_SYNC_MANAGER', 'Offline Catalog Path', '', NULL, NULL)
GO

-- WSUS Synchronization Manager status messages of this project (range
-- 8600-8649, docs/status-messages.md), beside the 6701-6708 of ConfigMgr.
INSERT OR IGNORE INTO StatusMessageCatalog (MessageID, Component, Severity, MessageText) VALUES
    (8600, 'SMS_WSUS_SYNC_MANAGER', 'E', 'WSUS Synchronization Manager rejected the file %1 in inbox %3: %2. The file was moved to %4. No sync was started for it.')
GO

-- SMS_WSUS_SYNC_MANAGER, more settings: WSUS Busy Timeout minutes to wait
-- for a sync the software update point was already running, Maintenance
-- Batch Size expired updates deleted per transaction, Progress Poll Interval
-- milliseconds between progress questions to the SUP, WSUS Call Timeout
-- seconds for one call to the SUP.
INSERT OR IGNORE INTO SC_Component_Property (SiteCode, ComponentName, PropertyName, Value1, Value2, Value3) VALUES
    ('', 'SMS_WSUS_SYNC_MANAGER', 'WSUS Busy Timeout', NULL, NULL, 60),
    ('', 'SMS_WSUS_SYNC_MANAGER', 'Maintenance Batch Size', NULL, NULL, 100),
    ('', 'SMS_WSUS_SYNC_MANAGER', 'Progress Poll Interval', NULL, NULL, 500),
    ('', 'SMS_WSUS_SYNC_MANAGER', 'WSUS Call Timeout', NULL, NULL, 120)
GO
