// Trampolines for the libcurl functions snapfleet calls (see include/LazyLinking.h for why).
// Including curl.h makes the compiler check every trampoline against the real prototype; its
// type-checking macros are turned off, since they would rename the definitions below.
#define CURL_DISABLE_TYPECHECK
#include "LazyLinking.h"
#include "LazyLoader.h"

#include <curl/curl.h>
#include <stdarg.h>

// curl.h still defines these two as three-argument macros; the definitions below are the functions.
#undef curl_easy_setopt
#undef curl_easy_getinfo

static LazyLibrary libcurl = LAZY_LIBRARY("libcurl.so.4", "libcurl4");

int snapfleet_load_libcurl(char *error, size_t error_size) {
    return lazy_load(&libcurl, error, error_size);
}

LAZY_FORWARD(libcurl, CURLcode, curl_global_init, (long flags), (flags))
LAZY_FORWARD(libcurl, const char *, curl_easy_strerror, (CURLcode code), (code))
LAZY_FORWARD(libcurl, struct curl_slist *, curl_slist_append,
             (struct curl_slist *list, const char *string), (list, string))
LAZY_FORWARD_VOID(libcurl, curl_slist_free_all, (struct curl_slist *list), (list))
LAZY_FORWARD(libcurl, CURL *, curl_easy_init, (void), ())
LAZY_FORWARD_VOID(libcurl, curl_easy_reset, (CURL *curl), (curl))
LAZY_FORWARD(libcurl, CURLcode, curl_easy_perform, (CURL *curl), (curl))
LAZY_FORWARD_VOID(libcurl, curl_easy_cleanup, (CURL *curl), (curl))

/// The real curl_easy_setopt: variadic, with one argument after the option.
typedef CURLcode (*CurlSetopt)(CURL *curl, CURLoption option, ...);

/// The real curl_easy_getinfo: variadic, with one argument (a pointer) after the info.
typedef CURLcode (*CurlGetinfo)(CURL *curl, CURLINFO info, ...);

/// Any function pointer: how a CURLOPTTYPE_FUNCTIONPOINT option's argument is read and passed on.
typedef void (*CurlCallback)(void);

/// Passes on the one argument of `option` in `arguments`, read with the type libcurl itself reads
/// it with: libcurl's curl_easy_setopt takes it with va_arg by the option's type, and an option's
/// type is given by the range its number lies in (CURLOPTTYPE_*).
static CURLcode forward_option(CurlSetopt real, CURL *curl, CURLoption option, va_list *arguments) {
    if (option < CURLOPTTYPE_OBJECTPOINT) return real(curl, option, va_arg(*arguments, long));
    if (option < CURLOPTTYPE_FUNCTIONPOINT) return real(curl, option, va_arg(*arguments, void *));
    if (option < CURLOPTTYPE_OFF_T) return real(curl, option, va_arg(*arguments, CurlCallback));
    if (option < CURLOPTTYPE_BLOB) return real(curl, option, va_arg(*arguments, curl_off_t));
    return real(curl, option, va_arg(*arguments, void *));  // a struct curl_blob *
}

CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...) {
    static _Atomic(void *) real;
    CurlSetopt forward = (CurlSetopt)lazy_resolve(&libcurl, "curl_easy_setopt", &real);
    va_list arguments;
    va_start(arguments, option);
    CURLcode result = forward_option(forward, curl, option, &arguments);
    va_end(arguments);
    return result;
}

CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...) {
    static _Atomic(void *) real;
    CurlGetinfo forward = (CurlGetinfo)lazy_resolve(&libcurl, "curl_easy_getinfo", &real);
    va_list arguments;
    va_start(arguments, info);
    void *destination = va_arg(arguments, void *);  // every CURLINFO_* takes a pointer to fill
    va_end(arguments);
    return forward(curl, info, destination);
}
