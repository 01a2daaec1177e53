// Loading of the lazily linked libraries (see include/LazyLinking.h for why).
#include "LazyLoader.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

/// Runs the library's one dlopen unless a call already did, keeping dlerror's text if it fails.
static void ensure_loaded(LazyLibrary *library) {
    if (atomic_load_explicit(&library->tried, memory_order_acquire)) return;
    pthread_mutex_lock(&library->lock);
    if (!atomic_load_explicit(&library->tried, memory_order_relaxed)) {
        library->handle = dlopen(library->soname, RTLD_NOW | RTLD_LOCAL);
        if (library->handle == NULL) {
            const char *reason = dlerror();
            snprintf(library->error, sizeof library->error, "%s", reason ? reason : "unknown error");
        }
        atomic_store_explicit(&library->tried, true, memory_order_release);
    }
    pthread_mutex_unlock(&library->lock);
}

int lazy_load(LazyLibrary *library, char *error, size_t error_size) {
    ensure_loaded(library);
    if (library->handle != NULL) return 0;
    if (error != NULL && error_size > 0) snprintf(error, error_size, "%s", library->error);
    return -1;
}

/// Says on stderr that `library` cannot be used and why, then aborts.
static _Noreturn void die(const LazyLibrary *library, const char *reason) {
    fprintf(stderr, "snapfleet: cannot load %s: %s (install the %s package)\n", library->soname,
            reason ? reason : "unknown error", library->package);
    abort();
}

void *lazy_symbol(LazyLibrary *library, const char *name) {
    ensure_loaded(library);
    if (library->handle == NULL) die(library, library->error);
    void *address = dlsym(library->handle, name);
    if (address == NULL) die(library, dlerror());
    return address;
}
