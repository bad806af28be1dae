/*
 * libFuzzer target for hotmemd's request parser (ctl_request_parse, ctl_request.c on
 * yajl): every line a local client writes to the daemon's socket. Promises
 * checked: a refusal is -EINVAL with a message and leaves the request
 * untouched; an accepted request formats (ctl_request_format, what
 * xl-hotmem sends) to a line that parses back to the same request and
 * formats to the same line again, unless that line is longer than the
 * daemon reads (then it is refused, never cut).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define SENTINEL 0xa5

static bool untouched(const struct ctl_request *req)
{
	const unsigned char *bytes = (const unsigned char *)req;

	for (size_t i = 0; i < sizeof(*req); i++)
		if (bytes[i] != SENTINEL)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctl_request req, again;
	char *line = NULL, *line_again = NULL;
	char msg[256];
	size_t len;
	int rc;

	memset(&req, SENTINEL, sizeof(req));
	msg[0] = '\0';
	rc = ctl_request_parse((const char *)data, size, &req, msg, sizeof(msg));
	if (rc) {
		if (rc != -EINVAL || !msg[0] || !untouched(&req))
			abort();
		return 0;
	}
	if (ctl_request_format(&req, &line))
		abort();
	len = strlen(line);
	if (len < 2 || line[len - 1] != '\n')
		abort();
	memset(&again, SENTINEL, sizeof(again));
	rc = ctl_request_parse(line, len - 1, &again, msg, sizeof(msg));
	if (len - 1 > CTL_LINE_MAX) {
		if (rc != -EINVAL)
			abort();
		goto out;
	}
	if (rc || memcmp(&req, &again, sizeof(req)) != 0)
		abort();
	if (ctl_request_format(&again, &line_again) || strcmp(line, line_again) != 0)
		abort();
out:
	free(line);
	free(line_again);
	return 0;
}
