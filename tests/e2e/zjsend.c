//  zjsend.c - sends raw frames to a zjob endpoint and prints the replies,
//  for tests of hostile input. The frames are built by hand, byte by byte,
//  so they can break every rule of proto/PROTOCOL.md; only `msg` and
//  `truncated` start from a valid frame written by zj_msg_encode.
#include <czmq.h>

#include "common/err.h"
#include "proto/codec.h"

// clang-format off
static const char s_usage[] =
    "usage: zjsend [-n COUNT] [-t MS] [-H NAME] ENDPOINT WHAT [ARG]\n"
    "Sends WHAT (COUNT times, default 1) from one DEALER and prints one line\n"
    "per reply, up to COUNT: \"ERROR <code> <reason>\", the reply's type, or\n"
    "\"undecodable <why>\"; \"none\" if nothing came within MS (default 3000)\n"
    "of the last send or reply. -H NAME says HELLO as worker NAME first (its\n"
    "reply is printed too). WHAT is one of:\n"
    "  garbage          9 bytes that are not msgpack\n"
    "  empty            a zero-length frame\n"
    "  twoframes        a message of two frames, \"one\" and \"two\"\n"
    "  multi            a valid SUBMIT frame, then a second frame\n"
    "  envelope         an empty delimiter frame, then a valid SUBMIT\n"
    "  hex HEX          the bytes HEX\n"
    "  file PATH        the bytes of the file PATH\n"
    "  huge BYTES       {v: 1, t: SUBMIT, x: <BYTES of bin>}\n"
    "  deeparray N      a SUBMIT whose jobs are arrays nested N deep\n"
    "  deepmap N        a SUBMIT whose jobs are maps nested N deep\n"
    "  deepargs N       a SUBMIT of one echo job, args JSON nested N deep\n"
    "  version V        {v: V, t: SUBMIT, req: 1}\n"
    "  type NAME        {v: 1, t: NAME, req: 1}\n"
    "  msg TYPE         a valid TYPE: SUBMIT STATUS HELLO RESULTS HEARTBEAT\n"
    "                   BYE (SUBMIT: one echo job; HELLO: worker zjsend)\n"
    "  truncated TYPE   the first half of msg TYPE\n"
    "  result ID        RESULTS {req: 1} of job ID, attempt 1, succeeded\n"
    "                   with the result {\"forged\": true}\n";
// clang-format on

//  --- msgpack, written by hand into a chunk

static void
s_put(zchunk_t *out, const void *data, size_t size)
{
    zchunk_extend(out, data, size);
}

static void
s_byte(zchunk_t *out, uint8_t byte)
{
    s_put(out, &byte, 1);
}

//  A msgpack length field of width 2 or 4 bytes, big-endian.
static void
s_length(zchunk_t *out, uint8_t type, size_t length, size_t width)
{
    s_byte(out, type);
    for (size_t shift = width * 8; shift > 0; shift -= 8)
        s_byte(out, (uint8_t) (length >> (shift - 8)));
}

static void
s_str(zchunk_t *out, const char *text, size_t size)
{
    if (size < 32)
        s_byte(out, (uint8_t) (0xa0 | size));
    else if (size < 65536)
        s_length(out, 0xda, size, 2);
    else
        s_length(out, 0xdb, size, 4);
    s_put(out, text, size);
}

static void
s_text(zchunk_t *out, const char *text)
{
    s_str(out, text, strlen(text));
}

static void
s_uint(zchunk_t *out, uint32_t value)
{
    if (value < 128)
        s_byte(out, (uint8_t) value);
    else
        s_length(out, 0xce, value, 4);
}

//  The head of a frame: a map of fields entries, "v" and "t" first.
static void
s_head(zchunk_t *out, size_t fields, uint32_t version, const char *type)
{
    s_byte(out, (uint8_t) (0x80 | fields));
    s_text(out, "v");
    s_uint(out, version);
    s_text(out, "t");
    s_text(out, type);
}

//  --- the frames

//  Encodes *msg_p (destroyed) into a chunk, or NULL.
static zchunk_t *
s_encoded(zj_msg_t **msg_p)
{
    char *data = NULL;
    size_t size = 0;
    char why[ZJ_WHY_SIZE] = "";
    zchunk_t *chunk = NULL;
    if (zj_msg_encode(*msg_p, &data, &size, why) == 0)
        chunk = zchunk_new(data, size);
    else
        fprintf(stderr, "zjsend: cannot encode: %s\n", why);
    free(data);
    zj_msg_destroy(msg_p);
    return chunk;
}

//  A HELLO of worker name, one io slot, offering echo.
static zchunk_t *
s_hello(const char *name)
{
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_HELLO);
    zj_worker_info_t *worker = zj_msg_add_worker(msg);
    worker->name = strdup(name);
    worker->host = strdup("zjsend");
    worker->pid = getpid();
    worker->io_slots = 1;
    return s_encoded(&msg);
}

