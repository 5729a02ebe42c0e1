/* shim.h - GNU libltdl (Debian libltdl-dev), the plugin loader of the host. */
#include <ltdl.h>
