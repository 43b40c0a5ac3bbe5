#!/bin/bash
# badinput.sh - the bad-input corpus against the real statesys, on SQLite or
# (under tests/with-postgres.sh) PostgreSQL: malformed, truncated and empty
# files, UTF-16 without a byte order mark, a mark that contradicts the
# declaration, a 200 MB file, a billion-laughs entity bomb, external
# entities pointing at /etc/passwd and at a URL, unknown topic types and
# state IDs, missing attributes, absurd serial numbers and dates, hostile
# strings (quotes, '; DROP TABLE, 10 KB IDs, NUL escapes), a name with
# spaces, a symlink, a hard link, a fifo, a wrong name, a file still being
# written, and a file whose rows the database refuses (a trigger stands in
# for any refusal: the batch is applied again one file at a time).  Each bad
# file goes to corrupt/ once with one log line and one status message;
# nothing else is lost and statesys keeps running.
. "$(dirname "$0")/sslib.sh"

SEED_UPDATE=505fda07-b4f3-45fb-83d9-8642554e2773
C1=GUID:11111111-1111-4111-8111-111111111111
T="20140120171855.573000+000"

check "cmsite init" init_site
setting "Inbox Pause" 0
setting "Settle Time" 2
sql "INSERT INTO CI_ConfigurationItems (CI_UniqueID, CIType_ID, RevisionNumber) VALUES ('$SEED_UPDATE', 1, 200)"
start_statesys
check "statesys started" wait_for 30 log_has "$sslog" "Connected to the site database"

stage="$root/stage"
mkdir -p "$stage"
good() { # good NAME CLIENT SERIAL: a valid one-message report in UTF-16LE
    report "$2" GOODPC "$(message "$T" "$3" "$SEED_UPDATE" 500 2 '<Param>200</Param>')" >"$stage/$1.xml"
    utf16 "$stage/$1.xml" >"$stage/$1"
}

