-- 30_triggers.sql (PostgreSQL) - the change-notification triggers
-- (DESIGN.md section 5.5).  Each trigger records a row in
-- TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
-- for smsdbmon, but only while the row of its notification in
-- DBMonNotifications has Enabled = 1, so a notification is switched on and
-- off with an UPDATE, not by dropping its trigger.  One plpgsql function
-- per notification, fn_<notification>.  The triggers have the same names
-- as in the SQLite file: the name of the notification, with _ins, _upd or
-- _del where there is one trigger per action.  Action is TG_OP (INSERT,
-- UPDATE or DELETE), KeyValue is always text.
--
-- One statement per GO batch, a whole function body between the dollar
-- quotes is one.  A statement holding semicolons starts its batch and
-- carries its comment inside, after its first line (README.md).  CREATE OR
-- REPLACE FUNCTION, and DROP TRIGGER IF EXISTS before CREATE TRIGGER, make
-- a second run harmless.
--
-- The first statement is the index smsdbmon uses to coalesce repeated
-- notifications of the same key.
CREATE INDEX IF NOT EXISTS IX_TableChangeNotifications_Name_Key ON TableChangeNotifications (NotificationName, KeyValue)
GO

CREATE OR REPLACE FUNCTION fn_SyncNotif_WSyncMgr() RETURNS trigger
-- SyncNotif_WSyncMgr: SyncNow set to SELF or FULL (Sync Now in the
-- console, cmsite syncnow) makes smsdbmon drop <SyncNow>.SYN in
-- wsyncmgr.box.  Setting SyncNow back to NULL records nothing.
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.SyncNow IS NOT NULL THEN
        INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
        SELECT 'SyncNotif_WSyncMgr', 'Update_SyncStatus', 'UPDATE', CAST(NEW.SyncNow AS VARCHAR)
         WHERE EXISTS (SELECT 1 FROM DBMonNotifications
                       WHERE NotificationName = 'SyncNotif_WSyncMgr' AND Enabled = 1);
    END IF;
    RETURN NULL;
END
$$
GO

DROP TRIGGER IF EXISTS SyncNotif_WSyncMgr ON Update_SyncStatus
GO

CREATE TRIGGER SyncNotif_WSyncMgr AFTER UPDATE OF SyncNow ON Update_SyncStatus
FOR EACH ROW WHEN (NEW.SyncNow IS NOT NULL)
EXECUTE FUNCTION fn_SyncNotif_WSyncMgr()
GO

CREATE OR REPLACE FUNCTION fn_UpdSyncStatus_iu() RETURNS trigger
-- UpdSyncStatus_iu: a new sync status row, or a new content version,
-- makes smsdbmon drop <UpdateSource_UniqueID>.STN in policypv.box.  The
-- key is the unique ID of the update source of the row.  Nothing is
-- recorded when the row names no known update source.
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.ContentVersion IS NOT DISTINCT FROM OLD.ContentVersion THEN
        RETURN NULL;
    END IF;
    INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
    SELECT 'UpdSyncStatus_iu', 'Update_SyncStatus', TG_OP, us.UpdateSource_UniqueID
      FROM CI_UpdateSources us
     WHERE us.UpdateSource_ID = NEW.UpdateSource_ID
       AND EXISTS (SELECT 1 FROM DBMonNotifications
                   WHERE NotificationName = 'UpdSyncStatus_iu' AND Enabled = 1);
    RETURN NULL;
END
$$
GO

DROP TRIGGER IF EXISTS UpdSyncStatus_iu_ins ON Update_SyncStatus
GO

CREATE TRIGGER UpdSyncStatus_iu_ins AFTER INSERT ON Update_SyncStatus
FOR EACH ROW EXECUTE FUNCTION fn_UpdSyncStatus_iu()
GO

DROP TRIGGER IF EXISTS UpdSyncStatus_iu_upd ON Update_SyncStatus
GO

CREATE TRIGGER UpdSyncStatus_iu_upd AFTER UPDATE OF ContentVersion ON Update_SyncStatus
FOR EACH ROW WHEN (NEW.ContentVersion IS DISTINCT FROM OLD.ContentVersion)
EXECUTE FUNCTION fn_UpdSyncStatus_iu()
GO

