//  cli_output.c - how the CLI writes: JSON lines built with jansson (job
//  args and results embedded as JSON values), human times and spans,
//  aligned tables and the progress bar on stderr (see cli.h).
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "client/cli.h"
#include "common/duration.h"

json_t *
zj_cli_embed(const char *text)
{
    if (text == NULL)
        return json_null();
    json_t *value = json_loads(text, JSON_DECODE_ANY, NULL);
    return value ? value : json_string(text);
}

json_t *
zj_cli_result_json(const zjob_result_t *result)
{
    json_t *line = json_object();
    json_object_set_new(line, "id", json_integer(result->id));
    json_object_set_new(line, "state", json_string(result->state));
    if (strcmp(result->state, "succeeded") == 0)
        json_object_set_new(line, "result", zj_cli_embed(result->result));
    else {
        json_object_set_new(
            line, "error",
            json_string(result->error ? result->error : result->state));
        //  A failed exec or http job keeps its output or response.
        if (result->result)
            json_object_set_new(line, "result", zj_cli_embed(result->result));
    }
    return line;
}

//  A string member, or null.
static json_t *
s_string(const char *text)
{
    return text ? json_string(text) : json_null();
}

//  A unix time to the millisecond (so it prints in 15 digits and does not
//  force 17 on every real of the line), or null when unset.
static json_t *
s_time(double unix_seconds)
{
    if (unix_seconds <= 0)
        return json_null();
    return json_real(round(unix_seconds * 1000.0) / 1000.0);
}

json_t *
zj_cli_job_json(const zjob_job_t *job)
{
    json_t *record = json_object();
    json_object_set_new(record, "id", json_integer(job->id));
    json_object_set_new(record, "kind", s_string(job->kind));
    json_object_set_new(record, "args", zj_cli_embed(job->args));
    json_object_set_new(record, "state", json_string(job->state));
    json_object_set_new(record, "priority", json_integer(job->priority));
    json_object_set_new(record, "attempts", json_integer(job->attempts));
    json_object_set_new(record, "max_attempts",
                        json_integer(job->max_attempts));
    json_object_set_new(record, "timeout_ms", json_integer(job->timeout_ms));
    json_object_set_new(record, "not_before", s_time(job->not_before));
    json_object_set_new(record, "worker", s_string(job->worker));
    json_object_set_new(record, "created_at", s_time(job->created_at));
    json_object_set_new(record, "started_at", s_time(job->started_at));
    json_object_set_new(record, "finished_at", s_time(job->finished_at));
    json_object_set_new(record, "result", zj_cli_embed(job->result));
    json_object_set_new(record, "error", s_string(job->error));
    if (job->parent > 0)
        json_object_set_new(record, "parent", json_integer(job->parent));
    if (job->retry_of > 0)
        json_object_set_new(record, "retry_of", json_integer(job->retry_of));
    if (job->progress_at > 0)
        json_object_set_new(record, "progress",
                            json_pack("{s:I,s:I,s:o,s:o}", "done",
                                      (json_int_t) job->progress_done, "total",
                                      (json_int_t) job->progress_total, "text",
                                      s_string(job->progress_text), "at",
                                      s_time(job->progress_at)));
    if (job->after_count > 0) {
        json_t *after = json_array();
        for (size_t index = 0; index < job->after_count; index++)
            json_array_append_new(after, json_integer(job->after[index]));
        json_object_set_new(record, "after", after);
    }
    if (job->held)
        json_object_set_new(record, "held", json_string(job->held));
    return record;
}