//  A RESULTS that says job id, attempt 1, succeeded with a forged result.
static zchunk_t *
s_result(int64_t id)
{
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_RESULTS);
    msg->req = 1;
    zj_job_t *job = zj_msg_add_job(msg);
    job->id = id;
    job->attempts = 1;
    job->state = ZJ_STATE_SUCCEEDED;
    job->result = strdup("{\"forged\": true}");
    job->started_at = 1;
    job->finished_at = 1;
    return s_encoded(&msg);
}

//  A valid message of type name, written by the codec; NULL if the name
//  is not one zjsend knows how to fill.
static zchunk_t *
s_valid(const char *name)
{
    zj_msg_type_t type = zj_msg_type_from_name(name);
    if (type == ZJ_MSG_NONE)
        return NULL;
    zj_msg_t *msg = zj_msg_new(type);
    if (type == ZJ_MSG_SUBMIT) {
        msg->req = 1;
        zj_job_t *job = zj_msg_add_job(msg);
        job->kind = strdup("echo");
        job->args = strdup("{\"from\": \"zjsend\"}");
    } else if (type == ZJ_MSG_STATUS) {
        msg->req = 1;
        zj_msg_add_id(msg, 1);
    } else if (type == ZJ_MSG_HELLO) {
        zj_worker_info_t *worker = zj_msg_add_worker(msg);
        worker->name = strdup("zjsend");
        worker->io_slots = 1;
    }
    return s_encoded(&msg);
}

//  A SUBMIT whose "jobs" holds depth containers, one in the other.
static void
s_deep(zchunk_t *out, size_t depth, bool maps)
{
    s_head(out, 4, 1, "SUBMIT");
    s_text(out, "req");
    s_uint(out, 1);
    s_text(out, "jobs");
    for (size_t level = 0; level < depth; level++) {
        s_byte(out, maps ? 0x81 : 0x91);
        if (maps)
            s_text(out, "a");
    }
    s_byte(out, 0xc0);
}

static void
s_deep_args(zchunk_t *out, size_t depth)
{
    char *args = malloc(2 * depth + 1);
    memset(args, '[', depth);
    memset(args + depth, ']', depth);
    s_head(out, 4, 1, "SUBMIT");
    s_text(out, "req");
    s_uint(out, 1);
    s_text(out, "jobs");
    s_byte(out, 0x91);
    s_byte(out, 0x82);
    s_text(out, "kind");
    s_text(out, "echo");
    s_text(out, "args");
    s_str(out, args, 2 * depth);
    free(args);
}

static void
s_huge(zchunk_t *out, size_t size)
{
    s_head(out, 3, 1, "SUBMIT");
    s_text(out, "x");
    s_length(out, 0xc6, size, 4);
    char *zeros = calloc(1, size ? size : 1);
    s_put(out, zeros, size);
    free(zeros);
}

//  The bytes of a file, or NULL.
static zchunk_t *
s_file(const char *path)
{
    zfile_t *file = zfile_new(NULL, path);
    zchunk_t *chunk = NULL;
    if (file && zfile_input(file) == 0) {
        chunk = zfile_read(file, zfile_cursize(file), 0);
        if (chunk == NULL)
            chunk = zchunk_new(NULL, 0);
    }
    zfile_destroy(&file);
    return chunk;
}

static zchunk_t *
s_hex(const char *text)
{
    size_t size = strlen(text) / 2;
    zchunk_t *chunk = zchunk_new(NULL, size);
    for (size_t index = 0; index < size; index++) {
        unsigned int byte;
        if (sscanf(text + 2 * index, "%2x", &byte) != 1) {
            zchunk_destroy(&chunk);
            return NULL;
        }
        s_byte(chunk, (uint8_t) byte);
    }
    return chunk;
}

//  One frame of what (with arg), or NULL if what is unknown or bad.
static zchunk_t *
s_frame(const char *what, const char *arg)
{
    static const unsigned char garbage[] = {0xc1, 0xff, 0x00, 0x13, 0x37,
                                            0x92, 0xa1, 0x74, 0x01};
    if (streq(what, "garbage"))
        return zchunk_new(garbage, sizeof garbage);
    if (streq(what, "empty"))
        return zchunk_new(NULL, 0);
    if (arg == NULL)
        return NULL;
    if (streq(what, "hex"))
        return s_hex(arg);
    if (streq(what, "file"))
        return s_file(arg);
    if (streq(what, "msg"))
        return s_valid(arg);
    if (streq(what, "result") && atol(arg) > 0)
        return s_result(atol(arg));
    if (streq(what, "truncated")) {
        zchunk_t *whole = s_valid(arg);
        zchunk_t *half =
            whole ? zchunk_new(zchunk_data(whole), zchunk_size(whole) / 2)
                  : NULL;
        zchunk_destroy(&whole);
        return half;
    }
    zchunk_t *out = zchunk_new(NULL, 0);
    long number = atol(arg);
    if (streq(what, "huge") && number >= 0)
        s_huge(out, (size_t) number);
    else if (streq(what, "deeparray") && number >= 0)
        s_deep(out, (size_t) number, false);
    else if (streq(what, "deepmap") && number >= 0)
        s_deep(out, (size_t) number, true);
    else if (streq(what, "deepargs") && number >= 0)
        s_deep_args(out, (size_t) number);
    else if (streq(what, "version") && number >= 0)
        s_head(out, 3, (uint32_t) number, "SUBMIT");
    else if (streq(what, "type"))
        s_head(out, 3, 1, arg);
    else
        zchunk_destroy(&out);
    if (out && (streq(what, "version") || streq(what, "type"))) {
        s_text(out, "req");
        s_uint(out, 1);
    }
    return out;
}

