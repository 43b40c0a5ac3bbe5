-- 20_views.sql (PostgreSQL) - the views users and the daemons query,
-- named after the ConfigMgr views (DESIGN.md section 5).  The SELECT text
-- is the same as in the SQLite file, only the CREATE line differs.  One
-- statement per GO batch.  CREATE OR REPLACE VIEW makes a second run a
-- no-op (it may add columns at the end of a view, anything else needs a
-- new schema version that drops the view first).
--
-- Localized text (titles, descriptions, category names) is taken in
-- English: LocaleID 1033, else the neutral 9, else the lowest LocaleID.

-- ===================================================================
-- 5.1 Site control
-- ===================================================================

-- Component settings as each site sees them: the rows of the site itself
-- (IsDefault 0), the defaults (empty SiteCode) of the properties a site
-- does not override, repeated for every site in SiteControl (IsDefault 1),
-- and the default rows themselves under the empty SiteCode.  So selecting
-- Value3 with SiteCode CS1, ComponentName SMS_WSUS_SYNC_MANAGER and
-- PropertyName Sync Schedule returns the value in force for site CS1.
-- Name repeats PropertyName (the column name ConfigMgr uses).
CREATE OR REPLACE VIEW vSMS_SC_Component_Properties AS
SELECT p.SiteCode, p.ComponentName, p.PropertyName, p.Value1, p.Value2, p.Value3,
       0 AS IsDefault, p.PropertyName AS Name
  FROM SC_Component_Property p
 WHERE p.SiteCode <> ''
UNION ALL
SELECT s.SiteCode, d.ComponentName, d.PropertyName, d.Value1, d.Value2, d.Value3,
       1 AS IsDefault, d.PropertyName AS Name
  FROM SC_Component_Property d
 CROSS JOIN SiteControl s
 WHERE d.SiteCode = ''
   AND NOT EXISTS (SELECT 1 FROM SC_Component_Property o
                    WHERE o.SiteCode = s.SiteCode
                      AND o.ComponentName = d.ComponentName
                      AND o.PropertyName = d.PropertyName)
UNION ALL
SELECT d.SiteCode, d.ComponentName, d.PropertyName, d.Value1, d.Value2, d.Value3,
       1 AS IsDefault, d.PropertyName AS Name
  FROM SC_Component_Property d
 WHERE d.SiteCode = ''
GO

-- ===================================================================
-- 5.2 Updates as configuration items
-- ===================================================================

-- Software update point synchronization status (Monitoring, Software
-- Update Point Synchronization Status in the console).
CREATE OR REPLACE VIEW v_SUPSyncStatus AS
SELECT ss.WSUSServerName, ss.WSUSSourceServer, ss.SiteCode,
       ss.UpdateSource_ID, us.UpdateSource_UniqueID,
       ss.SyncCatalogVersion, ss.ContentVersion,
       ss.LastSuccessfulSyncTime, ss.LastSyncState, ss.LastSyncStateTime,
       ss.LastSyncErrorCode, ss.LastSyncErrorMessage, ss.LastSyncErrorSource,
       ss.LastSyncTime, ss.LastReplicationLinkCheckTime, ss.ReplicationLinkStatus,
       ss.SyncNow
  FROM Update_SyncStatus ss
  LEFT JOIN CI_UpdateSources us ON us.UpdateSource_ID = ss.UpdateSource_ID
GO

-- Software updates and bundles (CIType_ID 1 and 8) without localized text.
-- IsDeployed: a live deployment targets the update directly.
CREATE OR REPLACE VIEW v_UpdateCIs AS
SELECT ci.CI_ID, ci.CI_UniqueID, ci.CIType_ID, ci.ModelName,
       ui.ArticleID, ui.BulletinID, ui.UpdateType, ui.Severity, ui.CustomSeverity,
       ui.DatePosted, ui.DateRevised, ui.MaxExecutionTime, ui.RequiresExclusiveHandling,
       ui.RevisionNumber, ui.EULAExists, ui.EULAAccepted, ui.Size,
       ci.IsExpired, ci.IsSuperseded, ci.IsTombstoned, ci.IsHidden, ci.IsUserDefined,
       ci.IsEnabled,
       CASE WHEN EXISTS (SELECT 1 FROM CI_AssignmentTargetedCIs t
                           JOIN CI_CIAssignments a ON a.AssignmentID = t.AssignmentID
                          WHERE t.CI_ID = ci.CI_ID AND a.IsTombstoned = 0)
            THEN 1 ELSE 0 END AS IsDeployed,
       ci.DateCreated, ci.DateLastModified, ci.SourceSite
  FROM CI_ConfigurationItems ci
  JOIN CI_UpdateInfo ui ON ui.CI_ID = ci.CI_ID
 WHERE ci.CIType_ID IN (1, 8)
GO

