//  cli.h - what the zjob CLI's files share: the run's context, the exit
//  codes, option parsing, error reporting and output helpers. main.c picks
//  the command; cli_<group>.c runs it on top of libzjob (zjob/zjob.h);
//  cli_output.c, cli_args.c and cli_batch.c hold the helpers declared here.
#ifndef ZJ_CLI_H
#define ZJ_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "zjob/zjob.h"

//  Exit codes (docs/cli.md). Commands return one of these.
typedef enum {
    ZJ_EXIT_OK = 0,      //  Success
    ZJ_EXIT_FAILED = 1,  //  A job failed or was cancelled, or a request did
    ZJ_EXIT_USAGE = 2,   //  Bad command line or bad input
    ZJ_EXIT_UNREACH = 3, //  Coordinator unreachable
    ZJ_EXIT_TIMEOUT = 4  //  wait/gather --timeout expired
} zj_exit_t;

//  One run of the CLI. Everything the commands share hangs off it.
typedef struct {
    const char *command;  //  Command name, for messages ("submit")
    const char *usage;    //  The command's --help text
    const char *endpoint; //  --coordinator, ZJOB_COORDINATOR or default
    const char *key_path; //  --key or ZJOB_KEY: CURVE on, or NULL
    const char *coordinator_key_path; //  --coordinator-key or
                                      //  ZJOB_COORDINATOR_KEY
    bool json;                        //  --json: JSON output everywhere
    bool out_tty;                     //  stdout is a terminal
    bool err_tty;                     //  stderr is a terminal
    int exit;              //  Exit code when zj_cli_getopt returns EXIT
    zjob_client_t *client; //  Made on first use by zj_cli_client
} zj_cli_t;

//  A command: parses its own argv (argv[0] is the command name) and
//  returns a zj_exit_t.
typedef int(zj_cli_fn)(zj_cli_t *cli, int argc, char **argv);

int zj_cli_submit(zj_cli_t *cli, int argc, char **argv);
int zj_cli_wait(zj_cli_t *cli, int argc, char **argv);
int zj_cli_gather(zj_cli_t *cli, int argc, char **argv);
int zj_cli_status(zj_cli_t *cli, int argc, char **argv);
int zj_cli_tree(zj_cli_t *cli, int argc, char **argv);
int zj_cli_watch(zj_cli_t *cli, int argc, char **argv);
int zj_cli_logs(zj_cli_t *cli, int argc, char **argv);
int zj_cli_jobs(zj_cli_t *cli, int argc, char **argv);
int zj_cli_workers(zj_cli_t *cli, int argc, char **argv);
int zj_cli_drain(zj_cli_t *cli, int argc, char **argv);
int zj_cli_purge(zj_cli_t *cli, int argc, char **argv);
int zj_cli_limit(zj_cli_t *cli, int argc, char **argv);
int zj_cli_limits(zj_cli_t *cli, int argc, char **argv);
int zj_cli_cancel(zj_cli_t *cli, int argc, char **argv);
int zj_cli_keygen(zj_cli_t *cli, int argc, char **argv);
int zj_cli_schedule(zj_cli_t *cli, int argc, char **argv);
int zj_cli_retry(zj_cli_t *cli, int argc, char **argv);
int zj_cli_stats(zj_cli_t *cli, int argc, char **argv);

//  --- Arguments (cli_args.c)

//  Option values zj_cli_getopt handles itself; commands use other values.
enum {
    ZJ_OPT_DONE = -1,          //  No more options
    ZJ_OPT_EXIT = -2,          //  Stop: return cli->exit (help or error)
    ZJ_OPT_COORDINATOR = 1000, //  --coordinator EP
    ZJ_OPT_JSON,               //  --json
    ZJ_OPT_KEY,                //  --key FILE
    ZJ_OPT_COORDINATOR_KEY,    //  --coordinator-key FILE
    ZJ_OPT_VERSION             //  --version
};

//  The options every command takes; end a command's table with it.
#define ZJ_CLI_COMMON_OPTIONS                                                  \
    {"coordinator", required_argument, NULL, ZJ_OPT_COORDINATOR},              \
        {"json", no_argument, NULL, ZJ_OPT_JSON},                              \
        {"key", required_argument, NULL, ZJ_OPT_KEY},                          \
        {"coordinator-key", required_argument, NULL, ZJ_OPT_COORDINATOR_KEY},  \
        {"help", no_argument, NULL, 'h'},                                      \
        {"version", no_argument, NULL, ZJ_OPT_VERSION},                        \
    {                                                                          \
        NULL, 0, NULL, 0                                                       \
    }

//  The --help lines of the options every command takes: --coordinator,
//  and (ZJ_CLI_HELP_HELP) -h / --help. --json is worded per command.
#define ZJ_CLI_HELP_COORDINATOR                                                \
    "  --coordinator EP   coordinator endpoint (default: $ZJOB_COORDINATOR,\n" \
    "                     else " ZJOB_DEFAULT_ENDPOINT ")\n"                   \
    "  --key FILE         our secret key, NAME.key_secret (default "           \
    "$ZJOB_KEY)\n"                                                             \
    "  --coordinator-key FILE  the coordinator's public key, NAME.key\n"       \
    "                     (default $ZJOB_COORDINATOR_KEY): both turn CURVE "   \
    "on\n"
#define ZJ_CLI_HELP_HELP "  -h, --help         show this help\n"

//  getopt_long over a command's argv (reset on the first call: set
//  optind = 0 before the loop). Handles --coordinator, --json and -h /
//  --help; returns the command's own option values, ZJ_OPT_DONE at the
//  end, or ZJ_OPT_EXIT after printing help (exit 0) or a usage error
//  (exit 2). Positional arguments are left in argv[optind..argc).
int zj_cli_getopt(zj_cli_t *cli, int argc, char **argv,
                  const struct option *options);