CREATE OR REPLACE FUNCTION fn_SubNotify_iu_WCM() RETURNS trigger
-- SubNotify_iu_WCM: the subscribed products and classifications changed,
-- smsdbmon drops <CategoryInstanceID>.CSB in WSUSMgr.box for WCM.
LANGUAGE plpgsql AS $$
DECLARE
    k TEXT;
BEGIN
    IF EXISTS (SELECT 1 FROM DBMonNotifications
               WHERE NotificationName = 'SubNotify_iu_WCM' AND Enabled = 1) THEN
        k := CAST(NEW.CategoryInstanceID AS VARCHAR);
        INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
        VALUES ('SubNotify_iu_WCM', 'CI_UpdateCategorySubscription', TG_OP, k);
    END IF;
    RETURN NULL;
END
$$
GO

DROP TRIGGER IF EXISTS SubNotify_iu_WCM_ins ON CI_UpdateCategorySubscription
GO

CREATE TRIGGER SubNotify_iu_WCM_ins AFTER INSERT ON CI_UpdateCategorySubscription
FOR EACH ROW EXECUTE FUNCTION fn_SubNotify_iu_WCM()
GO

DROP TRIGGER IF EXISTS SubNotify_iu_WCM_upd ON CI_UpdateCategorySubscription
GO

CREATE TRIGGER SubNotify_iu_WCM_upd AFTER UPDATE ON CI_UpdateCategorySubscription
FOR EACH ROW EXECUTE FUNCTION fn_SubNotify_iu_WCM()
GO

CREATE OR REPLACE FUNCTION fn_CategoryNotify_iud() RETURNS trigger
-- CategoryNotify_iud: a category changed, <CategoryInstanceID>.CTN in
-- objmgr.box (no consumer yet, registered disabled).
LANGUAGE plpgsql AS $$
DECLARE
    k TEXT;
BEGIN
    IF EXISTS (SELECT 1 FROM DBMonNotifications
               WHERE NotificationName = 'CategoryNotify_iud' AND Enabled = 1) THEN
        IF TG_OP = 'DELETE' THEN
            k := CAST(OLD.CategoryInstanceID AS VARCHAR);
        ELSE
            k := CAST(NEW.CategoryInstanceID AS VARCHAR);
        END IF;
        INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
        VALUES ('CategoryNotify_iud', 'CI_CategoryInstances', TG_OP, k);
    END IF;
    RETURN NULL;
END
$$
GO

DROP TRIGGER IF EXISTS CategoryNotify_iud_ins ON CI_CategoryInstances
GO

CREATE TRIGGER CategoryNotify_iud_ins AFTER INSERT ON CI_CategoryInstances
FOR EACH ROW EXECUTE FUNCTION fn_CategoryNotify_iud()
GO

DROP TRIGGER IF EXISTS CategoryNotify_iud_upd ON CI_CategoryInstances
GO

CREATE TRIGGER CategoryNotify_iud_upd AFTER UPDATE ON CI_CategoryInstances
FOR EACH ROW EXECUTE FUNCTION fn_CategoryNotify_iud()
GO

DROP TRIGGER IF EXISTS CategoryNotify_iud_del ON CI_CategoryInstances
GO

CREATE TRIGGER CategoryNotify_iud_del AFTER DELETE ON CI_CategoryInstances
FOR EACH ROW EXECUTE FUNCTION fn_CategoryNotify_iud()
GO

CREATE OR REPLACE FUNCTION fn_CINotify_iud() RETURNS trigger
-- CINotify_iud: a configuration item changed, <CI_ID>.CIN in objmgr.box
-- (no consumer yet, registered disabled).
LANGUAGE plpgsql AS $$
DECLARE
    k TEXT;
BEGIN
    IF EXISTS (SELECT 1 FROM DBMonNotifications
               WHERE NotificationName = 'CINotify_iud' AND Enabled = 1) THEN
        IF TG_OP = 'DELETE' THEN
            k := CAST(OLD.CI_ID AS VARCHAR);
        ELSE
            k := CAST(NEW.CI_ID AS VARCHAR);
        END IF;
        INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
        VALUES ('CINotify_iud', 'CI_ConfigurationItems', TG_OP, k);
    END IF;
    RETURN NULL;