-- Software updates and bundles with their English title, description and
-- information URL.
CREATE OR REPLACE VIEW v_UpdateInfo AS
SELECT ci.CI_ID, ci.CI_UniqueID, ci.CIType_ID, ci.ModelName,
       ui.ArticleID, ui.BulletinID,
       (SELECT lp.DisplayName FROM CI_LocalizedProperties lp WHERE lp.CI_ID = ci.CI_ID
         ORDER BY CASE lp.LocaleID WHEN 1033 THEN 0 WHEN 9 THEN 1 ELSE 2 END, lp.LocaleID
         LIMIT 1) AS Title,
       (SELECT lp.Description FROM CI_LocalizedProperties lp WHERE lp.CI_ID = ci.CI_ID
         ORDER BY CASE lp.LocaleID WHEN 1033 THEN 0 WHEN 9 THEN 1 ELSE 2 END, lp.LocaleID
         LIMIT 1) AS Description,
       (SELECT lp.InformativeURL FROM CI_LocalizedProperties lp WHERE lp.CI_ID = ci.CI_ID
         ORDER BY CASE lp.LocaleID WHEN 1033 THEN 0 WHEN 9 THEN 1 ELSE 2 END, lp.LocaleID
         LIMIT 1) AS InfoURL,
       ui.UpdateType, ui.Severity, ui.CustomSeverity,
       ui.DatePosted, ui.DateRevised, ui.MaxExecutionTime, ui.RequiresExclusiveHandling,
       ui.RevisionNumber, ui.EULAExists, ui.EULAAccepted, ui.Size,
       ci.IsExpired, ci.IsSuperseded, ci.IsTombstoned, ci.IsHidden, ci.IsUserDefined,
       ci.IsEnabled,
       CASE WHEN EXISTS (SELECT 1 FROM CI_AssignmentTargetedCIs t
                           JOIN CI_CIAssignments a ON a.AssignmentID = t.AssignmentID
                          WHERE t.CI_ID = ci.CI_ID AND a.IsTombstoned = 0)
            THEN 1 ELSE 0 END AS IsDeployed,
       ci.DateCreated, ci.DateLastModified, ci.SourceSite
  FROM CI_ConfigurationItems ci
  JOIN CI_UpdateInfo ui ON ui.CI_ID = ci.CI_ID
 WHERE ci.CIType_ID IN (1, 8)
GO

-- Every configuration item (updates, bundles, update groups), with the
-- CItemType_ID of ConfigMgr (seed 004 selects WHERE CItemType_ID = 9) and
-- the English display name and description.
CREATE OR REPLACE VIEW vSMS_ConfigurationItems AS
SELECT ci.CI_ID, ci.CI_UniqueID, ci.CIType_ID, ci.CIType_ID AS CItemType_ID,
       ci.ModelName, ci.RevisionNumber, ci.CIVersion, ci.SDMPackageDigest,
       ci.IsExpired, ci.IsSuperseded, ci.IsTombstoned, ci.IsHidden, ci.IsUserDefined,
       ci.IsEnabled, ci.DateCreated, ci.DateLastModified, ci.SourceSite,
       ci.CreatedBy, ci.LastModifiedBy,
       (SELECT lp.DisplayName FROM CI_LocalizedProperties lp WHERE lp.CI_ID = ci.CI_ID
         ORDER BY CASE lp.LocaleID WHEN 1033 THEN 0 WHEN 9 THEN 1 ELSE 2 END, lp.LocaleID
         LIMIT 1) AS LocalizedDisplayName,
       (SELECT lp.Description FROM CI_LocalizedProperties lp WHERE lp.CI_ID = ci.CI_ID
         ORDER BY CASE lp.LocaleID WHEN 1033 THEN 0 WHEN 9 THEN 1 ELSE 2 END, lp.LocaleID
         LIMIT 1) AS LocalizedDescription
  FROM CI_ConfigurationItems ci
GO

-- Every category of every CI (products, classifications, companies, ...).
CREATE OR REPLACE VIEW v_CICategories_All AS
SELECT cm.CI_ID, cat.CategoryInstanceID, cat.CategoryInstance_UniqueID,
       cat.CategoryTypeName, cat.ParentCategoryInstanceID,
       (SELECT lc.CategoryInstanceName FROM CI_LocalizedCategoryInstances lc
         WHERE lc.CategoryInstanceID = cat.CategoryInstanceID
         ORDER BY CASE lc.LocaleID WHEN 1033 THEN 0 WHEN 9 THEN 1 ELSE 2 END, lc.LocaleID
         LIMIT 1) AS CategoryInstanceName
  FROM CI_CategoryMemberships cm
  JOIN CI_CategoryInstances cat ON cat.CategoryInstanceID = cm.CategoryInstanceID
GO

-- ===================================================================
-- 5.4 State and status
-- ===================================================================

