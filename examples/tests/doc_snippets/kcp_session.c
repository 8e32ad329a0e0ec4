/* kcp-session-ffi/README.md: configuring an endpoint and dialing. */
#include <stdio.h>
#include "kcp_session.h"

uint32_t now_ms(void);

void example(kcps_addr server)
{
kcps_config *cfg = kcps_config_new();
char msg[256];
kcps_config_set(cfg, "crypt", "aes", msg, sizeof msg);   /* kcptun's flag names */
kcps_config_set(cfg, "key", "secret", msg, sizeof msg);
kcps_config_set(cfg, "datashard", "10", msg, sizeof msg);
kcps_config_set(cfg, "parityshard", "3", msg, sizeof msg);
kcps_config_set(cfg, "mode", "fast3", msg, sizeof msg);
kcps_endpoint *ep;
if (kcps_endpoint_new(cfg, &ep, msg, sizeof msg) != KCPS_OK) puts(msg);
kcps_config_free(cfg);
kcps_session s;
kcps_connect(ep, now_ms(), &server, &s);
}
