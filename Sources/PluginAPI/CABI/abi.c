/*
 * abi.c - gives the header-only ABI target an object file, and checks at
 * compile time the layout promises made in mailhost_plugin.h.
 */
#include "mailhost_plugin.h"

_Static_assert(sizeof(mh_str) == 2 * sizeof(void *), "mh_str is pointer + length");
_Static_assert(offsetof(mh_plugin_descriptor, magic) == 0, "magic comes first");
_Static_assert(offsetof(mh_plugin_descriptor, abi_major) == 4, "major at offset 4");
_Static_assert(offsetof(mh_plugin_descriptor, abi_minor) == 6, "minor at offset 6");
_Static_assert(offsetof(mh_plugin_descriptor, size) == 8, "size at offset 8");
