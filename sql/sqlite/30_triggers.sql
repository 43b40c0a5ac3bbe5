-- 30_triggers.sql (SQLite) - the change-notification triggers (DESIGN.md
-- section 5.5).  Each trigger records a row in TableChangeNotifications
-- (NotificationName, TableName, Action, KeyValue) for smsdbmon, but only
-- while the notification's row in DBMonNotifications has Enabled = 1, so a
-- notification is switched on and off with an UPDATE, not by dropping the
-- trigger.  A trigger is named after its notification; where SQLite needs
-- one trigger per action, the name gets _ins, _upd or _del.  The
-- PostgreSQL file uses the same trigger names.  KeyValue is always text.
-- One statement per GO batch (a whole CREATE TRIGGER ... END is one).

-- SyncNotif_WSyncMgr: SyncNow set to 'SELF' or 'FULL' (the console's Sync
-- Now, cmsite syncnow) -> smsdbmon drops <SyncNow>.SYN in wsyncmgr.box.
-- Setting it back to NULL records nothing.
CREATE TRIGGER IF NOT EXISTS SyncNotif_WSyncMgr AFTER UPDATE OF SyncNow ON Update_SyncStatus
FOR EACH ROW WHEN NEW.SyncNow IS NOT NULL
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'SyncNotif_WSyncMgr', 'Update_SyncStatus', 'UPDATE', CAST(NEW.SyncNow AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                    WHERE NotificationName = 'SyncNotif_WSyncMgr' AND Enabled = 1);
END
GO

-- UpdSyncStatus_iu: a new sync status row, or a new content version ->
-- smsdbmon drops {UpdateSource_UniqueID}.STN in policypv.box.  The key is
-- the update source's unique ID; nothing is recorded when the row names
-- no known update source.
CREATE TRIGGER IF NOT EXISTS UpdSyncStatus_iu_ins AFTER INSERT ON Update_SyncStatus
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

-- SubNotify_iu_WCM: subscribed products/classifications changed -> .CSB in
-- WSUSMgr.box.  CategoryNotify_iud, CINotify_iud, CIAssignmentNotify_iu:
-- objmgr.box (.CTN, .CIN, .CIA; no consumer yet, registered disabled).
-- PolicyAssignmentChg_Notify_iu: policypv.box/policytargeteval (.PAC,
-- registered disabled).

CREATE TRIGGER IF NOT EXISTS SubNotify_iu_WCM_ins AFTER INSERT ON CI_UpdateCategorySubscription
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'SubNotify_iu_WCM', 'CI_UpdateCategorySubscription', 'INSERT', CAST(NEW.CategoryInstanceID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                    WHERE NotificationName = 'SubNotify_iu_WCM' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS SubNotify_iu_WCM_upd AFTER UPDATE ON CI_UpdateCategorySubscription
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'SubNotify_iu_WCM', 'CI_UpdateCategorySubscription', 'UPDATE', CAST(NEW.CategoryInstanceID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                    WHERE NotificationName = 'SubNotify_iu_WCM' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS CategoryNotify_iud_ins AFTER INSERT ON CI_CategoryInstances
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'CategoryNotify_iud', 'CI_CategoryInstances', 'INSERT', CAST(NEW.CategoryInstanceID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                    WHERE NotificationName = 'CategoryNotify_iud' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS CategoryNotify_iud_upd AFTER UPDATE ON CI_CategoryInstances
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'CategoryNotify_iud', 'CI_CategoryInstances', 'UPDATE', CAST(NEW.CategoryInstanceID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                    WHERE NotificationName = 'CategoryNotify_iud' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS CategoryNotify_iud_del AFTER DELETE ON CI_CategoryInstances
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'CategoryNotify_iud', 'CI_CategoryInstances', 'DELETE', CAST(OLD.CategoryInstanceID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                    WHERE NotificationName = 'CategoryNotify_iud' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS CINotify_iud_ins AFTER INSERT ON CI_ConfigurationItems
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'CINotify_iud', 'CI_ConfigurationItems', 'INSERT', CAST(NEW.CI_ID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                    WHERE NotificationName = 'CINotify_iud' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS CINotify_iud_upd AFTER UPDATE ON CI_ConfigurationItems
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'CINotify_iud', 'CI_ConfigurationItems', 'UPDATE', CAST(NEW.CI_ID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                    WHERE NotificationName = 'CINotify_iud' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS CINotify_iud_del AFTER DELETE ON CI_ConfigurationItems
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'CINotify_iud', 'CI_ConfigurationItems', 'DELETE', CAST(OLD.CI_ID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                    WHERE NotificationName = 'CINotify_iud' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS CIAssignmentNotify_iu_ins AFTER INSERT ON CI_CIAssignments
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'CIAssignmentNotify_iu', 'CI_CIAssignments', 'INSERT', CAST(NEW.AssignmentID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                    WHERE NotificationName = 'CIAssignmentNotify_iu' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS CIAssignmentNotify_iu_upd AFTER UPDATE ON CI_CIAssignments
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'CIAssignmentNotify_iu', 'CI_CIAssignments', 'UPDATE', CAST(NEW.AssignmentID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                    WHERE NotificationName = 'CIAssignmentNotify_iu' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS PolicyAssignmentChg_Notify_iu_ins AFTER INSERT ON PolicyAssignment
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'PolicyAssignmentChg_Notify_iu', 'PolicyAssignment', 'INSERT', CAST(NEW.PADBID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                    WHERE NotificationName = 'PolicyAssignmentChg_Notify_iu' AND Enabled = 1);
END
GO

CREATE TRIGGER IF NOT EXISTS PolicyAssignmentChg_Notify_iu_upd AFTER UPDATE ON PolicyAssignment
FOR EACH ROW
BEGIN
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'PolicyAssignmentChg_Notify_iu', 'PolicyAssignment', 'UPDATE', CAST(NEW.PADBID AS TEXT)
     WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                    WHERE NotificationName = 'PolicyAssignmentChg_Notify_iu' AND Enabled = 1);
END
GO
