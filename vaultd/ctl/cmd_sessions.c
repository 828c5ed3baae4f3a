/* vaultctl sessions / end-session ID / usage [NAME]: ask the running vaultd. */
#include "ctl_life.h"

#include "error.h"
#include "proto.h"

#include <stdio.h>
#include <string.h>

static int ask(struct ctl *c, uint8_t op, const struct ctl_req *req)
{
    static char text[VS_F_STATUS_TEXT_MAX + 1];
    int rc = ctl_request(c, op, req, text, sizeof text);
    if (rc != 0)
        return ctl_fail(c, rc);
    size_t n = strlen(text);
    printf("%s%s", text, n > 0 && text[n - 1] == '\n' ? "" : "\n");
    return fflush(stdout) == 0 ? CTL_OK : CTL_ERROR;
}

int cmd_sessions(struct ctl *c)
{
    return ask(c, VS_OP_SESSIONS, NULL);
}

int cmd_end_session(struct ctl *c)
{
    struct ctl_req req = {.session = c->argv[0]};
    return ask(c, VS_OP_SESSION_END, &req);
}

int cmd_usage(struct ctl *c)
{
    struct ctl_req req = {.name = c->argc > 0 ? c->argv[0] : NULL};
    if (req.name != NULL && !vs_secret_name_valid(req.name))
        return ctl_say(c, CTL_USAGE, "invalid secret name");
    return ask(c, VS_OP_USAGE, &req);
}
