#pragma once
#include <curl/curl.h>

// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call:
// one typed wrapper per argument kind snapfleet passes.

/// Sets a long-valued option.
static inline CURLcode snapfleet_curl_setopt_long(CURL *curl, CURLoption option, long value) {
    return curl_easy_setopt(curl, option, value);
}

/// Sets a pointer-valued option (strings, slists, user data).
static inline CURLcode snapfleet_curl_setopt_pointer(CURL *curl, CURLoption option, const void *value) {
    return curl_easy_setopt(curl, option, value);
}

/// Sets a curl_off_t-valued option (sizes of large bodies).
static inline CURLcode snapfleet_curl_setopt_off(CURL *curl, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(curl, option, value);
}

/// The read/write/header callback signature shared by CURLOPT_WRITEFUNCTION and friends.
typedef size_t (*snapfleet_curl_data_callback)(char *data, size_t size, size_t count, void *context);

/// Sets a data callback (write, read or header function).
static inline CURLcode snapfleet_curl_setopt_callback(CURL *curl, CURLoption option, snapfleet_curl_data_callback value) {
    return curl_easy_setopt(curl, option, value);
}

/// Sets CURLOPT_SEEKFUNCTION, whose signature differs from the data callbacks: curl calls it to
/// rewind a streamed upload when it resends a request (e.g. on a dead kept-alive connection).
static inline CURLcode snapfleet_curl_setopt_seek_callback(CURL *curl, curl_seek_callback value) {
    return curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, value);
}

/// Reads a long-valued piece of information (e.g. the response code).
static inline CURLcode snapfleet_curl_getinfo_long(CURL *curl, CURLINFO info, long *value) {
    return curl_easy_getinfo(curl, info, value);
}

/// Reads a double-valued piece of information (e.g. the total time).
static inline CURLcode snapfleet_curl_getinfo_double(CURL *curl, CURLINFO info, double *value) {
    return curl_easy_getinfo(curl, info, value);
}