json_t *
zj_cli_worker_json(const zjob_worker_t *worker)
{
    json_t *kinds = json_object();
    for (size_t index = 0; index < worker->kind_count; index++)
        json_object_set_new(kinds, worker->kinds[index].name,
                            json_string(worker->kinds[index].klass));
    json_t *record = json_object();
    json_object_set_new(record, "name", s_string(worker->name));
    json_object_set_new(record, "host", s_string(worker->host));
    json_object_set_new(record, "pid", json_integer(worker->pid));
    json_object_set_new(record, "state", s_string(worker->state));
    json_object_set_new(record, "running", json_integer(worker->running));
    json_object_set_new(record, "io_slots", json_integer(worker->io_slots));
    json_object_set_new(record, "cpu_slots", json_integer(worker->cpu_slots));
    if (worker->state && strcmp(worker->state, "connected") == 0) {
        json_object_set_new(record, "suspended",
                            json_integer(worker->suspended));
        json_object_set_new(record, "max_suspended",
                            json_integer(worker->max_suspended));
    }
    json_object_set_new(record, "kinds", kinds);
    json_object_set_new(record, "connected_at", s_time(worker->connected_at));
    json_object_set_new(record, "last_seen", s_time(worker->last_seen));
    return record;
}

//  The fewest significant digits (15 to 17) that print every real in
//  value back to the same double, so 0.1 prints as 0.1 and not as
//  0.10000000000000001, while no real loses precision.
static int
s_precision(const json_t *value)
{
    int digits = 15;
    if (json_is_real(value)) {
        double real = json_real_value(value);
        char text[40];
        for (; digits < 17; digits++) {
            snprintf(text, sizeof text, "%.*g", digits, real);
            if (strtod(text, NULL) == real)
                break;
        }
    } else if (json_is_object(value)) {
        const char *key;
        json_t *member;
        json_object_foreach((json_t *) value, key, member) {
            int needed = s_precision(member);
            digits = needed > digits ? needed : digits;
        }
    } else if (json_is_array(value)) {
        size_t index;
        json_t *member;
        json_array_foreach(value, index, member) {
            int needed = s_precision(member);
            digits = needed > digits ? needed : digits;
        }
    }
    return digits;
}

char *
zj_cli_dump_json(json_t *value)
{
    size_t flags = JSON_ENCODE_ANY | JSON_REAL_PRECISION(s_precision(value));
    char *text = json_dumps(value, flags);
    json_decref(value);
    return text;
}

int
zj_cli_print_json(json_t *value)
{
    char *text = zj_cli_dump_json(value);
    int rc = text && puts(text) != EOF && fflush(stdout) == 0 ? 0 : -1;
    free(text);
    return rc;
}

void
zj_cli_format_time(double unix_seconds, char *out, size_t size)
{
    if (unix_seconds <= 0) {
        snprintf(out, size, "-");
        return;
    }
    time_t seconds = (time_t) unix_seconds;
    struct tm local;
    localtime_r(&seconds, &local);
    strftime(out, size, "%Y-%m-%d %H:%M:%S", &local);
}

void
zj_cli_format_span(int64_t ms, char *out, size_t size)
{
    if (ms < 1000)
        snprintf(out, size, "%lldms", (long long) ms);
    else if (ms < 60000)
        snprintf(out, size, "%.1fs", (double) ms / 1000.0);
    else if (ms < 3600000)
        snprintf(out, size, "%lldm%02llds", (long long) (ms / 60000),
                 (long long) (ms / 1000 % 60));
    else
        snprintf(out, size, "%lldh%02lldm", (long long) (ms / 3600000),
                 (long long) (ms / 60000 % 60));
}

//  --- Tables

struct zj_table {
    size_t columns; //  Cells per row
    char **cells;   //  Row-major, headers first (owned strings)
    size_t rows;    //  Rows in cells, headers included
    size_t *widths; //  Widest cell per column
};

zj_table_t *
zj_table_new(const char *const *headers, size_t columns)
{
    zj_table_t *self = zj_cli_checked(calloc(1, sizeof *self));
    self->widths = zj_cli_checked(calloc(columns, sizeof(size_t)));
    self->columns = columns;
    zj_table_add(self, headers);
    return self;
}

