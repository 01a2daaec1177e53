// libpq and libcurl are opened with dlopen the first time snapfleet calls into them, not at exec.
//
// Why: PostgreSQL runs `snapfleet-agent wal-push` / `wal-fetch` once per WAL segment, and each
// call's start went mostly to the dynamic loader, which mapped and relocated libpq, libcurl and the
// ~20 libraries they drag in (ldap, krb5, gssapi, nghttp2, ssh2, rtmp, ...), none of which those
// short commands use (measured: the agent's start took 10.2 ms with 44 libraries, 7.5 ms with 23).
// So the programs link trampolines that carry the real function names (the Implib.so technique):
// the first call of any of them loads the library, and each one resolves its real function once
// and forwards to it. SwiftPM would add pkg-config's -lpq/-lcurl to every product, so those two
// system-library targets name no pkg-config package (see Package.swift).
//
// A call made when the library cannot be loaded prints why and aborts, so programs that need a
// library check for it first with the functions below and report a missing one cleanly.
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Loads libpq (libpq.so.5) now; returns 0, or -1 with dlerror's text copied into `error`.
int snapfleet_load_libpq(char *error, size_t error_size);

/// Loads libcurl (libcurl.so.4) now; returns 0, or -1 with dlerror's text copied into `error`.
int snapfleet_load_libcurl(char *error, size_t error_size);

#ifdef __cplusplus
}
#endif