//  zj_cli_getopt for a command that takes only the common options: sets
//  cli->usage to usage and reads every option. Returns ZJ_OPT_DONE with
//  the positional arguments in argv[optind..argc), or ZJ_OPT_EXIT (return
//  cli->exit).
int zj_cli_getopt_common(zj_cli_t *cli, int argc, char **argv,
                         const char *usage);

//  Prints "zjob CMD: <message> (see 'zjob CMD --help')" to stderr and
//  returns ZJ_EXIT_USAGE.
int zj_cli_usage_error(zj_cli_t *cli, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

//  Parses a job id (a positive integer) into *id. Returns 0 or -1.
int zj_cli_parse_id(const char *text, int64_t *id);

//  Parses an int32 in [min, max] into *value. Returns 0 or -1.
int zj_cli_parse_int(const char *text, int32_t min, int32_t max,
                     int32_t *value);

//  Parses ids from argv[0..argc) or, for a single "-", from stdin (one
//  or more ids per line, or JSON objects with an "id"). On success
//  returns 0 and sets *ids_p (caller frees) and *count_p, which is 0
//  only for a "-" whose stdin held no id (an empty batch piped in); else
//  prints a usage error and returns ZJ_EXIT_USAGE.
int zj_cli_read_ids(zj_cli_t *cli, int argc, char **argv, int64_t **ids_p,
                    size_t *count_p);

//  The client, connected on first use. On failure prints why and
//  returns NULL (the command then exits ZJ_EXIT_USAGE).
zjob_client_t *zj_cli_client(zj_cli_t *cli);

//  Returns pointer; when it is NULL (an allocation failed) prints "zjob:
//  out of memory" and exits ZJ_EXIT_FAILED, as the CLI does not go on
//  without memory.
void *zj_cli_checked(void *pointer);

//  Prints what a failed libzjob call means and returns the exit code:
//  ZJ_EXIT_UNREACH, ZJ_EXIT_TIMEOUT, ZJ_EXIT_USAGE for a request the
//  coordinator refused as wrong, else ZJ_EXIT_FAILED.
int zj_cli_fail(zj_cli_t *cli, int code);

//  --- Batch lines (cli_batch.c)

//  Most retries a flag or a batch line may ask for: far above any sane
//  use, far below INT32_MAX.
#define ZJ_CLI_MAX_RETRIES 1000000

//  Checks args JSON text against the protocol's limits (ZJ_MAX_ARGS
//  bytes, valid JSON within ZJ_MAX_DEPTH). Returns 0, or -1 with a reason
//  in why[ZJ_WHY_SIZE].
int zj_cli_check_args(const char *args, char *why);

//  Parses one --batch line (a JSON object; a trailing newline is fine)
//  into *spec, starting from *defaults (their kind and args are ignored).
//  On success returns 0; kind and args in *spec are then new strings the
//  caller frees (args NULL when the line has none), and so is after when
//  the line has one (else it is defaults->after). On failure returns -1
//  with why[ZJ_WHY_SIZE] saying what is wrong, and *spec owns nothing
//  (kind and args NULL, after defaults->after). Borrows line and
//  defaults; no I/O.
int zj_cli_batch_line(const char *line, const zjob_spec_t *defaults,
                      zjob_spec_t *spec, char *why);

//  --- Output (cli_output.c)

//  A result line: {"id", "state", "result"} or with "error". New ref.
json_t *zj_cli_result_json(const zjob_result_t *result);

//  A job's full record as a JSON object. New ref.
json_t *zj_cli_job_json(const zjob_job_t *job);

//  A worker as a JSON object. New ref.
json_t *zj_cli_worker_json(const zjob_worker_t *worker);

//  Dumps value as one line of JSON text (caller frees), printing every
//  real with the fewest digits that keep it exact; steals the reference.
//  Returns NULL on out of memory.
char *zj_cli_dump_json(json_t *value);

//  Prints value as one line on stdout and flushes; steals the reference.
//  Returns 0, or -1 if stdout failed.
int zj_cli_print_json(json_t *value);

//  Parses JSON text (any value) for embedding; on invalid text returns it
//  as a JSON string. NULL text gives JSON null. New ref.
json_t *zj_cli_embed(const char *text);

//  Human forms: a unix time as local "YYYY-MM-DD HH:MM:SS" ("-" for 0),
//  and a span of milliseconds ("350ms", "2.5s", "3m07s", "1h02m").
void zj_cli_format_time(double unix_seconds, char *out, size_t size);
void zj_cli_format_span(int64_t ms, char *out, size_t size);

//  A text table printed with aligned columns.
typedef struct zj_table zj_table_t;

//  New table with columns headers[0..columns). Never NULL.
zj_table_t *zj_table_new(const char *const *headers, size_t columns);
void zj_table_destroy(zj_table_t **self_p);

//  Adds a row of columns cells (copied; NULL prints "-").
void zj_table_add(zj_table_t *self, const char *const *cells);

//  Prints headers and rows to file.
void zj_table_print(const zj_table_t *self, FILE *file);

//  A progress bar on stderr for long waits: "[#####.....] done/total
//  rate/s". Draws only when enabled and after a short while; clear before
//  writing anything else to the terminal.
typedef struct zj_progress zj_progress_t;

zj_progress_t *zj_progress_new(size_t total, bool enabled);
void zj_progress_destroy(zj_progress_t **self_p);

//  Sets how many are done and redraws (at most ~10 times a second).
void zj_progress_update(zj_progress_t *self, size_t done);

//  Erases the bar from the terminal, if drawn.
void zj_progress_clear(zj_progress_t *self);

#endif
