/* Growing an array by doubling, the one way discovery's lists grow. */
#ifndef TLSTAP_ARRAY_GROW_H
#define TLSTAP_ARRAY_GROW_H

#include <errno.h>
#include <stdlib.h>

/* Makes room for v[n] when n == cap (cap doubles from first): 0 or -ENOMEM. */
#define ARRAY_MAKE_ROOM(v, n, cap, first)						\
	({										\
		int err_ = 0;								\
		if ((n) == (cap)) {							\
			size_t cap_ = (cap) ? (cap) * 2 : (first);			\
			__typeof__(v) grown_ = realloc((v), cap_ * sizeof(*(v)));	\
			if (grown_) {							\
				(v) = grown_;						\
				(cap) = cap_;						\
			} else {							\
				err_ = -ENOMEM;						\
			}								\
		}									\
		err_;									\
	})

#endif