void
zj_table_destroy(zj_table_t **self_p)
{
    zj_table_t *self = *self_p;
    if (self == NULL)
        return;
    for (size_t index = 0; index < self->rows * self->columns; index++)
        free(self->cells[index]);
    free(self->cells);
    free(self->widths);
    free(self);
    *self_p = NULL;
}

void
zj_table_add(zj_table_t *self, const char *const *cells)
{
    size_t first = self->rows * self->columns;
    self->cells = zj_cli_checked(
        realloc(self->cells, (first + self->columns) * sizeof(char *)));
    for (size_t column = 0; column < self->columns; column++) {
        char *copy = strdup(cells[column] ? cells[column] : "-");
        //  Keep one cell on one line.
        for (char *cursor = copy; cursor && *cursor; cursor++)
            if (*cursor == '\n' || *cursor == '\t' || *cursor == '\r')
                *cursor = ' ';
        self->cells[first + column] = copy;
        size_t width = copy ? strlen(copy) : 0;
        if (width > self->widths[column])
            self->widths[column] = width;
    }
    self->rows++;
}

void
zj_table_print(const zj_table_t *self, FILE *file)
{
    for (size_t row = 0; row < self->rows; row++) {
        for (size_t column = 0; column < self->columns; column++) {
            const char *cell = self->cells[row * self->columns + column];
            bool last = column + 1 == self->columns;
            fprintf(file, "%-*s%s", last ? 0 : (int) self->widths[column],
                    cell ? cell : "", last ? "\n" : "  ");
        }
    }
    fflush(file);
}

//  --- Progress bar

#define S_PROGRESS_DELAY_MS 500  //  Quick waits never show a bar
#define S_PROGRESS_PERIOD_MS 100 //  Redraw at most this often

struct zj_progress {
    size_t total;     //  Jobs to wait for
    size_t done;      //  Jobs finished so far
    bool enabled;     //  stderr is a terminal and we may draw
    bool drawn;       //  A bar is on the terminal now
    int64_t start_ms; //  When the wait began (monotonic)
    int64_t drawn_ms; //  When the bar was last drawn
};

zj_progress_t *
zj_progress_new(size_t total, bool enabled)
{
    zj_progress_t *self = zj_cli_checked(calloc(1, sizeof *self));
    self->total = total;
    self->enabled = enabled;
    self->start_ms = zj_mono_ms();
    return self;
}

void
zj_progress_destroy(zj_progress_t **self_p)
{
    zj_progress_t *self = *self_p;
    if (self == NULL)
        return;
    zj_progress_clear(self);
    free(self);
    *self_p = NULL;
}

static int
s_terminal_columns(void)
{
    struct winsize size;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col >= 40)
        return size.ws_col;
    return 80;
}

void
zj_progress_update(zj_progress_t *self, size_t done)
{
    self->done = done;
    int64_t now = zj_mono_ms();
    if (!self->enabled || now - self->start_ms < S_PROGRESS_DELAY_MS ||
        (self->drawn && now - self->drawn_ms < S_PROGRESS_PERIOD_MS))
        return;
    double seconds = (double) (now - self->start_ms) / 1000.0;
    char elapsed[32], tail[96];
    zj_cli_format_span(now - self->start_ms, elapsed, sizeof elapsed);
    snprintf(tail, sizeof tail, " %zu/%zu  %.0f jobs/s  %s", done, self->total,
             (double) done / seconds, elapsed);
    int width = s_terminal_columns() - (int) strlen(tail) - 3;
    if (width > 50)
        width = 50;
    int filled =
        self->total
            ? (int) ((double) width * (double) done / (double) self->total)
            : 0;
    fputs("\r\033[K[", stderr);
    for (int column = 0; column < width; column++)
        fputc(column < filled ? '#' : '.', stderr);
    fprintf(stderr, "]%s", tail);
    fflush(stderr);
    self->drawn = true;
    self->drawn_ms = now;
}

void
zj_progress_clear(zj_progress_t *self)
{
    if (!self->drawn)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    self->drawn = false;
}
