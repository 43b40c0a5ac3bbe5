/*
 * trigger.c - sync requests and sync times (see trigger.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "trigger.h"

trigger_file trigger_classify(const char *name, const char *own_site, const char *parent_site,
                              char site[8], char *why, size_t whylen)
{
    size_t len = strlen(name);
    char code[8];
    site[0] = '\0';
    if (len < 5 || strcasecmp(name + len - 4, ".SYN") != 0) {
        snprintf(why, whylen, "not a sync request file");
        return TRIGGER_BAD;
    }
    if (strcasecmp(name, "SELF.SYN") == 0)
        return TRIGGER_LOCAL;
    if (strcasecmp(name, "FULL.SYN") == 0)
        return TRIGGER_FULL;
    if (len - 4 >= sizeof code) {
        snprintf(why, whylen, "an unknown sync request file name");
        return TRIGGER_BAD;
    }
    for (size_t i = 0; i < len - 4; i++)
        code[i] = (char)toupper((unsigned char)name[i]);
    code[len - 4] = '\0';
    if (!config_site_code_valid(code)) {
        snprintf(why, whylen, "an unknown sync request file name");
        return TRIGGER_BAD;
    }
    if (!parent_site || !*parent_site) {
        snprintf(why, whylen, "a sync notification from site %s, but this site has no parent site",
                 code);
        return TRIGGER_BAD;
    }
    if (strcasecmp(code, parent_site) != 0) {
        snprintf(why, whylen, "a sync notification from site %s, which is not the parent site %s",
                 code, parent_site);
        return TRIGGER_BAD;
    }
    (void)own_site;
    snprintf(site, 8, "%s", code);
    return TRIGGER_PARENT;
}

time_t trigger_next_regular(const trigger_state *s, long long schedule_min)
{
    if (schedule_min <= 0)
        return 0;
    time_t base = s->last_sync ? s->last_sync : s->origin;
    return base + (time_t)schedule_min * 60;
}

time_t trigger_next_retry(const trigger_state *s, long long retry_min)
{
    if (!s->last_fail || retry_min <= 0)
        return 0;
    return s->last_fail + (time_t)retry_min * 60;
}

time_t trigger_next(const trigger_state *s, long long schedule_min, long long retry_min,
                    int *is_retry)
{
    time_t reg = trigger_next_regular(s, schedule_min), ret = trigger_next_retry(s, retry_min);
    *is_retry = 0;
    if (ret && (!reg || ret <= reg)) {
        *is_retry = 1;
        return ret;
    }
    return reg;
}

long long trigger_minutes_until(time_t t, time_t now)
{
    if (t <= now)
        return 0;
    return ((long long)(t - now) + 30) / 60;
}

void trigger_time_text(time_t t, char *buf, size_t len)
{
    struct tm tm;
    localtime_r(&t, &tm);
    int h = tm.tm_hour % 12;
    snprintf(buf, len, "%d/%d/%d %d:%02d:%02d %s", tm.tm_mon + 1, tm.tm_mday, tm.tm_year + 1900,
             h ? h : 12, tm.tm_min, tm.tm_sec, tm.tm_hour < 12 ? "AM" : "PM");
}
