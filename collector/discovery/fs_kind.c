/* Which file systems are network or FUSE ones (from mountinfo), so the system-wide scan skips them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include "targets_impl.h"

#define MAX_MOUNT_LINES	100000
#define MAX_FS		4096

bool targets_fstype_is_remote(const char *fstype)
{
	static const char *const remote[] = {
		"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "coda", "glusterfs",
		"lustre", "ncpfs", "fuse", "fuseblk",
	};
	size_t i;

	if (!strncmp(fstype, "fuse.", 5))
		return true;
	for (i = 0; i < sizeof(remote) / sizeof(remote[0]); i++)
		if (!strcmp(fstype, remote[i]))
			return true;
	return false;
}

/* "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw": names
 * are escaped by the kernel (\040), so " - " only ever ends the optional fields. */
int targets_mountinfo_line(const char *line, dev_t *dev, bool *remote)
{
	unsigned int major, minor;
	char fstype[64];
	const char *sep = strstr(line, " - ");

	if (!sep || sscanf(line, "%*u %*u %u:%u ", &major, &minor) != 2 ||
	    sscanf(sep + 3, "%63s", fstype) != 1)
		return -EINVAL;
	*dev = makedev(major, minor);
	*remote = targets_fstype_is_remote(fstype);
	return 0;
}

static struct fs_kind *find_fs(struct target_list *tl, dev_t dev)
{
	size_t i;

	for (i = 0; i < tl->nfs; i++)
		if (tl->fs[i].dev == dev)
			return &tl->fs[i];
	return NULL;
}

/* Learns the file systems of one mount namespace (pid 0: ours). */
static void read_mountinfo(struct target_list *tl, pid_t pid)
{
	char path[64], line[8192];
	struct fs_kind *fs;
	bool remote;
	dev_t dev;
	FILE *f;
	int n = 0;

	if (!tl->fs && !(tl->fs = calloc(MAX_FS, sizeof(*tl->fs))))
		return;
	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/mountinfo");
	f = fopen(path, "re");
	if (!f)
		return;
	while (tl->nfs < MAX_FS && n++ < MAX_MOUNT_LINES && fgets(line, sizeof(line), f)) {
		if (!strchr(line, '\n'))
			break;	/* longer than we read: stop trusting this file */
		if (targets_mountinfo_line(line, &dev, &remote))
			continue;
		fs = find_fs(tl, dev);
		if (!fs) {
			fs = &tl->fs[tl->nfs++];
			fs->dev = dev;
		}
		fs->remote = remote;
	}
	fclose(f);
}

/*
 * Whether dev is a network or FUSE file system: from our mount namespace,
 * else from that of pid, where the file was found. Unknown counts as local.
 */
bool dev_is_remote(struct target_list *tl, dev_t dev, pid_t pid)
{
	struct fs_kind *fs = find_fs(tl, dev);

	if (!fs && !tl->fs_self_read) {
		tl->fs_self_read = true;
		read_mountinfo(tl, 0);
		fs = find_fs(tl, dev);
	}
	if (!fs && pid > 0) {
		read_mountinfo(tl, pid);
		fs = find_fs(tl, dev);
	}
	if (!fs && tl->fs && tl->nfs < MAX_FS) {
		fs = &tl->fs[tl->nfs++];
		fs->dev = dev;
		fs->remote = false;
	}
	return fs && fs->remote;
}

