//  cron.c - cron expressions parsed into bit sets, and the next minute
//  they match (see cron.h). Dates are computed by hand from days since
//  the epoch (the proleptic Gregorian calendar, as in Howard Hinnant's
//  civil-date algorithms), so nothing depends on the process's TZ.
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cron.h"
#include "common/err.h"
#include "common/why.h"

#define ZJ_CRON_FIELDS 5
#define ZJ_CRON_SEARCH_DAYS (28 * 366) //  The weekdays repeat in 28 years

//  One field's bounds, name and the names its values may take.
typedef struct {
    const char *name;
    int low, high;
    const char *const *names; //  names[0] is value low, or NULL
} s_field_t;

static const char *const s_month_names[] = {"jan", "feb", "mar", "apr", "may",
                                            "jun", "jul", "aug", "sep", "oct",
                                            "nov", "dec", NULL};
static const char *const s_day_names[] = {"sun", "mon", "tue", "wed",
                                          "thu", "fri", "sat", NULL};

static const s_field_t s_fields[ZJ_CRON_FIELDS] = {
    {"minute", 0, 59, NULL},
    {"hour", 0, 23, NULL},
    {"day-of-month", 1, 31, NULL},
    {"month", 1, 12, s_month_names},
    {"day-of-week", 0, 7, s_day_names},
};

static const struct {
    const char *macro, *fields;
} s_macros[] = {{"@hourly", "0 * * * *"},   {"@daily", "0 0 * * *"},
                {"@midnight", "0 0 * * *"}, {"@weekly", "0 0 * * 0"},
                {"@monthly", "0 0 1 * *"},  {"@yearly", "0 0 1 1 *"},
                {"@annually", "0 0 1 1 *"}};

//  Reads a value (digits, or a name of the field) at *text, moving past
//  it. Returns 0 or ZJ_EUSAGE.
static int
s_value(const s_field_t *field, const char **text, int *value, char *why)
{
    const char *start = *text;
    if (isdigit((unsigned char) *start)) {
        long number = 0;
        while (isdigit((unsigned char) **text) && number <= 1000)
            number = number * 10 + (*(*text)++ - '0');
        if (number < field->low || number > field->high)
            return zj_why_fail(ZJ_EUSAGE, why,
                               "cron: %s field: %ld is out of %d-%d",
                               field->name, number, field->low, field->high);
        *value = (int) number;
        return 0;
    }
    for (int index = 0; field->names && field->names[index]; index++)
        if (strncasecmp(start, field->names[index], 3) == 0 &&
            !isalpha((unsigned char) start[3])) {
            *value = field->low + index;
            *text += 3;
            return 0;
        }
    char quoted[ZJ_WHY_QUOTE_MAX + 1];
    zj_why_quote(quoted, start, strcspn(start, ",-/"));
    return zj_why_fail(ZJ_EUSAGE, why, "cron: %s field: '%s' is not a value",
                       field->name, quoted);
}

//  Reads one item of a list ("*", "N", "N-M", with "/S") into *bits.
static int
s_item(const s_field_t *field, const char **text, uint64_t *bits, char *why)
{
    int low = field->low, high = field->high, step = 1, rc;
    bool single = false;
    if (**text == '*')
        (*text)++;
    else {
        if ((rc = s_value(field, text, &low, why)))
            return rc;
        single = true;
        if (**text == '-') {
            (*text)++;
            if ((rc = s_value(field, text, &high, why)))
                return rc;
            single = false;
            if (high < low)
                return zj_why_fail(ZJ_EUSAGE, why,
                                   "cron: %s field: range %d-%d runs backwards",
                                   field->name, low, high);
        }
    }
    if (**text == '/') {
        (*text)++;
        long number = 0;
        if (!isdigit((unsigned char) **text))
            return zj_why_fail(ZJ_EUSAGE, why,
                               "cron: %s field: '/' needs a step", field->name);
        while (isdigit((unsigned char) **text) && number <= 1000)
            number = number * 10 + (*(*text)++ - '0');
        if (number < 1 || number > field->high - field->low + 1)
            return zj_why_fail(
                ZJ_EUSAGE, why, "cron: %s field: step %ld is out of 1-%d",
                field->name, number, field->high - field->low + 1);
        step = (int) number;
        single = false;
    }
    if (single)
        high = low;
    for (int value = low; value <= high; value += step)
        *bits |= 1ULL << value;
    return 0;
}

//  Parses one field (text of size bytes) into *bits.
static int
s_field(const s_field_t *field, const char *text, size_t size, uint64_t *bits,
        char *why)
{
    char copy[ZJ_MAX_CRON + 1];
    snprintf(copy, sizeof copy, "%.*s", (int) size, text);
    const char *at = copy;
    *bits = 0;
    while (true) {
        int rc = s_item(field, &at, bits, why);
        if (rc)
            return rc;
        if (*at == '\0')
            return 0;
        if (*at != ',' || at[1] == '\0') {
            char quoted[ZJ_WHY_QUOTE_MAX + 1];
            zj_why_quote(quoted, copy, strlen(copy));
            return zj_why_fail(ZJ_EUSAGE, why,
                               "cron: %s field: cannot read '%s'", field->name,
                               quoted);
        }
        at++;
    }
}

