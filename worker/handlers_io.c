//  handlers_io.c - the built-in I/O kinds: echo, sleep and exec. They run
//  as coroutines and await through include/zjob/handler.h.
#include <assert.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "worker/handlers.h"

#define ZJ_SLEEP_MAX_SECONDS 86400.0 //  One day
#define ZJ_EXEC_MAX_ARGV 1024        //  Arguments of one exec job
#define ZJ_EXEC_ERROR_STDERR 200     //  Bytes of stderr quoted in an error

int
zj_handler_echo(zjob_ctx_t *ctx, const char *args, char **result_p,
                char **error_p)
{
    (void) ctx;
    (void) error_p;
    *result_p = strdup(args);
    return 0;
}

static int
s_await_failed(char **error_p, const char *what, int code)
{
    *error_p = strdup(code == ZJ_ECANCELLED ? "cancelled" : what);
    return 1;
}

int
zj_handler_sleep(zjob_ctx_t *ctx, const char *args, char **result_p,
                 char **error_p)
{
    json_t *root = json_loads(args, JSON_DECODE_ANY, NULL);
    json_t *seconds = json_object_get(root, "seconds");
    double value = json_is_number(seconds) ? json_number_value(seconds) : -1;
    json_decref(root);
    if (!(value >= 0 && value <= ZJ_SLEEP_MAX_SECONDS))
        return zj_handler_bad_args(
            error_p, "sleep takes {\"seconds\": S} with 0 <= S <= %.0f",
            ZJ_SLEEP_MAX_SECONDS);
    int rc = zjob_sleep(ctx, (int64_t) llround(value * 1000));
    if (rc != 0)
        return s_await_failed(error_p, "sleep failed", rc);
    json_t *result = json_pack("{s:f}", "slept", value);
    *result_p = json_dumps(result, JSON_COMPACT);
    json_decref(result);
    return 0;
}

//  Reads argv from {"argv": ["prog", ...]} into a NULL-terminated array
//  of borrowed strings. Returns NULL and sets *error_p on bad args.
static char **
s_exec_argv(json_t *root, char **error_p)
{
    json_t *list = json_object_get(root, "argv");
    size_t count = json_array_size(list);
    if (!json_is_array(list) || count == 0 || count > ZJ_EXEC_MAX_ARGV) {
        zj_handler_bad_args(error_p, "exec takes {\"argv\": [\"program\", "
                                     "...], \"stdin\": \"...\", "
                                     "\"check\": true}");
        return NULL;
    }
    char **argv = calloc(count + 1, sizeof *argv);
    for (size_t index = 0; index < count; index++) {
        json_t *item = json_array_get(list, index);
        if (!json_is_string(item)) {
            zj_handler_bad_args(error_p, "argv[%zu] is not a string", index);
            free(argv);
            return NULL;
        }
        argv[index] = (char *) json_string_value(item);
    }
    return argv;
}

//  A JSON string of output bytes; output that is not UTF-8 keeps its
//  ASCII and shows every other byte as '?'.
static json_t *
s_output(const char *bytes, size_t size)
{
    json_t *text = json_stringn(bytes ? bytes : "", bytes ? size : 0);
    if (text)
        return text;
    char *ascii = malloc(size + 1);
    for (size_t index = 0; index < size; index++)
        ascii[index] = (unsigned char) bytes[index] < 0x80 && bytes[index]
                           ? bytes[index]
                           : '?';
    text = json_stringn(ascii, size);
    free(ascii);
    return text;
}

static char *
s_exec_result(const zjob_process_t *process)
{
    json_t *result = json_object();
    json_object_set_new(result, "exit", json_integer(process->exit_status));
    if (process->term_signal)
        json_object_set_new(result, "signal",
                            json_integer(process->term_signal));
    json_object_set_new(result, "stdout",
                        s_output(process->out, process->out_size));
    json_object_set_new(result, "stderr",
                        s_output(process->err, process->err_size));
    char *text = json_dumps(result, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(result);
    return text;
}

//  The name of a signal a command commonly dies of, or "".
static const char *
s_signal_name(int signal)
{
    static const struct {
        int number;
        const char *name;
    } names[] = {
        {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"},
        {SIGILL, "SIGILL"},   {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},
        {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"},
        {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
        {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
        {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"}, {SIGSYS, "SIGSYS"}};
    for (size_t index = 0; index < sizeof names / sizeof names[0]; index++)
        if (names[index].number == signal)
            return names[index].name;
    return "";
}

//  The last non-blank line of stderr, cut, as printable ASCII (the rest
//  of it stays in the result), into line[size].
static void
s_stderr_tail(const zjob_process_t *process, char *line, size_t size)
{
    size_t end = process->err ? process->err_size : 0;
    while (end > 0 && strchr(" \t\r\n", process->err[end - 1]))
        end--;
    size_t start = end;
    while (start > 0 && process->err[start - 1] != '\n')
        start--;
    if (end - start > ZJ_EXEC_ERROR_STDERR)
        end = start + ZJ_EXEC_ERROR_STDERR;
    size_t length = 0;
    for (size_t index = start; index < end && length + 1 < size; index++) {
        unsigned char byte = (unsigned char) process->err[index];
        line[length++] = byte >= 0x20 && byte < 0x7f ? (char) byte : '?';
    }
    line[length] = '\0';
}

//  Why a command that exited non-zero or died by a signal failed:
//  "exec: exit status 3: <stderr's last line>", or "exec: killed by
//  signal 9 (SIGKILL): ...". Malloc'd.
static char *
s_exec_error(const zjob_process_t *process)
{
    char how[64];
    if (process->term_signal)
        snprintf(how, sizeof how, "killed by signal %d (%s)",
                 process->term_signal, s_signal_name(process->term_signal));
    else
        snprintf(how, sizeof how, "exit status %d", process->exit_status);
    char tail[ZJ_EXEC_ERROR_STDERR + 1];
    s_stderr_tail(process, tail, sizeof tail);
    char *error = malloc(sizeof how + sizeof tail + 16);
    assert(error);
    sprintf(error, "exec: %s%s%s", how, *tail ? ": " : "", tail);
    return error;
}

int
zj_handler_exec(zjob_ctx_t *ctx, const char *args, char **result_p,
                char **error_p)
{
    json_t *root = json_loads(args, JSON_DECODE_ANY, NULL);
    char **argv = s_exec_argv(root, error_p);
    if (argv == NULL) {
        json_decref(root);
        return 1;
    }
    json_t *input = json_object_get(root, "stdin");
    bool check = true;
    int bad = input && !json_is_string(input)
                  ? zj_handler_bad_args(error_p, "'stdin' must be a string")
                  : zj_handler_read_check(root, &check, error_p);
    if (bad) {
        free(argv);
        json_decref(root);
        return bad;
    }
    zjob_process_t process = {0};
    int rc = zjob_spawn(ctx, argv, input ? json_string_value(input) : NULL,
                        input ? json_string_length(input) : 0, 0, &process);
    free(argv);
    json_decref(root);
    if (rc != 0) {
        free(process.out);
        free(process.err);
        return s_await_failed(error_p, "exec: cannot run the program", rc);
    }
    //  What the program wrote goes to the job's log as well.
    if (process.out_size > 0)
        zjob_log(ctx, "%s", process.out);
    if (process.err_size > 0)
        zjob_log(ctx, "%s", process.err);
    *result_p = s_exec_result(&process);
    bool failed =
        check && (process.exit_status != 0 || process.term_signal != 0);
    if (failed)
        *error_p = s_exec_error(&process);
    free(process.out);
    free(process.err);
    return failed ? ZJOB_FAILED : 0;
}