END
$$
GO

DROP TRIGGER IF EXISTS CINotify_iud_ins ON CI_ConfigurationItems
GO

CREATE TRIGGER CINotify_iud_ins AFTER INSERT ON CI_ConfigurationItems
FOR EACH ROW EXECUTE FUNCTION fn_CINotify_iud()
GO

DROP TRIGGER IF EXISTS CINotify_iud_upd ON CI_ConfigurationItems
GO

CREATE TRIGGER CINotify_iud_upd AFTER UPDATE ON CI_ConfigurationItems
FOR EACH ROW EXECUTE FUNCTION fn_CINotify_iud()
GO

DROP TRIGGER IF EXISTS CINotify_iud_del ON CI_ConfigurationItems
GO

CREATE TRIGGER CINotify_iud_del AFTER DELETE ON CI_ConfigurationItems
FOR EACH ROW EXECUTE FUNCTION fn_CINotify_iud()
GO

CREATE OR REPLACE FUNCTION fn_CIAssignmentNotify_iu() RETURNS trigger
-- CIAssignmentNotify_iu: a deployment changed, <AssignmentID>.CIA in
-- objmgr.box (no consumer yet, registered disabled).
LANGUAGE plpgsql AS $$
DECLARE
    k TEXT;
BEGIN
    IF EXISTS (SELECT 1 FROM DBMonNotifications
               WHERE NotificationName = 'CIAssignmentNotify_iu' AND Enabled = 1) THEN
        k := CAST(NEW.AssignmentID AS VARCHAR);
        INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
        VALUES ('CIAssignmentNotify_iu', 'CI_CIAssignments', TG_OP, k);
    END IF;
    RETURN NULL;
END
$$
GO

DROP TRIGGER IF EXISTS CIAssignmentNotify_iu_ins ON CI_CIAssignments
GO

CREATE TRIGGER CIAssignmentNotify_iu_ins AFTER INSERT ON CI_CIAssignments
FOR EACH ROW EXECUTE FUNCTION fn_CIAssignmentNotify_iu()
GO

DROP TRIGGER IF EXISTS CIAssignmentNotify_iu_upd ON CI_CIAssignments
GO

CREATE TRIGGER CIAssignmentNotify_iu_upd AFTER UPDATE ON CI_CIAssignments
FOR EACH ROW EXECUTE FUNCTION fn_CIAssignmentNotify_iu()
GO

CREATE OR REPLACE FUNCTION fn_PolicyAssignmentChg_Notify_iu() RETURNS trigger
-- PolicyAssignmentChg_Notify_iu: a policy assignment changed, <PADBID>.PAC
-- in policypv.box/policytargeteval (registered disabled).
LANGUAGE plpgsql AS $$
DECLARE
    k TEXT;
BEGIN
    IF EXISTS (SELECT 1 FROM DBMonNotifications
               WHERE NotificationName = 'PolicyAssignmentChg_Notify_iu' AND Enabled = 1) THEN
        k := CAST(NEW.PADBID AS VARCHAR);
        INSERT INTO TableChangeNotifications (NotificationName, TableName, Action, KeyValue)
        VALUES ('PolicyAssignmentChg_Notify_iu', 'PolicyAssignment', TG_OP, k);
    END IF;
    RETURN NULL;
END
$$
GO

DROP TRIGGER IF EXISTS PolicyAssignmentChg_Notify_iu_ins ON PolicyAssignment
GO

CREATE TRIGGER PolicyAssignmentChg_Notify_iu_ins AFTER INSERT ON PolicyAssignment
FOR EACH ROW EXECUTE FUNCTION fn_PolicyAssignmentChg_Notify_iu()
GO

DROP TRIGGER IF EXISTS PolicyAssignmentChg_Notify_iu_upd ON PolicyAssignment
GO

CREATE TRIGGER PolicyAssignmentChg_Notify_iu_upd AFTER UPDATE ON PolicyAssignment
FOR EACH ROW EXECUTE FUNCTION fn_PolicyAssignmentChg_Notify_iu()
GO
