/* tlstap's version, as -V prints it and pcapng files name their writer. */
#ifndef TLSTAP_VERSION_H
#define TLSTAP_VERSION_H

#ifndef TLSTAP_VERSION
#define TLSTAP_VERSION "0.1.0"
#endif

#endif
