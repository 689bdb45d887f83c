//  errors.h - zjob's error codes, shared by the client API (zjob.h) and
//  the handler API (handler.h). Every fallible call returns 0 or one of
//  these negative values. They are those of zjob's internal table
//  (common/err.h, where each is ZJ_<name>: ZJOB_ETIMEOUT is ZJ_ETIMEOUT);
//  client/zjob.c checks at compile time that the two agree, so a code
//  added there must be added here. zjob_strerror (zjob.h, in libzjob)
//  describes one.
#ifndef ZJOB_ERRORS_H
#define ZJOB_ERRORS_H

enum {
    ZJOB_EPROTO = -999,     //  Malformed message
    ZJOB_EVERSION = -998,   //  Unsupported protocol version
    ZJOB_ETOOBIG = -997,    //  Over a protocol limit
    ZJOB_ETYPE = -996,      //  Message type not allowed here
    ZJOB_EKIND = -995,      //  Unknown job kind
    ZJOB_EARGS = -994,      //  Bad job args
    ZJOB_EJSON = -993,      //  Invalid JSON
    ZJOB_ENOTFOUND = -992,  //  No such job
    ZJOB_ESTATE = -991,     //  Job not in a state that allows this
    ZJOB_ESTORE = -990,     //  Store error (coordinator side)
    ZJOB_ESEND = -989,      //  Send failed
    ZJOB_EUNREACH = -988,   //  Coordinator unreachable
    ZJOB_ETIMEOUT = -987,   //  Timed out
    ZJOB_ECANCELLED = -986, //  Cancelled or interrupted by a signal
    ZJOB_ECRASH = -985,     //  Process crashed
    ZJOB_ENOMEM = -984,     //  Out of memory
    ZJOB_EUSAGE = -983,     //  Bad argument to a call
    ZJOB_ESYS = -982,       //  System call failed
    ZJOB_EDENIED = -981,    //  Not allowed
    ZJOB_EINUSE = -980      //  Worker name held by another worker
};

#endif