static bool
s_is_leap(int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int
s_month_days(int64_t year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && s_is_leap(year) ? 29 : days[month - 1];
}

//  Whether some month of cron has some day of cron (a leap February has
//  29): else, with the day of week '*', nothing ever matches.
static bool
s_can_match(const zj_cron_t *cron)
{
    if (!cron->weekdays_star && !cron->days_star)
        return true;
    for (int month = 1; month <= 12; month++)
        if (cron->months & (1u << month))
            for (int day = 1; day <= (month == 2 ? 29 : s_month_days(1, month));
                 day++)
                if (cron->days & (1u << day))
                    return true;
    return false;
}

//  Splits text into its five fields and parses each.
static int
s_fields_of(const char *text, zj_cron_t *cron, char *why)
{
    const char *start[ZJ_CRON_FIELDS + 1];
    size_t size[ZJ_CRON_FIELDS + 1];
    int count = 0;
    for (const char *at = text; *at;) {
        at += strspn(at, " \t");
        if (*at == '\0')
            break;
        size_t length = strcspn(at, " \t");
        if (count <= ZJ_CRON_FIELDS) {
            start[count] = at;
            size[count] = length;
        }
        count++;
        at += length;
    }
    if (count != ZJ_CRON_FIELDS)
        return zj_why_fail(ZJ_EUSAGE, why,
                           "cron: %d fields, expected 5 (minute hour "
                           "day-of-month month day-of-week)",
                           count);
    uint64_t bits[ZJ_CRON_FIELDS];
    for (int index = 0; index < ZJ_CRON_FIELDS; index++) {
        int rc = s_field(&s_fields[index], start[index], size[index],
                         &bits[index], why);
        if (rc)
            return rc;
    }
    *cron = (zj_cron_t){
        .minutes = bits[0],
        .hours = (uint32_t) bits[1],
        .days = (uint32_t) bits[2],
        .months = (uint16_t) bits[3],
        //  Sunday is 0 and 7: fold bit 7 onto bit 0.
        .weekdays = (uint8_t) ((bits[4] | bits[4] >> 7) & 0x7f),
        .days_star = *start[2] == '*',
        .weekdays_star = *start[4] == '*',
    };
    return 0;
}

int
zj_cron_parse(const char *text, zj_cron_t *cron, char *why)
{
    assert(cron);
    char scratch[ZJ_WHY_SIZE];
    if (why == NULL)
        why = scratch;
    if (text == NULL || *text == '\0')
        return zj_why_fail(ZJ_EUSAGE, why, "cron: the expression is empty");
    if (strlen(text) > ZJ_MAX_CRON)
        return zj_why_fail(ZJ_EUSAGE, why,
                           "cron: the expression is %zu bytes > %d",
                           strlen(text), ZJ_MAX_CRON);
    if (*text == '@') {
        for (size_t index = 0; index < sizeof s_macros / sizeof s_macros[0];
             index++)
            if (strcmp(text, s_macros[index].macro) == 0)
                return s_fields_of(s_macros[index].fields, cron, why);
        char quoted[ZJ_WHY_QUOTE_MAX + 1];
        zj_why_quote(quoted, text, strlen(text));
        return zj_why_fail(ZJ_EUSAGE, why,
                           "cron: unknown '%s' (@hourly, @daily, @weekly, "
                           "@monthly, @yearly)",
                           quoted);
    }
    zj_cron_t parsed;
    int rc = s_fields_of(text, &parsed, why);
    if (rc)
        return rc;
    if (!s_can_match(&parsed))
        return zj_why_fail(ZJ_EUSAGE, why,
                           "cron: day-of-month field: no month of the month "
                           "field has such a day");
    *cron = parsed;
    return 0;
}

//  Days since 1970-01-01 to the civil date, and back.
static void
s_civil(int64_t days, int64_t *year, int *month, int *day)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t of_era = days - era * 146097;
    int64_t year_of_era =
        (of_era - of_era / 1460 + of_era / 36524 - of_era / 146096) / 365;
    int64_t of_year =
        of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t shifted = (5 * of_year + 2) / 153;
    *day = (int) (of_year - (153 * shifted + 2) / 5 + 1);
    *month = (int) (shifted < 10 ? shifted + 3 : shifted - 9);
    *year = year_of_era + era * 400 + (*month <= 2);
}

//  Whether cron runs on that day (the Vixie rule for the two day fields).
static bool
s_day_matches(const zj_cron_t *cron, int64_t days)
{
    int64_t year;
    int month, day;
    s_civil(days, &year, &month, &day);
    if (!(cron->months & (1u << month)))
        return false;
    int weekday = (int) (((days % 7) + 11) % 7); //  1970-01-01 was a Thursday
    bool by_day = cron->days & (1u << day);
    bool by_weekday = cron->weekdays & (1u << weekday);
    if (cron->days_star || cron->weekdays_star)
        return by_day && by_weekday;
    return by_day || by_weekday;
}

//  The first minute of the day at or after minute from (0-1439) that
//  cron matches, or -1.
static int
s_minute_of_day(const zj_cron_t *cron, int from)
{
    for (int hour = from / 60; hour < 24; hour++) {
        if (!(cron->hours & (1u << hour)))
            continue;
        for (int minute = hour == from / 60 ? from % 60 : 0; minute < 60;
             minute++)
            if (cron->minutes & (1ULL << minute))
                return hour * 60 + minute;
    }
    return -1;
}

int64_t
zj_cron_next(const zj_cron_t *cron, int64_t after)
{
    assert(cron);
    int64_t start = after - ((after % 60) + 60) % 60 + 60;
    int64_t days = start >= 0 ? start / 86400 : (start - 86399) / 86400;
    int from = (int) ((start - days * 86400) / 60);
    for (int64_t tried = 0; tried < ZJ_CRON_SEARCH_DAYS; tried++, from = 0) {
        if (!s_day_matches(cron, days + tried))
            continue;
        int minute = s_minute_of_day(cron, from);
        if (minute >= 0)
            return (days + tried) * 86400 + minute * 60;
    }
    return -1;
}
