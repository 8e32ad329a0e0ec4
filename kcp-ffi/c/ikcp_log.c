/*
 * ikcp_log for kcp-ffi. The function is variadic, which Rust cannot define on a stable
 * toolchain, so these few lines are C. They format the message and hand it to the
 * control block's writelog callback when a bit of 'mask' is set in its logmask, as
 * ikcp.c does; unlike ikcp.c they cut messages at 1023 bytes instead of overflowing,
 * and ignore a NULL control block or format.
 *
 * The build script compiles this file into the library on targets with a C library.
 * Firmware built for a bare-metal target compiles it into its own build (it needs only
 * <stdarg.h> and vsnprintf) if it calls ikcp_log itself.
 */
#include <stdarg.h>
#include <stdio.h>

#include "ikcp.h"

void ikcp_log(ikcpcb *kcp, int mask, const char *fmt, ...)
{
	char line[1024];
	va_list args;
	if (kcp == NULL || fmt == NULL) return;
	if ((mask & kcp->logmask) == 0 || kcp->writelog == NULL) return;
	va_start(args, fmt);
	vsnprintf(line, sizeof(line), fmt, args);
	va_end(args);
	kcp->writelog(line, kcp, kcp->user);
}