# --- Files that are not state message batches: corrupt/, once each. ---------------------
good SEED.SMX "$C1" 1
utf16 "$data/seed004-body.xml" >"$stage/BASE"
head -c $(( $(stat -c %s "$stage/BASE") / 2 )) "$stage/BASE" >"$stage/TRUNC.SMX"
: >"$stage/EMPTY.SMX"
printf '<?xml version="1.0" encoding="UTF-16"?><Report><ReportHeader></ReportBody></Report>' >"$stage/MALFORM.SMX"
# A big-endian mark on little-endian text.
{ printf '\xfe\xff'; tail -c +3 "$stage/BASE"; } >"$stage/BADBOM.SMX"
cat >"$stage/BOMB.SMX" <<'EOF'
<?xml version="1.0"?>
<!DOCTYPE Report [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Report><ReportHeader><Identification><Machine><ClientID>GUID:22222222-2222-4222-8222-222222222222</ClientID><NetBIOSName>BOMB</NetBIOSName></Machine></Identification></ReportHeader><ReportBody><StateMessage MessageTime="20140120171855.573000+000" SerialNumber="1"><Topic ID="&lol9;" Type="1000"/><State ID="1"/></StateMessage></ReportBody></Report>
EOF
cat >"$stage/XXEFILE.SMX" <<'EOF'
<?xml version="1.0"?>
<!DOCTYPE Report [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Report><ReportHeader><Identification><Machine><ClientID>GUID:33333333-3333-4333-8333-333333333333</ClientID><NetBIOSName>XXE</NetBIOSName></Machine></Identification></ReportHeader><ReportBody><StateMessage MessageTime="20140120171855.573000+000" SerialNumber="1"><Topic ID="&xxe;" Type="1000"/><State ID="1"/></StateMessage></ReportBody></Report>
EOF
cat >"$stage/XXEURL.SMX" <<'EOF'
<?xml version="1.0"?>
<!DOCTYPE Report SYSTEM "http://127.0.0.1:9/evil.dtd">
<Report><ReportHeader><Identification><Machine><ClientID>GUID:44444444-4444-4444-8444-444444444444</ClientID><NetBIOSName>XXEURL</NetBIOSName></Machine></Identification></ReportHeader><ReportBody/></Report>
EOF
report "$C1" NULPC "$(message "$T" 2 'nul&#0;here' 1000 1)" >"$stage/NUL.xml"
utf16 "$stage/NUL.xml" >"$stage/NULESC.SMX"
report "GUID:'; DROP TABLE System_DISC; --" EVIL "$(message "$T" 1 x 1000 1)" >"$stage/NOGUID.xml"
utf16 "$stage/NOGUID.xml" >"$stage/NOGUID.SMX"
bad=(TRUNC.SMX EMPTY.SMX MALFORM.SMX BADBOM.SMX BOMB.SMX XXEFILE.SMX XXEURL.SMX NULESC.SMX NOGUID.SMX)

# --- Files that are fine, or fine but for some records. -----------------------------------
# UTF-16 without a byte order mark, and a UTF-16LE mark on a document declared UTF-8.
iconv -f UTF-8 -t UTF-16LE "$data/seed004-body.xml" >"$stage/NOBOM.SMX"
sed 's/encoding="UTF-16"/encoding="UTF-8"/' "$data/seed004-body.xml" >"$stage/decl8.xml"
utf16 "$stage/decl8.xml" >"$stage/DECL8.SMX"
big10k=$(head -c 10240 /dev/zero | tr '\0' A)
body="$(message "$T" 1 "Topic/Unknown/Type" 9999 42)"                     # valid: generic
body+="$(message "$T" 2 "$SEED_UPDATE" 500 7)"                               # state 500/7: invalid
body+='<StateMessage SerialNumber="3"><Topic ID="x" Type="1000"/><State ID="1"/></StateMessage>'  # no time
body+='<StateMessage MessageTime="'$T'"><Topic ID="x" Type="1000"/><State ID="1"/></StateMessage>' # no serial
body+="$(message "$T" -4 x 1000 1)"                                          # negative serial
body+="$(message "$T" 99999999999999999999 x 1000 1)"                        # absurd serial
body+="$(message 99991399000000.000000+000 7 x 1000 1)"                      # absurd date
body+="$(message 20990101000000.000000+000 8 x 1000 1)"                      # far future
body+="$(message "$T" 9 "$big10k" 1000 1)"                                   # 10 KB ID
body+="$(message "$T" 10 "&apos;; DROP TABLE System_DISC; --" 1000 1 "<Param>&quot;&apos;&lt;&amp;</Param>")"
body+="$(message "$T" 11 not-a-guid 500 2)"                                  # 500 without an update
report "GUID:55555555-5555-4555-8555-555555555555" "O&apos;Hara" "$body" >"$stage/MIXED.xml"
utf16 "$stage/MIXED.xml" >"$stage/MIXED.SMX"
good "STATE MSG 1.SMX" "GUID:66666666-6666-4666-8666-666666666666" 1

for f in "${bad[@]}" SEED.SMX NOBOM.SMX DECL8.SMX MIXED.SMX "STATE MSG 1.SMX"; do
    mv "$stage/$f" "$box/$f"
done

# --- Things a reader must never follow or open. -------------------------------------------
echo "precious" >"$root/target.txt"
ln -s "$root/target.txt" "$box/LINK.SMX"
echo "two names" >"$root/hard.txt"
ln "$root/hard.txt" "$box/HARD.SMX"
mkfifo "$box/FIFO.SMX"
echo "not a state message" >"$box/notes.txt"
truncate -s 200M "$box/HUGE.SMX"
rejected=(LINK.SMX HARD.SMX FIFO.SMX notes.txt HUGE.SMX)

check "the good files applied" wait_for 60 is \
    "SELECT COUNT(*) FROM System_DISC WHERE SMS_Unique_Identifier0 IN ('$C1', 'GUID:A1006D0E-CF56-41D1-A006-6330EFC39381', 'GUID:55555555-5555-4555-8555-555555555555', 'GUID:66666666-6666-4666-8666-666666666666')" 4
check "the box drained (bad files wait their settle time)" wait_for 60 drained
for f in "${bad[@]}" "${rejected[@]}"; do
    check "$f in corrupt/ once" test "$(find "$corrupt" -maxdepth 1 -name "$f*" | wc -l)" -eq 1
done
for f in "${bad[@]}"; do
    check "$f: one log line" test "$(grep -c "Bad state message file $f:" "$sslog")" -eq 1
done
for f in "${rejected[@]}"; do
    check "$f: one log line" test "$(grep -c "Rejected file $f " "$sslog")" -eq 1
done
check "one status message per bad file (8200)" wait_for 10 is "SELECT COUNT(*) FROM StatusMessages WHERE MessageID = 8200" "${#bad[@]}"
check "one status message per rejected file (8201)" wait_for 10 is "SELECT COUNT(*) FROM StatusMessages WHERE MessageID = 8201" "${#rejected[@]}"
check "the bad file's name is in its status message" bash -c "\"$CMSITE\" statmsg --root '$root' --id 8200 | grep -q 'XXEFILE.SMX'"
check "the symlink moved, not followed" test -L "$corrupt/LINK.SMX"
check "its target untouched" grep -q precious "$root/target.txt"
check "the hard link's other name untouched" grep -q "two names" "$root/hard.txt"
check "the fifo moved without being opened" test -p "$corrupt/FIFO.SMX"
check "the 200 MB file moved, not read" test "$(stat -c %s "$corrupt/HUGE.SMX")" -eq 209715200

check "no entity from /etc/passwd reached the database" is "SELECT COUNT(*) FROM SR_CurrentState WHERE TopicID LIKE '%root:%'" 0
check "nothing from the bomb or the XXE files" is \
    "SELECT COUNT(*) FROM System_DISC WHERE Netbios_Name0 IN ('BOMB', 'XXE', 'XXEURL', 'EVIL', 'NULPC')" 0
check "UTF-16 without a mark and a mark against the declaration: the seed client" is \
    "SELECT COUNT(*) FROM System_DISC WHERE SMS_Unique_Identifier0 = 'GUID:A1006D0E-CF56-41D1-A006-6330EFC39381'" 1
check "the name with spaces processed" is \
    "SELECT COUNT(*) FROM Update_ComplianceStatus cs JOIN System_DISC s ON s.ItemKey = cs.MachineID WHERE s.SMS_Unique_Identifier0 = 'GUID:66666666-6666-4666-8666-666666666666'" 1

# The mixed file: every record counted, the invalid ones logged and not applied.
M5="(SELECT ItemKey FROM System_DISC WHERE SMS_Unique_Identifier0 = 'GUID:55555555-5555-4555-8555-555555555555')"
check "hostile client name stored as is" is "SELECT Netbios_Name0 FROM System_DISC WHERE ItemKey = $M5" "O'Hara"
check "unknown topic type kept (generic)" is "SELECT StateID FROM SR_CurrentState WHERE MachineID = $M5 AND TopicType = 9999" 42
check "hostile topic ID stored as is" is "SELECT COUNT(*) FROM SR_CurrentState WHERE TopicID = '''; DROP TABLE System_DISC; --'" 1
check "hostile parameters stored as is" is "SELECT UserParams FROM SR_CurrentState WHERE TopicID = '''; DROP TABLE System_DISC; --'" "\"'<&"
check "no row from the invalid records" is "SELECT COUNT(*) FROM SR_CurrentState WHERE MachineID = $M5" 2
check "invalid records counted (9 of 11)" is "SELECT InvalidMessages FROM SR_ClientMessageCounts WHERE MachineID = $M5" 9
check "records with a usable serial number received (8)" is "SELECT MessagesReceived FROM SR_ClientMessageCounts WHERE MachineID = $M5" 8
check "the invalid records logged" grep -q "MIXED.SMX holds 9 invalid record(s)" "$sslog"
check "System_DISC still there" is "SELECT COUNT(*) FROM System_DISC WHERE ItemKey > 0" 4

# --- A file still being written: retried after the settle time, not quarantined. ----------
report "GUID:77777777-7777-4777-8777-777777777777" SLOWPC "$(message "$T" 1 "$SEED_UPDATE" 500 3)" >"$stage/slow.xml"
utf16 "$stage/slow.xml" >"$stage/slow"
size=$(stat -c %s "$stage/slow")
# One writer holding its descriptor, as a relay copying a file does.
{ head -c $((size / 2)) "$stage/slow"; sleep 0.5; tail -c +$((size / 2 + 1)) "$stage/slow"; } >"$box/SLOW.SMX"
check "a slowly written file is applied" wait_for 30 is \
    "SELECT COUNT(*) FROM System_DISC WHERE SMS_Unique_Identifier0 = 'GUID:77777777-7777-4777-8777-777777777777'" 1
check "and never quarantined" test ! -e "$corrupt/SLOW.SMX"

# --- A file the database refuses: the batch is applied again one file at a time. ---------
if [ -n "${CM_TEST_DB:-}" ]; then
    sql "CREATE FUNCTION poison() RETURNS trigger AS \$\$ BEGIN IF NEW.TopicID = 'POISON' THEN RAISE EXCEPTION 'poisoned topic'; END IF; RETURN NEW; END \$\$ LANGUAGE plpgsql"
    sql "CREATE TRIGGER poison BEFORE INSERT ON SR_CurrentState FOR EACH ROW EXECUTE FUNCTION poison()"
else
    sql "CREATE TRIGGER poison BEFORE INSERT ON SR_CurrentState WHEN NEW.TopicID = 'POISON' BEGIN SELECT RAISE(ABORT, 'poisoned topic'); END"
fi
check "statesys reads the 2-second pause" setting_live "Inbox Pause" 2
for n in 1 2 3; do
    topic=Fine/Topic; [ $n -eq 2 ] && topic=POISON
    report "GUID:88888888-8888-4888-8888-00000000000$n" "PC$n" "$(message "$T" 1 "$topic" 1000 1)" >"$stage/p$n.xml"
    utf16 "$stage/p$n.xml" >"$stage/POISON$n.SMX"
done
mv "$stage"/POISON?.SMX "$box/"
check "the files beside the refused one applied" wait_for 30 is \
    "SELECT COUNT(*) FROM System_DISC WHERE SMS_Unique_Identifier0 LIKE 'GUID:88888888-%'" 2
check "the refused file quarantined" wait_for 10 test -f "$corrupt/POISON2.SMX"
check "the refused batch reported (8208)" wait_for 10 more "SELECT COUNT(*) FROM StatusMessages WHERE MessageID = 8208" 0
check "the refused file reported (8200)" bash -c "\"$CMSITE\" statmsg --root '$root' --id 8200 | grep -q 'POISON2.SMX'"

check "statesys still running" kill -0 "$SSPID"
check "nothing left in process/" test "$(files_in "$proc")" -eq 0
check "statesys stops cleanly" stop_statesys
done_tests