-- Discovered systems.  ResourceID = System_DISC.ItemKey = MachineID.
CREATE OR REPLACE VIEW v_R_System AS
SELECT sd.ItemKey AS ResourceID, 5 AS ResourceType,
       sd.Active0, sd.Client0, sd.Client_Type0, sd.Client_Version0,
       sd.Creation_Date0, sd.Decommissioned0, sd.Full_Domain_Name0, sd.Name0,
       sd.Netbios_Name0, sd.Obsolete0, sd.Operating_System_Name_and0,
       sd.Resource_Domain_OR_Workgr0, sd.SMS_Assigned_Sites0, sd.SMS_Unique_Identifier0
  FROM System_DISC sd
GO

CREATE OR REPLACE VIEW v_StateNames AS
SELECT sn.TopicType, sn.StateID, sn.StateName, sn.StateDescription
  FROM SR_StateNames sn
GO

-- Per machine and update: Status 0 unknown, 1 not required, 2 required,
-- 3 installed (topic type 500).
CREATE OR REPLACE VIEW v_Update_ComplianceStatus AS
SELECT cs.MachineID AS ResourceID, cs.CI_ID, cs.Status,
       cs.LastStatusCheckTime, cs.LastStatusChangeTime,
       cs.LastEnforcementMessageID, cs.LastEnforcementMessageTime,
       cs.LastEnforcementStatusMsgID, cs.LastErrorCode, cs.EnforcementSource
  FROM Update_ComplianceStatus cs
GO

CREATE OR REPLACE VIEW v_UpdateScanStatus AS
SELECT ss.MachineID AS ResourceID, ss.UpdateSource_ID,
       ss.LastScanState, sn.StateName AS LastScanStateName, ss.LastScanStateTime,
       ss.LastScanTime, ss.LastScanPackageLocation, ss.LastScanPackageVersion,
       ss.LastStatusMessageID, ss.LastErrorCode, ss.LastWUAVersion
  FROM Update_ScanStatus ss
  LEFT JOIN SR_StateNames sn ON sn.TopicType = 501 AND sn.StateID = ss.LastScanState
GO

-- Per deployment and machine: the latest compliance (300), enforcement
-- (301) and evaluation (302) state, one row per topic type.
CREATE OR REPLACE VIEW v_UpdateAssignmentStatus AS
SELECT st.MachineID AS ResourceID, st.AssignmentID, a.Assignment_UniqueID,
       a.AssignmentName, st.TopicType, st.StateID, sn.StateName,
       st.LastStateTime, st.IsCompliant, st.LastErrorCode
  FROM Update_AssignmentStatus st
  LEFT JOIN CI_CIAssignments a ON a.AssignmentID = st.AssignmentID
  LEFT JOIN SR_StateNames sn ON sn.TopicType = st.TopicType AND sn.StateID = st.StateID
GO

CREATE OR REPLACE VIEW vSR_SummaryTasks AS
SELECT t.TaskName, t.Enabled, t.RunInterval, t.LastRunTime, t.NextRunTime,
       t.RunNow, t.LastRunDuration, t.LastRunStatus
  FROM SR_SummaryTasks t
GO

-- Per update, the machine counts of the last SUM Update Status Summarizer run.
CREATE OR REPLACE VIEW v_UpdateSummary AS
SELECT s.CI_ID, ui.ArticleID, ui.BulletinID,
       (SELECT lp.DisplayName FROM CI_LocalizedProperties lp WHERE lp.CI_ID = s.CI_ID
         ORDER BY CASE lp.LocaleID WHEN 1033 THEN 0 WHEN 9 THEN 1 ELSE 2 END, lp.LocaleID
         LIMIT 1) AS Title,
       s.NumRequired, s.NumInstalled, s.NumNotRequired, s.NumUnknown, s.NumTotal,
       s.LastSummaryTime
  FROM Update_StatusSummary s
  LEFT JOIN CI_UpdateInfo ui ON ui.CI_ID = s.CI_ID
GO

-- Status messages, columns in the order of the ConfigMgr view.
CREATE OR REPLACE VIEW v_StatusMessage AS
SELECT sm.RecordID, sm.ModuleName, sm.Severity, sm.MessageID, sm.ReportFunction,
       sm.SuccessfulCount, sm.PerClient, sm.MessageType, sm.Win32Error, sm.Time,
       sm.SiteCode, sm.TopLevelSiteCode, sm.MachineName, sm.Component,
       sm.ProcessID, sm.ThreadID
  FROM StatusMessages sm
GO

CREATE OR REPLACE VIEW v_StatMsgInsStrings AS
SELECT i.RecordID, i.InsStrIndex, i.InsStrValue
  FROM StatusMessageInsStrs i
GO

CREATE OR REPLACE VIEW v_StatMsgAttributes AS
SELECT a.RecordID, a.AttributeID, a.AttributeValue, a.AttributeTime
  FROM StatusMessageAttributes a
GO
