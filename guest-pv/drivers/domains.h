/*
 * guest-pv/drivers/domains.h: the control domain's side of domain management: building domUs
 * from files, serving their console rings, and passing domctl through for tools.
 */
#ifndef GUEST_DOMAINS_H
#define GUEST_DOMAINS_H

#include <stdint.h>

/* HOS_SYS_domctl: cmd, user pointer arg, len (0: arg is a plain value). */
long dom_domctl(uint64_t cmd, uint64_t arg, uint64_t len);

/* HOS_SYS_domain_create from a user struct hos_domain_create; the new domid. */
long dom_create(uint64_t req_uva);

/* HOS_SYS_console_attach: forward the console to domid's ring until ^]. */
long dom_console_attach(uint64_t domid);

#endif /* GUEST_DOMAINS_H */