//  The message to send: one frame, or several for the multi-frame cases.
static zmsg_t *
s_message(const char *what, const char *arg)
{
    zmsg_t *message = zmsg_new();
    if (streq(what, "twoframes")) {
        zmsg_addstr(message, "one");
        zmsg_addstr(message, "two");
        return message;
    }
    bool multi = streq(what, "multi"), envelope = streq(what, "envelope");
    zchunk_t *chunk =
        multi || envelope ? s_valid("SUBMIT") : s_frame(what, arg);
    if (chunk == NULL) {
        zmsg_destroy(&message);
        return NULL;
    }
    if (envelope)
        zmsg_addmem(message, NULL, 0);
    zmsg_addmem(message, zchunk_data(chunk), zchunk_size(chunk));
    if (multi)
        zmsg_addstr(message, "extra");
    zchunk_destroy(&chunk);
    return message;
}

//  --- the replies

static void
s_print_reply(zframe_t *frame)
{
    zj_msg_t *msg = NULL;
    char why[ZJ_WHY_SIZE] = "";
    if (zj_msg_decode(zframe_data(frame), zframe_size(frame), &msg, NULL,
                      why) != 0)
        printf("undecodable %s\n", why);
    else if (msg->type == ZJ_MSG_ERROR)
        printf("ERROR %s %s\n", zj_errname(msg->code), msg->reason);
    else
        printf("%s\n", zj_msg_type_name(msg->type));
    zj_msg_destroy(&msg);
}

//  Prints up to count replies; returns how many came.
static long
s_print_replies(zsock_t *socket, long count)
{
    long received = 0;
    while (received < count) {
        zmsg_t *reply = zmsg_recv(socket);
        if (reply == NULL)
            break;
        zframe_t *frame = zmsg_last(reply);
        if (frame)
            s_print_reply(frame);
        zmsg_destroy(&reply);
        received++;
    }
    if (received == 0)
        puts("none");
    return received;
}

int
main(int argc, char **argv)
{
    long count = 1, timeout_ms = 3000;
    const char *hello = NULL;
    int option;
    while ((option = getopt(argc, argv, "n:t:H:")) != -1) {
        if (option == 'H')
            hello = optarg;
        else if (option == 'n')
            count = atol(optarg);
        else if (option == 't')
            timeout_ms = atol(optarg);
        else
            count = 0;
    }
    if (count < 1 || timeout_ms < 1 || argc - optind < 2 || argc - optind > 3) {
        fputs(s_usage, stderr);
        return 2;
    }
    const char *what = argv[optind + 1];
    zmsg_t *message =
        s_message(what, argc - optind == 3 ? argv[optind + 2] : NULL);
    if (message == NULL) {
        fprintf(stderr, "zjsend: cannot build '%s'\n%s", what, s_usage);
        return 2;
    }
    zsock_t *socket = zsock_new_dealer(argv[optind]);
    if (socket == NULL)
        return 1;
    zsock_set_sndhwm(socket, 0);
    zsock_set_rcvtimeo(socket, (int) timeout_ms);
    int rc = 0;
    if (hello) {
        zchunk_t *chunk = s_hello(hello);
        rc = -1;
        if (chunk) {
            rc = zmq_send(zsock_resolve(socket), zchunk_data(chunk),
                          zchunk_size(chunk), 0) < 0
                     ? -1
                     : 0;
            s_print_replies(socket, 1);
        }
        zchunk_destroy(&chunk);
    }
    for (long sent = 0; sent < count && rc == 0; sent++) {
        zmsg_t *copy = zmsg_dup(message);
        rc = zmsg_send(&copy, socket);
        zmsg_destroy(&copy);
    }
    zmsg_destroy(&message);
    if (rc == 0)
        s_print_replies(socket, count);
    else
        fprintf(stderr, "zjsend: send failed: %s\n", zmq_strerror(zmq_errno()));
    fflush(stdout);
    zsock_set_linger(socket, 0);
    zsock_destroy(&socket);
    return rc == 0 ? 0 : 1;
}
