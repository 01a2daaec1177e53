// The machinery shared by the trampolines: load a library once, resolve each symbol once.
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/// A shared library opened with dlopen the first time something needs it.
typedef struct LazyLibrary {
    const char *soname;   // what dlopen is given, e.g. "libpq.so.5"
    const char *package;  // the Debian package that provides it, named when it is missing
    pthread_mutex_t lock; // held by the one dlopen
    atomic_bool tried;    // set once the dlopen has run; then handle and error are final
    void *handle;         // what dlopen returned: NULL if it failed
    char error[512];      // dlerror's text when the dlopen failed
} LazyLibrary;

/// A LazyLibrary not loaded yet.
#define LAZY_LIBRARY(soname, package) {(soname), (package), PTHREAD_MUTEX_INITIALIZER, false, NULL, ""}

/// Loads `library` if no call did yet; returns 0, or -1 with dlerror's text copied into `error`.
int lazy_load(LazyLibrary *library, char *error, size_t error_size);

/// The address of `name` in `library`, loading the library if needed; prints why and aborts
/// when the library or the symbol cannot be loaded.
void *lazy_symbol(LazyLibrary *library, const char *name);

/// The address of `name` in `library`, cached in `slot`: resolved by the first call only. Two
/// threads racing on the first call both store the same address, which is harmless.
static inline void *lazy_resolve(LazyLibrary *library, const char *name, _Atomic(void *) *slot) {
    void *address = atomic_load_explicit(slot, memory_order_acquire);
    if (address == NULL) {
        address = lazy_symbol(library, name);
        atomic_store_explicit(slot, address, memory_order_release);
    }
    return address;
}

/// Defines `return_type name params` as a trampoline to the function of that name in `library`;
/// the real prototype from the library's header must be in scope, so the compiler checks it.
#define LAZY_FORWARD(library, return_type, name, params, args)                              \
    return_type name params {                                                               \
        static _Atomic(void *) real;                                                        \
        return ((return_type(*) params)lazy_resolve(&(library), #name, &real))args;         \
    }

/// LAZY_FORWARD for a function returning void.
#define LAZY_FORWARD_VOID(library, name, params, args)                                      \
    void name params {                                                                      \
        static _Atomic(void *) real;                                                        \
        ((void(*) params)lazy_resolve(&(library), #name, &real))args;                       \
    }
