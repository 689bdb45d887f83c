//  fuzz_batch.c - libFuzzer target for `zjob submit --batch FILE`, run by
//  `make fuzz`; the input is the file. The line parser is static in
//  client/cli_submit.c, so this drives zj_cli_submit with a client whose
//  coordinator is never there. Every input must be refused as a usage error
//  before anything is sent (exit 2), or reach libzjob's submit and fail
//  there only because nobody answers (exit 3): what the CLI accepts,
//  libzjob's checks and the encoder must accept too. Seeds: seeds/batch/.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "client/cli.h"

#define S_NOBODY "tcp://127.0.0.1:1" //  A port nothing listens on
#define S_CANARY "batch 0"           //  Reason left by set_batch(0)
#define S_UNREACHED "cannot reach"   //  Reason of a send nobody took
#define S_INTERRUPTED "interrupted"  //  Reason of a send a signal broke

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int s_file = -1;         //  The batch file, in memory
static char s_path[64];         //  Its name, /proc/self/fd/N
static zjob_client_t *s_client; //  Shared by every run, never connected

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    s_file = memfd_create("zjob-batch", 0);
    s_client = zjob_client_new(S_NOBODY, NULL);
    //  The shortest send timeout: an accepted batch fails in 1 ms.
    if (s_file < 0 || s_client == NULL ||
        zjob_client_set_timeouts(s_client, 1, 1) != 0)
        abort();
    snprintf(s_path, sizeof s_path, "/proc/self/fd/%d", s_file);
    return 0;
}

//  Runs `zjob submit --batch` on the file; returns its exit code.
static int
s_submit(void)
{
    if (zjob_client_set_batch(s_client, 0) != ZJOB_EUSAGE)
        abort();
    zj_cli_t cli = {
        .command = "submit", .endpoint = S_NOBODY, .client = s_client};
    char *argv[] = {"submit", "--batch", s_path, NULL};
    return zj_cli_submit(&cli, 3, argv);
}

//  Whether libzjob's last reason starts with start.
static bool
s_reason_is(const char *start)
{
    return strncmp(zjob_client_last_error(s_client), start, strlen(start)) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ftruncate(s_file, 0) != 0 ||
        pwrite(s_file, data, size, 0) != (ssize_t) size)
        abort();
    //  libFuzzer's timeout alarm may interrupt the send (ECANCELLED): then
    //  the run says nothing, so run again.
    int code = s_submit();
    for (int again = 0; again < 3 && s_reason_is(S_INTERRUPTED); again++)
        code = s_submit();
    //  zjob_client_submit clears the reason set_batch(0) left: if it is
    //  still there, the CLI refused the batch itself.
    if (s_reason_is(S_CANARY)) {
        if (code != ZJ_EXIT_USAGE)
            abort();
    } else if (!(code == ZJ_EXIT_OK &&
                 *zjob_client_last_error(s_client) == 0) &&
               !(code == ZJ_EXIT_UNREACH && s_reason_is(S_UNREACHED)))
        abort();
    return 0;
}
