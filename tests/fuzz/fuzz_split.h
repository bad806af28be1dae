/*
 * The input encoding of the fuzz targets that feed several values at once
 * (journal keys, guest keys, driver messages): the input is cut at '\n' into
 * chunks, one per value in a fixed order; a chunk that is exactly "!" and
 * every chunk past the end of the input mean "absent". Values may hold any
 * byte but '\n' (NUL included), which is all the parsers behind them need:
 * each of those parsers also has a target of its own fed raw bytes.
 */
#ifndef HOTMEM_FUZZ_SPLIT_H
#define HOTMEM_FUZZ_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct fuzz_chunk {
	const char *data; /* NULL: absent */
	size_t len;
};

/*
 * Cut [data, data + size) into at most n chunks: "a\nb" is "a", "b"; "a\n"
 * is "a", ""; an empty input has none. The rest stay absent.
 */
static inline void fuzz_split(const char *data, size_t size, struct fuzz_chunk *chunks, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		const char *nl;
		size_t len;

		chunks[i].data = NULL;
		chunks[i].len = 0;
		if (!size || start > size)
			continue;
		nl = memchr(data + start, '\n', size - start);
		len = nl ? (size_t)(nl - (data + start)) : size - start;
		if (!(len == 1 && data[start] == '!')) {
			chunks[i].data = data + start;
			chunks[i].len = len;
		}
		start += len + 1;
	}
}

#endif /* HOTMEM_FUZZ_SPLIT_H */
