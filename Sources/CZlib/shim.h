// zlib, for gzip-compressed WAL segments (barman-cloud's `.gz`).
#include <zlib.h>

// deflateInit2/inflateInit2 are macros; Swift calls these instead.
static inline int snapfleet_deflate_init_gzip(z_stream *stream, int level) {
    // 15 window bits + 16: a gzip header (mtime 0, no name), so equal input compresses equally.
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

static inline int snapfleet_inflate_init_gzip(z_stream *stream) {
    // 15 window bits + 32: accept a gzip or zlib header.
    return inflateInit2(stream, 15 + 32);
}
