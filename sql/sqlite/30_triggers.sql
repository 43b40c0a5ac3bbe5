-- 30_triggers.sql (SQLite) - the change-notification triggers (DESIGN.md
-- section 5.5).  Each trigger records a row in TableChangeNotifications
-- (NotificationName, TableName, Action, KeyValue) for smsdbmon, but only
-- while the row of its notification in DBMonNotifications has Enabled = 1,
-- so a notification is switched on and off with an UPDATE, not by dropping
-- its trigger.  A trigger is named after its notification, with _ins, _upd
-- or _del where there is one trigger per action.  The PostgreSQL file uses
-- the same trigger names.  KeyValue is always text.
--
-- One statement per GO batch, a whole CREATE TRIGGER ... END is one.  The
-- SQLite ODBC driver refuses a batch that holds a semicolon unless the
-- batch starts with its CREATE keyword, so each trigger starts its batch
-- and carries its comment inside, after its first line (README.md).
--
-- The first statement is the index smsdbmon uses to coalesce repeated
-- notifications of the same key.
CREATE INDEX IF NOT EXISTS IX_TableChangeNotifications_Name_Key ON TableChangeNotifications (NotificationName, KeyValue)
GO

CREATE TRIGGER IF NOT EXISTS SyncNotif_WSyncMgr AFTER UPDATE OF SyncNow ON Update_SyncStatus
-- SyncNotif_WSyncMgr: SyncNow set to SELF or FULL (Sync Now in the
-- console, cmsite syncnow) makes smsdbmon drop <SyncNow>.SYN in
-- wsyncmgr.box.  Setting SyncNow back to NULL records nothing.
FOR EACH ROW WHEN NEW.SyncNow IS NOT NULL
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'SyncNotif_WSyncMgr', 'Update_SyncStatus', 'UPDATE', CAST(NEW.SyncNow AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                   WHERE NotificationName = 'SyncNotif_WSyncMgr' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS UpdSyncStatus_iu_ins AFTER INSERT ON Update_SyncStatus
-- UpdSyncStatus_iu: a new sync status row, or a new content version,
-- makes smsdbmon drop <UpdateSource_UniqueID>.STN in policypv.box.  The
-- key is the unique ID of the update source of the row.  Nothing is
-- recorded when the row names no known update source.
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'UpdSyncStatus_iu', 'Update_SyncStatus', 'INSERT', us.UpdateSource_UniqueID
      FROM CI_UpdateSources us
     WHERE us.UpdateSource_ID = NEW.UpdateSource_ID
       AND EXISTS (SELECT 1 FROM DBMonNotifications
                   WHERE NotificationName = 'UpdSyncStatus_iu' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS UpdSyncStatus_iu_upd AFTER UPDATE OF ContentVersion ON Update_SyncStatus
-- UpdSyncStatus_iu on a changed ContentVersion.
FOR EACH ROW WHEN NEW.ContentVersion IS NOT OLD.ContentVersion
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'UpdSyncStatus_iu', 'Update_SyncStatus', 'UPDATE', us.UpdateSource_UniqueID
      FROM CI_UpdateSources us
     WHERE us.UpdateSource_ID = NEW.UpdateSource_ID
       AND EXISTS (SELECT 1 FROM DBMonNotifications
                   WHERE NotificationName = 'UpdSyncStatus_iu' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS SubNotify_iu_WCM_ins AFTER INSERT ON CI_UpdateCategorySubscription
-- SubNotify_iu_WCM: the subscribed products and classifications changed,
-- smsdbmon drops <CategoryInstanceID>.CSB in WSUSMgr.box for WCM.
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'SubNotify_iu_WCM', 'CI_UpdateCategorySubscription', 'INSERT', CAST(NEW.CategoryInstanceID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                   WHERE NotificationName = 'SubNotify_iu_WCM' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS SubNotify_iu_WCM_upd AFTER UPDATE ON CI_UpdateCategorySubscription
-- SubNotify_iu_WCM on UPDATE.
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'SubNotify_iu_WCM', 'CI_UpdateCategorySubscription', 'UPDATE', CAST(NEW.CategoryInstanceID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                   WHERE NotificationName = 'SubNotify_iu_WCM' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS CategoryNotify_iud_ins AFTER INSERT ON CI_CategoryInstances
-- CategoryNotify_iud: a category changed, <CategoryInstanceID>.CTN in
-- objmgr.box (no consumer yet, registered disabled).
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'CategoryNotify_iud', 'CI_CategoryInstances', 'INSERT', CAST(NEW.CategoryInstanceID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                   WHERE NotificationName = 'CategoryNotify_iud' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS CategoryNotify_iud_upd AFTER UPDATE ON CI_CategoryInstances
-- CategoryNotify_iud on UPDATE.
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'CategoryNotify_iud', 'CI_CategoryInstances', 'UPDATE', CAST(NEW.CategoryInstanceID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                   WHERE NotificationName = 'CategoryNotify_iud' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS CategoryNotify_iud_del AFTER DELETE ON CI_CategoryInstances
-- CategoryNotify_iud on DELETE.
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'CategoryNotify_iud', 'CI_CategoryInstances', 'DELETE', CAST(OLD.CategoryInstanceID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                   WHERE NotificationName = 'CategoryNotify_iud' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS CINotify_iud_ins AFTER INSERT ON CI_ConfigurationItems
-- CINotify_iud: a configuration item changed, <CI_ID>.CIN in objmgr.box
-- (no consumer yet, registered disabled).
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'CINotify_iud', 'CI_ConfigurationItems', 'INSERT', CAST(NEW.CI_ID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                   WHERE NotificationName = 'CINotify_iud' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS CINotify_iud_upd AFTER UPDATE ON CI_ConfigurationItems
-- CINotify_iud on UPDATE.
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'CINotify_iud', 'CI_ConfigurationItems', 'UPDATE', CAST(NEW.CI_ID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                   WHERE NotificationName = 'CINotify_iud' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS CINotify_iud_del AFTER DELETE ON CI_ConfigurationItems
-- CINotify_iud on DELETE.
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'CINotify_iud', 'CI_ConfigurationItems', 'DELETE', CAST(OLD.CI_ID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                   WHERE NotificationName = 'CINotify_iud' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS CIAssignmentNotify_iu_ins AFTER INSERT ON CI_CIAssignments
-- CIAssignmentNotify_iu: a deployment changed, <AssignmentID>.CIA in
-- objmgr.box (no consumer yet, registered disabled).
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'CIAssignmentNotify_iu', 'CI_CIAssignments', 'INSERT', CAST(NEW.AssignmentID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                   WHERE NotificationName = 'CIAssignmentNotify_iu' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS CIAssignmentNotify_iu_upd AFTER UPDATE ON CI_CIAssignments
-- CIAssignmentNotify_iu on UPDATE.
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'CIAssignmentNotify_iu', 'CI_CIAssignments', 'UPDATE', CAST(NEW.AssignmentID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                   WHERE NotificationName = 'CIAssignmentNotify_iu' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS PolicyAssignmentChg_Notify_iu_ins AFTER INSERT ON PolicyAssignment
-- PolicyAssignmentChg_Notify_iu: a policy assignment changed, <PADBID>.PAC
-- in policypv.box/policytargeteval (registered disabled).
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'PolicyAssignmentChg_Notify_iu', 'PolicyAssignment', 'INSERT', CAST(NEW.PADBID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                   WHERE NotificationName = 'PolicyAssignmentChg_Notify_iu' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS PolicyAssignmentChg_Notify_iu_upd AFTER UPDATE ON PolicyAssignment
-- PolicyAssignmentChg_Notify_iu on UPDATE.
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'PolicyAssignmentChg_Notify_iu', 'PolicyAssignment', 'UPDATE', CAST(NEW.PADBID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                   WHERE NotificationName = 'PolicyAssignmentChg_Notify_iu' AND Enabled = 1);
END
GO
