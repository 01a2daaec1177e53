#pragma once
// Found under the default /usr/include: this module has no pkg-config flags (see Package.swift).
#include <postgresql/libpq-fe.h>
