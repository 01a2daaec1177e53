// Trampolines for the libpq functions snapfleet calls (see include/LazyLinking.h for why).
// Including libpq-fe.h makes the compiler check every trampoline against the real prototype.
#include "LazyLinking.h"
#include "LazyLoader.h"

#include <postgresql/libpq-fe.h>

static LazyLibrary libpq = LAZY_LIBRARY("libpq.so.5", "libpq5");

int snapfleet_load_libpq(char *error, size_t error_size) {
    return lazy_load(&libpq, error, error_size);
}

// Connections.
LAZY_FORWARD(libpq, PGconn *, PQconnectdbParams,
             (const char *const *keywords, const char *const *values, int expand_dbname),
             (keywords, values, expand_dbname))
LAZY_FORWARD_VOID(libpq, PQfinish, (PGconn *conn), (conn))
LAZY_FORWARD(libpq, ConnStatusType, PQstatus, (const PGconn *conn), (conn))
LAZY_FORWARD(libpq, char *, PQerrorMessage, (const PGconn *conn), (conn))
LAZY_FORWARD(libpq, int, PQsocket, (const PGconn *conn), (conn))
LAZY_FORWARD(libpq, int, PQbackendPID, (const PGconn *conn), (conn))
LAZY_FORWARD(libpq, int, PQserverVersion, (const PGconn *conn), (conn))
LAZY_FORWARD(libpq, const char *, PQparameterStatus, (const PGconn *conn, const char *paramName),
             (conn, paramName))
LAZY_FORWARD(libpq, PQnoticeProcessor, PQsetNoticeProcessor,
             (PGconn *conn, PQnoticeProcessor proc, void *arg), (conn, proc, arg))
LAZY_FORWARD(libpq, int, PQconsumeInput, (PGconn *conn), (conn))

// Connection strings.
LAZY_FORWARD(libpq, PQconninfoOption *, PQconninfoParse, (const char *conninfo, char **errmsg),
             (conninfo, errmsg))
LAZY_FORWARD_VOID(libpq, PQconninfoFree, (PQconninfoOption *connOptions), (connOptions))

// Queries and their results.
LAZY_FORWARD(libpq, PGresult *, PQexecParams,
             (PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
              const char *const *paramValues, const int *paramLengths, const int *paramFormats,
              int resultFormat),
             (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats,
              resultFormat))
LAZY_FORWARD(libpq, ExecStatusType, PQresultStatus, (const PGresult *res), (res))
LAZY_FORWARD(libpq, char *, PQresultErrorMessage, (const PGresult *res), (res))
LAZY_FORWARD(libpq, char *, PQresultErrorField, (const PGresult *res, int fieldcode),
             (res, fieldcode))
LAZY_FORWARD(libpq, int, PQntuples, (const PGresult *res), (res))
LAZY_FORWARD(libpq, int, PQnfields, (const PGresult *res), (res))
LAZY_FORWARD(libpq, char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num),
             (res, tup_num, field_num))
LAZY_FORWARD(libpq, int, PQgetisnull, (const PGresult *res, int tup_num, int field_num),
             (res, tup_num, field_num))
LAZY_FORWARD_VOID(libpq, PQclear, (PGresult *res), (res))
LAZY_FORWARD_VOID(libpq, PQfreemem, (void *ptr), (ptr))

// Cancelling a running query.
LAZY_FORWARD(libpq, PGcancel *, PQgetCancel, (PGconn *conn), (conn))
LAZY_FORWARD(libpq, int, PQcancel, (PGcancel *cancel, char *errbuf, int errbufsize),
             (cancel, errbuf, errbufsize))
LAZY_FORWARD_VOID(libpq, PQfreeCancel, (PGcancel *cancel), (cancel))
