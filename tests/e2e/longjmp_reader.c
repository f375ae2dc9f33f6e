/*
 * Reads 20 messages of 32 bytes through the stand-in libssl from the same
 * call site; the 6th call leaves SSL_read by siglongjmp (its return never
 * comes) and the loop calls again from the same place. Prints "ready", waits
 * for a line, reads, prints "done", waits for a line.
 */
#include <setjmp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int SSL_read(void *ssl, void *buf, int num);
extern void (*ssl_read_hook)(void);

static sigjmp_buf jump_back;
static volatile int jump_now;

static void hook(void)
{
	if (jump_now) {
		jump_now = 0;
		siglongjmp(jump_back, 1);
	}
}

int main(void)
{
	static int fd;
	char buf[64], line[8];
	int sv[2], i;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 1;
	fd = sv[0];
	ssl_read_hook = hook;
	for (i = 0; i < 20; i++) {
		snprintf(buf, sizeof(buf), "message %02d .....................", i);
		if (write(sv[1], buf, 32) != 32)
			return 1;
	}
	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	for (i = 0; i < 19; i++) {
		if (i == 5)
			jump_now = 1;
		sigsetjmp(jump_back, 0);
		if (SSL_read(&fd, buf, 32) != 32)
			return 1;
	}
	printf("done\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	return 0;
}
